"""The Ray engine's remote stages: decode tasks (CPU) and the embedder actor (GPU where there is one).

Rows between the stages are flat dicts. ``kind`` is ``seg`` (one window, prepared: prompt ``ids`` and
``clip``, the log-mel features the decode task computed with the embedder's weight-free ``preparer()``, or
the waveform where a preparer leaves it; and ``peak``), ``fail`` (``reason``, ``detail``) or ``done`` (the
file decoded completely; ``peak`` holds the task's peak RSS in MiB). A window the embedder refuses (too
short to embed, too long) fails its file. A task that Ray retries (its worker or actor died) may send a
row again; the driver drops repeated rows, so a retry never counts a segment twice.
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
from aurola_qdrant.model import EncodedPrompt, length_batches

from ..decode import decode_file

__all__ = ["KILL_SEAM", "EmbedActor", "decode_rows"]

KILL_SEAM = "AUROLA_RAY_KILL_EMBEDDER"
"""Test seam: ``<n>:<marker file>`` makes the first embedder actor that reaches its n-th batch SIGKILL
itself (once: the marker file records it), as a crashed GPU worker would die; ``<n>:<marker>|pause``
makes it wait there instead, for a test to remove its node."""

_NO_IDS = np.zeros(1, dtype=np.int64)
_NO_CLIP = np.zeros((1, 1), dtype=np.float32)
_PREPARERS: dict[str, Any] = {}  # per worker process: the preparer fetched once from the object store


def _row(key: int, index: int, kind: str, *, ids: np.ndarray = _NO_IDS, clip: np.ndarray = _NO_CLIP,
         peak: float = 0.0, reason: str = "", detail: str = "") -> dict[str, Any]:  # fmt: skip
    return {"key": key, "index": index, "kind": kind, "ids": ids, "clip": clip, "peak": peak,
            "reason": reason, "detail": detail}  # fmt: skip


def _preparer(ref: Any) -> Any:
    import ray

    if not isinstance(ref, ray.ObjectRef):
        return ref
    if ref.hex() not in _PREPARERS:
        _PREPARERS.clear()  # one run's preparer at a time
        _PREPARERS[ref.hex()] = ray.get(ref)
    return _PREPARERS[ref.hex()]


def decode_rows(task: dict[str, Any], preparer: Any) -> list[dict[str, Any]]:
    """A decode task (Ray Data ``flat_map``): one file -> its prepared window rows, then ``done`` or
    ``fail``. ``preparer``: the embedder's `AudioPreparer` (or its object-store reference)."""
    prep = _preparer(preparer)
    key, path = int(task["key"]), str(task["path"])
    bounds = tuple(tuple(b) for b in json.loads(task["bounds"]))
    out: list[dict[str, Any]] = []
    for message in decode_file(key, path, bounds, float(task["window_s"]), float(task["hop_s"])):
        if message[0] == "seg":
            index = int(message[2])
            try:
                prompt = prep.audio_prompt(message[3], f"{path}[{bounds[index][0]:.1f}s]")
            except AudioTooLongError as err:
                return [*out, _row(key, -1, "fail", reason="too-long", detail=str(err))]
            except InputError as err:
                return [*out, _row(key, -1, "fail", reason="too-short", detail=str(err))]
            clip = prompt.features[0] if prompt.features else prompt.audios[0]
            out.append(_row(key, index, "seg", ids=np.asarray(prompt.input_ids, dtype=np.int64),
                            clip=clip, peak=float(message[4])))  # fmt: skip
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
    prepared ``seg`` rows of a batch in sub-batches of similar length and passes the other rows through."""

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
        vectors = np.zeros((n, int(self.embedder.dim)), dtype=np.float32)
        rows = [i for i in range(n) if batch["kind"][i] == "seg"]
        prompts = [_prompt(batch["ids"][i], batch["clip"][i]) for i in rows]
        lengths = [len(p.input_ids) for p in prompts]
        for group in length_batches(lengths, self.batch_size, int(self.embedder.max_batch_tokens)):
            out = self.embedder.embed_collated(self.embedder.collate([prompts[j] for j in group]))
            vectors[[rows[j] for j in group]] = out
        return {"key": batch["key"], "index": batch["index"], "kind": batch["kind"], "peak": batch["peak"],
                "reason": batch["reason"], "detail": batch["detail"], "vector": vectors}  # fmt: skip


def _prompt(ids: np.ndarray, clip: np.ndarray) -> EncodedPrompt:
    """A decode task's prepared window as the embedder's prompt: ``clip`` is its log-mel features (2-D)
    or, from a preparer that leaves the audio as it is, its waveform (1-D)."""
    input_ids = tuple(int(t) for t in np.asarray(ids))
    clip = np.asarray(clip, dtype=np.float32)
    return EncodedPrompt(input_ids, features=(clip,)) if clip.ndim == 2 else EncodedPrompt(input_ids, (clip,))


def marker_path(tmp: Path) -> str:
    """A marker file name for `KILL_SEAM` under ``tmp``."""
    return str(tmp / "embedder-killed")
