"""Fixtures for the ingest tests: audio files, embedded Qdrant stores, expected point ids, CLI runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from qdrant_client import QdrantClient

from aurola_qdrant.audio import audio_info, plan_windows
from aurola_qdrant.ids import file_id, point_id
from aurola_qdrant.store import AudioStore, open_embedded
from ingest import IngestConfig, embedder_info

WINDOW = 2.0  # short windows keep the tiny model fast; multi-segment files stay a few seconds long
SR = 8000


@pytest.fixture(autouse=True)
def _quiet_local_index_warning() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        yield


def write_tone(path: Path, seconds: float, *, freq: float = 440.0, sr: int = SR, seed: int = 0) -> Path:
    """A tone plus a little seeded noise (distinct content per freq/seed)."""
    t = np.arange(int(seconds * sr)) / sr
    noise = np.random.default_rng(seed).normal(scale=0.01, size=t.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32), sr)
    return path


def config(**kw: Any) -> IngestConfig:
    base: dict[str, Any] = {"window_s": WINDOW, "batch_size": 2, "workers": 1}
    return IngestConfig(**{**base, **kw})


def expected_ids(paths: list[Path], window_s: float = WINDOW, hop_s: float | None = None) -> set[str]:
    """Point ids a complete ingest of ``paths`` must produce: ids.point_id over plan_windows."""
    out: set[str] = set()
    for p in paths:
        fid = file_id(p)
        out |= {point_id(fid, s, e) for s, e in plan_windows(audio_info(p).duration_s, window_s, hop_s)}
    return out


def all_points(client: QdrantClient, collection: str) -> list[Any]:
    points, offset = [], None
    while True:
        page, offset = client.scroll(collection, limit=1000, offset=offset, with_payload=True)
        points.extend(page)
        if offset is None:
            return points


@pytest.fixture
def open_store(tiny_embedder: Any, tmp_path: Path) -> Iterator[Callable[..., AudioStore]]:
    """``open_store(db_path, cfg=None, client=None)`` -> AudioStore on embedded Qdrant; closed at teardown."""
    clients: list[QdrantClient] = []

    def make(
        db: Path | None = None, cfg: IngestConfig | None = None, client: Any = None, **kw: Any
    ) -> AudioStore:
        if client is None:
            client = open_embedded(db or tmp_path / "db")
            clients.append(client)
        return AudioStore(client, "sounds", embedder_info(tiny_embedder, cfg or config()), **kw)

    yield make
    for c in clients:
        c.close()


def run_cli(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``aurola-qdrant <args>`` in a fresh interpreter (for kill and memory tests)."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", **(env or {})}
    code = "import sys; from aurola_qdrant.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=full_env, capture_output=True, text=True, timeout=timeout
    )


def summary_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    start = proc.stdout.index("{")
    return json.loads(proc.stdout[start:])


@pytest.fixture
def h() -> Any:
    """This module's helpers (test modules cannot import conftest under importlib import mode)."""
    return sys.modules[__name__]
