"""`IngestConfig`: how files are cut into segments, how the pipeline is sized, what is added to payloads.

Windowing defaults. AuroLA was trained on clips of at most 30 s (METHOD.md), so a file up to
``window_s = 30`` seconds is embedded whole as one point, and a longer recording is cut into 30 s windows
with ``hop_s = window_s`` (no overlap) following `aurola_qdrant.audio.plan_windows` (a tail shorter than
1 s is merged into the last window, a longer one gets its own window aligned to the end of the file).
Both are recorded in the collection (`EmbedderInfo.window_s`/``hop_s``): a later run with other values
is refused instead of mixing two segmentations in one vector.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aurola_qdrant.store import COMPLETE_PREFIX, RESERVED_FIELDS

__all__ = [
    "AUDIO_EXTENSIONS",
    "DEFAULT_HOP_S",
    "DEFAULT_WINDOW_S",
    "INGEST_FIELDS",
    "SILENCE_PEAK",
    "IngestConfig",
    "check_metadata",
    "parse_shard",
]

DEFAULT_WINDOW_S = 30.0
"""Seconds per segment: the longest clip AuroLA saw in training."""

DEFAULT_HOP_S = None
"""None: hop = window (adjacent windows, no overlap)."""

SILENCE_PEAK = 1e-4
"""A segment whose peak |sample| is at most this (-80 dBFS) gets ``silent: true`` in its payload."""

INGEST_FIELDS = frozenset({"silent"})
"""Payload fields the ingest worker sets itself (besides the store's RESERVED_FIELDS)."""

AUDIO_EXTENSIONS = (
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".caf",
    ".w64", ".rf64",
)  # fmt: skip


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with ``0 <= I < N``. Raises ValueError quoting the bad value."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"shard must look like I/N (e.g. 0/3), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {text!r}: need N >= 1 and 0 <= I < N (shards are numbered 0..N-1)")
    return index, count


@dataclass(frozen=True)
class IngestConfig:
    """Options of one ingest run (see the module docstring for the windowing defaults).

    Attributes:
        window_s: segment length in seconds; files up to this long are one point.
        hop_s: seconds between window starts (0 < hop_s <= window_s); None means window_s.
        batch_size: segments per model call; segments of similar length are batched together.
        workers: decode/resample worker processes.
        shard: ``(I, N)``: this run ingests only the files whose path hashes to shard I of N.
        metadata: payload added to every point (keys must not be reserved store fields).
        extensions: file name endings collected when walking a directory (case-insensitive).
        failures_path: JSONL file that failures are appended to; None writes none.
        dry_run: plan and report only; nothing is decoded, embedded or written.
        queue_segments: decoded segments buffered between the workers and the model (backpressure), and the
            size of the pool batches of similar length are cut from; default 8 x batch_size.
        upload_queue_batches: embedded batches waiting for the uploader (backpressure).
        probe_chunk: files hashed and checked against Qdrant per round trip.
        probe_threads: threads hashing files and reading headers.
    """

    window_s: float = field(
        default=DEFAULT_WINDOW_S,
        metadata={"help": "Segment length; files up to this long are one point, longer ones are windowed.",
                  "unit": "seconds"},
    )  # fmt: skip
    hop_s: float | None = field(
        default=DEFAULT_HOP_S,
        metadata={"help": "Seconds between window starts [default: the window].", "unit": "seconds"},
    )
    batch_size: int = field(
        default=8, metadata={"help": "Segments per model call (of similar length).", "unit": "segments"}
    )
    workers: int = field(
        default=2, metadata={"help": "Decode/resample worker processes.", "unit": "processes"}
    )
    shard: tuple[int, int] = (0, 1)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    extensions: tuple[str, ...] = AUDIO_EXTENSIONS
    failures_path: Path | None = None
    dry_run: bool = False
    queue_segments: int | None = None
    upload_queue_batches: int = 4
    probe_chunk: int = 256
    probe_threads: int = 4

    def __post_init__(self) -> None:
        if not (
            isinstance(self.window_s, int | float) and math.isfinite(self.window_s) and self.window_s > 0
        ):
            raise ValueError(
                f"window_s must be a positive number of seconds (default 30), got {self.window_s!r}"
            )
        if self.hop_s is not None and not (
            isinstance(self.hop_s, int | float)
            and math.isfinite(self.hop_s)
            and 0 < self.hop_s <= self.window_s
        ):
            raise ValueError(f"hop_s must be in (0, window_s={self.window_s}] or None, got {self.hop_s!r}")
        for name in ("batch_size", "workers", "upload_queue_batches", "probe_chunk", "probe_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.queue_segments is not None and (
            not isinstance(self.queue_segments, int) or self.queue_segments < 1
        ):
            raise ValueError(f"queue_segments must be an integer >= 1 or None, got {self.queue_segments!r}")
        index, count = self.shard
        if count < 1 or not 0 <= index < count:
            raise ValueError(f"shard must be (I, N) with 0 <= I < N, got {self.shard!r}")
        check_metadata(self.metadata, "metadata")
        object.__setattr__(self, "metadata", dict(self.metadata))
        object.__setattr__(self, "extensions", tuple(e.lower() for e in self.extensions))
        if self.failures_path is not None:
            object.__setattr__(self, "failures_path", Path(self.failures_path))

    @property
    def hop(self) -> float:
        """The effective hop in seconds."""
        return float(self.window_s if self.hop_s is None else self.hop_s)

    @property
    def segment_queue_size(self) -> int:
        """Bound of the decoded-segment queue: enough to form a few batches of similar length."""
        return self.queue_segments if self.queue_segments is not None else 8 * self.batch_size


def check_metadata(metadata: Mapping[str, Any], where: str) -> None:
    """Refuse reserved keys and non-JSON values up front (ValueError naming ``where`` and the key)."""
    if not isinstance(metadata, Mapping):
        raise ValueError(f"{where} must be a mapping of str -> JSON value, got {type(metadata).__name__}")
    for key in metadata:
        if not isinstance(key, str) or not key:
            raise ValueError(f"{where}: keys must be non-empty strings, got {key!r}")
        if key in RESERVED_FIELDS or key in INGEST_FIELDS or key.startswith(COMPLETE_PREFIX):
            raise ValueError(
                f"{where}: key {key!r} is reserved by aurola-qdrant "
                f"({sorted(RESERVED_FIELDS | INGEST_FIELDS)} and "
                f"'{COMPLETE_PREFIX}*'); rename it, e.g. to 'user_{key}'"
            )
    try:
        json.dumps(dict(metadata), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where} must be JSON-serialisable: {err}") from err
