"""Deterministic identities: a file's content hash and the point id of one of its segments.

Both depend on the audio *bytes* only, never on the path, so the same recording found under two paths (or
re-ingested after a crash) maps onto the same Qdrant points instead of duplicating them.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from pathlib import Path

__all__ = ["SEGMENT_NAMESPACE", "file_id", "point_id"]

# Fixed forever: changing it would change every point id and duplicate every existing collection.
SEGMENT_NAMESPACE = uuid.UUID("78b32624-783c-4980-8e77-2642c1a00d08")


def file_id(path: str | Path, *, chunk_size: int = 1 << 20) -> str:
    """Return the SHA-256 of the file's bytes as 64 lowercase hex characters (the "audio content hash").

    The file is streamed in ``chunk_size`` byte blocks, so memory stays flat for multi-GB recordings.

    Raises:
        ValueError: ``chunk_size`` is not a positive integer.
        OSError: the file cannot be opened or read (FileNotFoundError, PermissionError, ...).
    """
    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive integer of bytes, got {chunk_size!r}")
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def _milliseconds(name: str, value: float) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0 seconds, got {value!r}")
    return round(value * 1000)


def point_id(file_id: str, start_s: float, end_s: float) -> str:
    """Return the point id (a UUID5 string) of the segment ``[start_s, end_s)`` of the file ``file_id``.

    Bounds are rounded to whole milliseconds first, so float noise such as ``2.9999999`` vs ``3.0`` gives
    the same id. The id depends only on the content hash and the bounds: the same audio under any path
    gives the same ids.

    Raises:
        ValueError: empty ``file_id``, non-finite or negative bounds, or ``end_s`` not after ``start_s``
            (after rounding to milliseconds).
    """
    if not isinstance(file_id, str) or not file_id:
        raise ValueError(
            f"file_id must be a non-empty string (see aurola_qdrant.ids.file_id), got {file_id!r}"
        )
    start_ms = _milliseconds("start_s", start_s)
    end_ms = _milliseconds("end_s", end_s)
    if end_ms <= start_ms:
        raise ValueError(
            f"end_s must be at least 1 ms after start_s, got start_s={start_s!r}, end_s={end_s!r}"
        )
    return str(uuid.uuid5(SEGMENT_NAMESPACE, f"{file_id}:{start_ms}:{end_ms}"))
