"""Per-request stage timings, collected across the threads one request's work runs on.

A request's worker thread opens `collect`; the batcher, the re-ranker wrapper and the search add their
seconds with `add_stage`, which is a no-op outside a collection (the library's own callers)."""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

__all__ = ["STAGES", "add_stage", "collect", "timed"]

#: The stages a search reports, in order: waiting for a batch, the embedder call, Qdrant (and reading the
#: candidates' audio for re-ranking), the re-ranker call.
STAGES = ("queue", "embed", "retrieve", "rerank")

_current: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "aurola_stages", default=None
)


def add_stage(name: str, seconds: float) -> None:
    """Add ``seconds`` to stage ``name`` of the request running on this thread, if any."""
    stages = _current.get()
    if stages is not None:
        stages[name] = stages.get(name, 0.0) + seconds


@contextlib.contextmanager
def timed(name: str) -> Iterator[None]:
    """Time the block as stage ``name``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        add_stage(name, time.perf_counter() - start)


@contextlib.contextmanager
def collect() -> Iterator[dict[str, float]]:
    """Collect this thread's stages into the yielded dict; ``total`` is set on exit."""
    stages: dict[str, float] = {}
    token = _current.set(stages)
    start = time.perf_counter()
    try:
        yield stages
    finally:
        stages["total"] = time.perf_counter() - start
        _current.reset(token)
