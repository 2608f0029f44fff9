"""Fixtures for the store tests: embedded Qdrant clients, embedder infos, segment records."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

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


@pytest.fixture
def client() -> Iterator[QdrantClient]:
    c = QdrantClient(":memory:")
    yield c
    c.close()


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
