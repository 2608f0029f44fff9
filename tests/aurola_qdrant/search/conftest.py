"""Fixtures for the search tests: real audio files, a tiny re-ranker, collections on embedded Qdrant."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from qdrant_client import QdrantClient

from aurola_qdrant.audio import audio_info, iter_windows, load_audio
from aurola_qdrant.ids import file_id
from aurola_qdrant.search import embedder_info
from aurola_qdrant.store import AudioStore, EmbedderInfo, SegmentRecord, open_embedded

WINDOW_S = 2.0


@pytest.fixture(autouse=True)
def _quiet_local_index_warning() -> Iterator[None]:
    # local mode warns that payload indexes have no effect there; the store creates them on purpose
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        yield


def _signal(seconds: float, kind: str, seed: int, sr: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    if kind == "tone":
        wave = 0.4 * np.sin(2 * np.pi * (120 + 90 * seed) * t)
    elif kind == "chirp":
        wave = 0.3 * np.sin(2 * np.pi * (100 + 400 * t) * t)
    else:
        wave = 0.2 * rng.standard_normal(t.shape)
    return (wave + 0.02 * rng.standard_normal(t.shape)).astype(np.float32)


# name, seconds, kind, seed, sample rate, category (metadata)
CLIPS = [
    ("dog.wav", 1.5, "tone", 1, 16000, "animal"),
    ("cat.flac", 2.5, "chirp", 2, 22050, "animal"),
    ("rain.wav", 1.8, "noise", 3, 16000, "weather"),
    ("engine.wav", 3.0, "tone", 4, 44100, "machine"),
    ("drill.flac", 1.2, "noise", 5, 16000, "machine"),
    ("wind.wav", 2.2, "chirp", 6, 16000, "weather"),
    ("long_a.wav", 6.0, "tone", 7, 16000, "field"),
    ("long_b.wav", 7.0, "noise", 8, 16000, "field"),
]
LONG = ("long_a.wav", "long_b.wav")  # windowed into WINDOW_S segments; the others are whole clips


def write_clips(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, seconds, kind, seed, sr, _ in CLIPS:
        path = folder / name
        sf.write(path, _signal(seconds, kind, seed, sr), sr)
        paths[name] = path
    return paths


def store_files(
    client: QdrantClient,
    collection: str,
    embedder,
    paths: Sequence[Path],
    *,
    window_s: float | None = None,
    metadata: dict[str, dict] | None = None,
) -> int:
    """Write ``paths`` as points the way the ingest worker does (one point per clip or per window)."""
    info = embedder_info(embedder)
    if window_s is not None:
        info = type(info)(**{**info.to_dict(), "window_s": window_s, "hop_s": window_s})
    store = AudioStore(client, collection, info)
    store.ensure_collection()
    n = 0
    for path in paths:
        head = audio_info(path)
        long = window_s is not None and path.name in LONG
        segments = list(iter_windows(path, window_s)) if long else [load_audio(path)]
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
                metadata=(metadata or {}).get(path.name, {}),
            )
            for i, seg in enumerate(segments)
        ]
        n += store.upsert_segments(records, embedder.embed_audio(segments))
        store.mark_file_complete(records[0].file_id)
    return n


@dataclass
class Library:
    client: QdrantClient
    collection: str
    paths: dict[str, Path]
    points: int


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, tiny_embedder) -> Iterator[Library]:
    """All CLIPS in one collection (long files windowed), with a ``category`` metadata field."""
    paths = write_clips(tmp_path_factory.mktemp("clips"))
    client = QdrantClient(":memory:")
    meta = {name: {"category": cat} for name, *_, cat in CLIPS}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        n = store_files(
            client, "sounds", tiny_embedder, list(paths.values()), window_s=WINDOW_S, metadata=meta
        )
    yield Library(client, "sounds", paths, n)
    client.close()


@pytest.fixture(scope="session")
def tiny_reranker(tiny_thinker: Path):
    """The tiny thinker loaded as a re-ranker (it has an LM head); alpha defaults to 1.0 (no config file)."""
    from aurola_qdrant.reranker import AurolaReranker

    return AurolaReranker.from_pretrained(tiny_thinker, device="cpu")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, tiny_embedder) -> tuple[Path, dict[str, Path]]:
    """An on-disk embedded Qdrant with the clips ("sounds") and a foreign-embedder collection ("theirs")."""
    root = tmp_path_factory.mktemp("cli")
    paths = write_clips(root / "clips")
    client = open_embedded(root / "db")
    meta = {name: {"category": cat} for name, *_, cat in CLIPS}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        store_files(client, "sounds", tiny_embedder, list(paths.values()), window_s=WINDOW_S, metadata=meta)
        info = embedder_info(tiny_embedder)
        other = EmbedderInfo(info.vector_name, "someone/other", "r1", info.prompt_version, info.dim)
        AudioStore(client, "theirs", other).ensure_collection()
    client.close()
    return root / "db", paths
