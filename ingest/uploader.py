"""The upload stage (a thread behind the model): store embedded segments, then flag finished files.

A file is marked complete only after the store confirmed every one of its segments (upserts are
``wait=True``), so the completion flag never points at missing segments. A file that failed after some of
its segments were written has those points removed again (`AudioStore.delete_file`, our vector only), so
a failed file leaves nothing behind. Items arrive in the order the model produced them, so a file's
failure notice always comes after every batch holding its earlier segments.
"""

from __future__ import annotations

import logging
import queue
from typing import Any

import numpy as np

from aurola_qdrant.store import AudioStore, SegmentRecord

from . import testseam
from .batcher import Segment
from .config import SILENCE_PEAK, IngestConfig
from .plan import Failure
from .state import FileState, RunState

__all__ = ["Uploader"]

logger = logging.getLogger(__name__)


class Uploader:
    """Consumes ``("upload", segments, vectors)``, ``("fail", key, Failure)`` and ``("end",)`` items."""

    def __init__(
        self, store: AudioStore, config: IngestConfig, state: RunState, inbox: queue.Queue[Any]
    ) -> None:
        self.store, self.config, self.state, self.inbox = store, config, state, inbox

    def record(self, seg: Segment) -> SegmentRecord:
        plan = self.state.files[seg.key].plan
        meta = {**self.config.metadata, **plan.metadata}
        if seg.peak <= SILENCE_PEAK:
            meta["silent"] = True
        return SegmentRecord.of_segment(plan.file_id, plan.path, plan, plan.bounds, seg.index, meta)

    def _upload(self, segments: list[Segment], vectors: np.ndarray) -> None:
        records = [self.record(s) for s in segments]
        written = self.store.upsert_segments(records, vectors)
        testseam.checkpoint("uploaded")
        with self.state.lock:
            self.state.summary.points_written += written
            self.state.summary.silent_segments += sum(1 for s in segments if s.peak <= SILENCE_PEAK)
        for seg in segments:
            fs = self.state.files[seg.key]
            fs.uploaded += 1
            if fs.uploaded == fs.plan.n_segments and not fs.failed:
                self._complete(fs)

    def _complete(self, fs: FileState) -> None:
        self.store.mark_file_complete(fs.plan.file_id)
        testseam.checkpoint("complete")
        with self.state.lock:
            fs.finished = True
            extras = list(fs.extra_paths)
            self.state.summary.files_ingested += 1
            self.state.summary.files_duplicate += len(extras)
            self.state.summary.audio_s += fs.plan.duration_s
            self.state.progress.file_done(fs.plan.size_bytes * (1 + len(extras)))
        for path in extras:
            self.store.add_source(fs.plan.file_id, path)

    def _fail(self, key: int, failure: Failure) -> None:
        fs = self.state.files[key]
        if fs.uploaded:
            self.store.delete_file(fs.plan.file_id)
            logger.info("%s: removed %d segment(s) written before it failed", fs.plan.path, fs.uploaded)
        logger.warning("%s: %s (%s)", failure.path, failure.reason, failure.detail)
        with self.state.lock:
            fs.finished = True
            extras = list(fs.extra_paths)
        self.state.record_failure(failure)
        for path in extras:
            self.state.record_failure(Failure(path, failure.reason, failure.detail))

    def run(self) -> None:
        """Thread body; any exception (e.g. StoreUnavailableError) stops the run through ``state.fail``."""
        try:
            while True:
                try:
                    item = self.inbox.get(timeout=0.2)
                except queue.Empty:
                    if self.state.stop.is_set():
                        return
                    continue
                if item[0] == "end":
                    return
                if item[0] == "upload":
                    self._upload(item[1], item[2])
                else:
                    self._fail(item[1], item[2])
        except BaseException as exc:
            self.state.fail(exc)
