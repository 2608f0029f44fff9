"""The Ray engine's remote stages: decode tasks (CPU) and the embedder actor (GPU where there is one).

Rows between the stages are flat dicts: ``kind`` is ``seg`` (one window: ``waveform``, ``peak``,
``source``), ``fail`` (``reason``, ``detail``) or ``done`` (the file decoded completely; ``peak`` holds the
task's peak RSS in MiB). A task that Ray retries (its worker or actor died) may send a row again; the
driver drops repeated rows, so a retry never counts a segment twice.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np

from aurola_qdrant.errors import AudioTooLongError, InputError

from ..decode import decode_file

__all__ = ["KILL_SEAM", "EmbedActor", "decode_rows"]

KILL_SEAM = "AUROLA_RAY_KILL_EMBEDDER"
"""Test seam: ``<n>:<marker file>`` makes the first embedder actor that reaches its n-th batch SIGKILL
itself (once: the marker file records it), as a crashed GPU worker would die; ``<n>:<marker>|pause``
makes it wait there instead, for a test to remove its node."""

_EMPTY = np.zeros(1, dtype=np.float32)


def _row(key: int, index: int, kind: str, *, waveform: np.ndarray = _EMPTY, peak: float = 0.0,
         source: str = "", reason: str = "", detail: str = "") -> dict[str, Any]:  # fmt: skip
    return {"key": key, "index": index, "kind": kind, "waveform": waveform, "peak": peak, "source": source,
            "reason": reason, "detail": detail}  # fmt: skip


def decode_rows(task: dict[str, Any]) -> list[dict[str, Any]]:
    """A decode task (Ray Data ``flat_map``): one file -> its window rows, then ``done`` or ``fail``."""
    key, path = int(task["key"]), str(task["path"])
    bounds = tuple(tuple(b) for b in json.loads(task["bounds"]))
    out: list[dict[str, Any]] = []
    for message in decode_file(key, path, bounds, float(task["window_s"]), float(task["hop_s"])):
        if message[0] == "seg":
            index = int(message[2])
            out.append(_row(key, index, "seg", waveform=message[3], peak=float(message[4]),
                            source=f"{path}[{bounds[index][0]:.1f}s]"))  # fmt: skip
        elif message[0] == "fail":
            out.append(_row(key, -1, "fail", reason=message[2], detail=message[3]))
        else:
            out.append(_row(key, -1, "done", peak=float(message[2])))
    return out


def _maybe_kill_self(calls: int) -> None:
    seam = os.environ.get(KILL_SEAM)
    if not seam:
        return
    after, _, rest = seam.partition(":")
    marker, _, mode = rest.partition("|")
    if calls >= int(after):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.close(fd)
        if mode == "pause":  # the node-loss test removes this actor's node while it waits here
            time.sleep(60)
            return
        os.kill(os.getpid(), signal.SIGKILL)


class EmbedActor:
    """One embedder per actor, loaded once (from the object store or a factory); each call embeds the
    ``seg`` rows of a batch in sub-batches of similar length and passes the other rows through."""

    def __init__(self, embedder: Any, batch_size: int) -> None:
        import ray

        if isinstance(embedder, ray.ObjectRef):  # the model, put once in the object store
            embedder = ray.get(embedder)
        factory = callable(embedder) and not hasattr(embedder, "embed_collated")
        self.embedder = embedder() if factory else embedder
        self.batch_size = batch_size
        self.calls = 0

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.calls += 1
        _maybe_kill_self(self.calls)
        n = len(batch["key"])
        kinds, reasons, details = list(batch["kind"]), list(batch["reason"]), list(batch["detail"])
        vectors = np.zeros((n, int(self.embedder.dim)), dtype=np.float32)
        prompts: list[tuple[int, Any]] = []
        for i in range(n):
            if kinds[i] != "seg":
                continue
            wave = np.asarray(batch["waveform"][i], dtype=np.float32)
            try:
                prompts.append((i, self.embedder.audio_prompt(wave, str(batch["source"][i]))))
            except AudioTooLongError as err:
                kinds[i], reasons[i], details[i] = "fail", "too-long", str(err)
            except InputError as err:
                kinds[i], reasons[i], details[i] = "fail", "too-short", str(err)
        prompts.sort(key=lambda p: len(p[1].input_ids))
        budget = int(self.embedder.max_batch_tokens)
        while prompts:
            width = len(prompts[-1][1].input_ids)
            take = max(1, min(self.batch_size, budget // max(1, width)))
            group, prompts = prompts[-take:], prompts[:-take]
            out = self.embedder.embed_collated(self.embedder.collate([p for _, p in group]))
            for (i, _), vec in zip(group, out, strict=True):
                vectors[i] = vec
        return {"key": batch["key"], "index": batch["index"], "kind": np.array(kinds, dtype=object),
                "peak": batch["peak"], "reason": np.array(reasons, dtype=object),
                "detail": np.array(details, dtype=object), "vector": vectors}  # fmt: skip


def marker_path(tmp: Path) -> str:
    """A marker file name for `KILL_SEAM` under ``tmp``."""
    return str(tmp / "embedder-killed")
