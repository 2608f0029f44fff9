"""Fixtures for the service tests: real sound files and a windowed synthetic recording in a collection,
the tiny thinker as embedder and re-ranker, and a test client per service configuration."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from qdrant_client import QdrantClient

from aurola_qdrant.audio import audio_info, iter_windows, load_audio
from aurola_qdrant.ids import file_id
from aurola_qdrant.store import AudioStore, SegmentRecord

REAL = Path(__file__).resolve().parents[2] / "data" / "real"
KEY = "test-service-key-4f1c9a2e"  # long enough that masking it never garbles other words
QDRANT_KEY = "qdrant-secret-key-77d0b3"
WINDOW_S = 2.0


def write_clips(folder: Path) -> list[Path]:
    """The four real files (WAV and OGG, 8-48 kHz) plus a 5 s synthetic recording that is windowed."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [Path(shutil.copy(p, folder / p.name)) for p in sorted(REAL.iterdir()) if p.suffix != ".md"]
    t = np.arange(5 * 16000) / 16000
    sf.write(folder / "sweep.wav", (0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t)).astype(np.float32), 16000)
    return [*paths, folder / "sweep.wav"]


def store_clips(client: QdrantClient, collection: str, embedder, paths: list[Path]) -> int:
    """Store ``paths`` the way the ingest worker does; ``category`` metadata is the file's format."""
    store = AudioStore.for_embedder(client, collection, embedder, window_s=WINDOW_S, hop_s=WINDOW_S)
    store.ensure_collection()
    n = 0
    for path in paths:
        head = audio_info(path)
        segments = list(iter_windows(path, WINDOW_S)) if path.name == "sweep.wav" else [load_audio(path)]
        records = [
            SegmentRecord(
                file_id=file_id(path),
                source=str(path),
                start_s=seg.start_s,
                end_s=seg.end_s,
                segment_index=i,
                n_segments=len(segments),
                duration_s=head.duration_s,
                sample_rate=head.sample_rate,
                channels=head.channels,
                metadata={"category": "tone" if path.name == "sweep.wav" else path.suffix[1:]},
            )
            for i, seg in enumerate(segments)
        ]
        n += store.upsert_segments(records, embedder.embed_audio(segments))
        store.mark_file_complete(records[0].file_id)
    return n


@pytest.fixture(autouse=True)
def _quiet_local_index_warning() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        yield


@pytest.fixture(scope="session")
def tiny_reranker(tiny_thinker: Path):
    """The tiny thinker loaded as a re-ranker (alpha 1.0: no config file)."""
    from aurola_qdrant import AurolaReranker

    return AurolaReranker.from_pretrained(tiny_thinker, device="cpu")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_clips(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="module")
def qdrant(clips: list[Path], tiny_embedder) -> Iterator[QdrantClient]:
    client = QdrantClient(":memory:")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        store_clips(client, "sounds", tiny_embedder, clips)
    yield client
    client.close()


@pytest.fixture
def make_client(qdrant, tiny_embedder, tiny_reranker) -> Iterator[Callable[..., object]]:
    """``make_client(**ServeConfig fields, reranker=True)`` → a started TestClient over a new service."""
    from fastapi.testclient import TestClient

    from aurola_qdrant.serve import SearchService, ServeConfig, create_app

    opened: list[TestClient] = []

    def make(reranker: bool = True, **config) -> TestClient:
        service = SearchService(
            qdrant, "sounds", tiny_embedder, tiny_reranker if reranker else None, ServeConfig(**config),
            secrets=[QDRANT_KEY],
        )  # fmt: skip
        client = TestClient(create_app(service))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
