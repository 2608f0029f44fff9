"""Fixtures for the store tests: embedded Qdrant clients, embedder infos, segment records.

Every test taking ``client`` (or ``engine``) runs once per embedded engine, qdrant-client's congruence
idea: ``local`` is qdrant-client's local mode (``:memory:``), ``edge`` is Qdrant Edge in a folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient

from aurola_qdrant.retry import RetryPolicy
from aurola_qdrant.store import EmbedderInfo, SegmentRecord


@pytest.fixture(autouse=True)
def _quiet_local_index_warning() -> Iterator[None]:
    # local mode warns that payload indexes have no effect there; the store creates them on purpose
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        yield


ENGINES = ("local", "edge")


class EngineFactory:
    """``engine()`` opens a client of this run's engine (``engine.kind``); ``engine(path)`` opens (or
    reopens) an on-disk store at ``path``. Every client is closed at teardown."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind, self.tmp_path, self.made = kind, tmp_path, []  # type: list[Any]

    def __call__(self, path: Path | None = None) -> Any:
        from aurola_qdrant.store.edge import EdgeEngine

        if self.kind == "local":
            c: Any = QdrantClient(":memory:") if path is None else QdrantClient(path=str(path))
        else:
            c = EdgeEngine(path if path is not None else self.tmp_path / "edge-store")
        self.made.append(c)
        return c

    def close(self) -> None:
        for c in self.made:
            c.close()


@pytest.fixture
def fast_tmp(tmp_path: Path) -> Iterator[Path]:
    """A scratch folder on tmpfs when there is one: Edge fsyncs on every payload index and flush (~150 ms
    each on this disk, ~1 ms on tmpfs), which is what is measured in BENCHMARKS.md, not here."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="aurola-test-", dir=shm))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, fast_tmp: Path) -> Iterator[EngineFactory]:
    factory = EngineFactory(request.param, fast_tmp)
    yield factory
    factory.close()


@pytest.fixture
def client(engine: EngineFactory) -> Any:
    return engine()


@pytest.fixture
def info_a() -> EmbedderInfo:
    return EmbedderInfo("aurola-3b", "aurola/AuroLA-3B", "rev1", "p1", 8, window_s=10.0, hop_s=10.0)


@pytest.fixture
def info_b() -> EmbedderInfo:
    return EmbedderInfo("other-emb", "someone/other", None, "v2", 4)


def make_records(
    file_id: str, source: str, n: int, *, window: float = 10.0, **meta: object
) -> list[SegmentRecord]:
    """``n`` consecutive windows of one file."""
    return [
        SegmentRecord(
            file_id=file_id,
            source=source,
            start_s=i * window,
            end_s=(i + 1) * window,
            segment_index=i,
            n_segments=n,
            duration_s=n * window,
            sample_rate=16000,
            channels=1,
            metadata=dict(meta),
        )
        for i in range(n)
    ]


@pytest.fixture
def records() -> Callable[..., list[SegmentRecord]]:
    return make_records


def _unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def rows() -> Callable[..., np.ndarray]:
    """``rows(n, dim, seed=0)``: n random unit vectors, float32."""
    return _unit_rows


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """Retries without real sleeping: 4 attempts, zero waits."""
    return RetryPolicy(max_attempts=4, initial_wait_s=0.0, max_wait_s=0.0, jitter_s=0.0, sleep=lambda s: None)
