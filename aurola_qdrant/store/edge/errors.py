"""Qdrant Edge raises bare ``Exception``s; `edge_errors` gives them the types the store's door knows."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["edge_errors"]

_FULL = ("no space left on device", "os error 28", "disk quota exceeded", "os error 122")


@contextmanager
def edge_errors(where: str) -> Iterator[None]:
    """Out-of-space failures become ``OSError(ENOSPC)`` (the door turns them into `StorageFullError`);
    other Edge failures become ValueError (misuse or corruption: never retried)."""
    try:
        yield
    except Exception as exc:
        if type(exc) is not Exception:  # ours or Python's own (TypeError, ValueError...): as they are
            raise
        text = str(exc)
        if any(marker in text.lower() for marker in _FULL):
            raise OSError(errno.ENOSPC, f"{text} ({where})") from exc
        raise ValueError(f"Qdrant Edge: {text} ({where})") from exc
