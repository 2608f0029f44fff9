"""The feature stage (a thread in the main process): decoded segments -> model-ready batches.

It drains the workers' queue into a small pool, and forms a batch of ``batch_size`` segments of similar
length (the longest ones in the pool, so padding stays small), builds their prompts and log-mel features
(`BatchEmbedder.collate`) and queues the batch for the model. Features are computed here, in the main
process, rather than in the decode workers: the Whisper feature extractor is a transformers/torch
component (workers must stay torch-free), and computing them per batch with the embedder's own collate
keeps every vector bit-identical to `AurolaEmbedder.embed_audio` of the same audio. The torch STFT
releases the GIL, so this thread prepares batch k+1 while the model runs batch k.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from aurola_qdrant.errors import AudioTooLongError, InputError
from aurola_qdrant.model import EncodedPrompt
from aurola_qdrant.protocols import BatchEmbedder

from . import testseam
from .config import IngestConfig
from .plan import Failure
from .state import RunState, put_until_stopped

__all__ = ["Batcher", "Segment"]

_IDLE_S = 0.1
_RELEASED = EncodedPrompt(())  # what a segment's prompt becomes once collated (frees the waveform)


@dataclass
class Segment:
    """One decoded window on its way to the model."""

    key: int
    index: int
    prompt: EncodedPrompt  # _RELEASED once the batch's features exist
    peak: float
    n_tokens: int


class Batcher:
    """Reads worker messages from ``results`` and puts ``("batch", collated, segments)`` and
    ``("fail", key, Failure)`` items on ``out``, then ``("end",)`` once ``finished()`` is true."""

    def __init__(
        self,
        embedder: BatchEmbedder,
        config: IngestConfig,
        state: RunState,
        results: Any,
        out: queue.Queue[tuple[Any, ...]],
        finished: Callable[[], bool],
    ) -> None:
        self.embedder, self.config, self.state = embedder, config, state
        self.results, self.out, self.finished = results, out, finished
        self.pool: list[Segment] = []
        self.decode_finished: set[int] = set()

    # messages -----------------------------------------------------------------------------------------
    def _fail(self, key: int, reason: str, detail: str) -> None:
        fs = self.state.files[key]
        self.decode_finished.add(key)
        if fs.failed:
            return
        fs.failed = True
        self.pool = [s for s in self.pool if s.key != key]
        put_until_stopped(self.out, ("fail", key, Failure(fs.plan.path, reason, detail)), self.state.stop)

    def _segment(self, key: int, index: int, waveform: np.ndarray, peak: float) -> None:
        fs = self.state.files[key]
        fs.decoded += 1
        testseam.checkpoint("decoded")
        if fs.failed:
            return
        source = f"{fs.plan.path}[{fs.plan.bounds[index][0]:.1f}s]"
        try:
            prompt = self.embedder.audio_prompt(waveform, source)
        except AudioTooLongError as err:
            self._fail(key, "too-long", str(err))
            return
        except InputError as err:
            self._fail(key, "too-short", str(err))
            return
        self.pool.append(Segment(key, index, prompt, peak, len(prompt.input_ids)))

    def handle(self, message: tuple[Any, ...]) -> None:
        kind, key = message[0], message[1]
        if kind == "seg":
            self._segment(key, message[2], message[3], message[4])
        elif kind == "fail":
            self._fail(key, message[2], message[3])
        elif kind == "done":
            self.decode_finished.add(key)
            summary = self.state.summary
            summary.workers_peak_rss_mb = max(summary.workers_peak_rss_mb, float(message[2]))

    # batches ------------------------------------------------------------------------------------------
    def _take_batch(self) -> list[Segment]:
        """The longest ``batch_size`` segments of the pool, capped by the embedder's token budget."""
        self.pool.sort(key=lambda s: s.n_tokens)
        budget = self.embedder.max_batch_tokens
        batch: list[Segment] = []
        while self.pool and len(batch) < self.config.batch_size:
            width = batch[0].n_tokens if batch else self.pool[-1].n_tokens
            if batch and width * (len(batch) + 1) > budget:
                break
            batch.append(self.pool.pop())
        return batch

    def _emit(self) -> bool:
        batch = self._take_batch()
        collated = self.embedder.collate([s.prompt for s in batch])
        for s in batch:
            s.prompt = _RELEASED  # the prompt holds the waveform: release it once the features exist
        return put_until_stopped(self.out, ("batch", collated, batch), self.state.stop)

    def run(self) -> None:
        """Thread body; any exception stops the run through ``state.fail``."""
        try:
            self._loop()
        except BaseException as exc:
            self.state.fail(exc)

    def _loop(self) -> None:
        # Batches are cut from the longest segments of a pool as large as the decoded-segment queue: a
        # small pool pads much more (measured: a 2-batch pool added 25 % language-model tokens).
        pool_target = max(self.config.batch_size, self.config.segment_queue_size)
        while not self.state.stop.is_set():
            try:
                self.handle(self.results.get(timeout=_IDLE_S))
                if len(self.pool) >= pool_target and not self._emit():
                    return
                continue
            except queue.Empty:
                pass
            if self.pool and self.out.empty():  # the model is idle: do not wait for a full pool
                if not self._emit():
                    return
            elif not self.pool and self.finished():
                put_until_stopped(self.out, ("end",), self.state.stop)
                return
