"""`AudioSearch` over catalog points (one per recording, written in place on a team's collection), on
qdrant-client's local mode and Qdrant Edge: the team's ids and payload come back with the matched window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from qdrant_client import QdrantClient, models

from aurola_qdrant.audio import plan_windows
from aurola_qdrant.errors import CollectionMismatchError, InputError
from aurola_qdrant.retry import QDRANT_RETRY
from aurola_qdrant.search import AudioSearch
from aurola_qdrant.store import AudioStore, StoreConfig
from aurola_qdrant.store._net import Net
from aurola_qdrant.store.catalog import CatalogLayout, RecordingVectors, write_recordings
from aurola_qdrant.testing import FakeEmbedder, FakeReranker

DIM, WINDOW, SR = 8, 10.0, 8000
WORDS = {"dog": 0, "cat": 1, "rain": 2, "bell": 3}


def _basis(i: int) -> np.ndarray:
    v = np.full(DIM, 0.05, dtype=np.float32)
    v[i] = 1.0
    return v / np.linalg.norm(v)


def _embedder() -> FakeEmbedder:
    return FakeEmbedder(dim=DIM, text_vector=lambda t: _basis(WORDS[t]))


@pytest.fixture(params=("local", "edge"))
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from aurola_qdrant.store.edge import EdgeEngine

    c: Any = QdrantClient(":memory:") if request.param == "local" else EdgeEngine(tmp_path / "edge")
    yield c
    c.close()


@pytest.fixture
def catalog(client: Any, tmp_path: Path) -> CatalogLayout:
    return _build_catalog(client, tmp_path, StoreConfig())


def _build_catalog(client: Any, tmp_path: Path, config: StoreConfig) -> CatalogLayout:
    """Point 7: a 5 s "cat" clip (dense); point 8: 45 s whose window 3 is "dog" (multivector); point 9:
    3 min whose window 12 is "rain"; the team's own vector and payload beside them."""
    client.create_collection(
        "catalog", vectors_config={"theirs": models.VectorParams(size=2, distance=models.Distance.EUCLID)}
    )
    lengths = {7: 5.0, 8: 45.0, 9: 180.0}
    paths = {}
    for pid, seconds in lengths.items():
        paths[pid] = tmp_path / f"{pid}.wav"
        sf.write(paths[pid], np.zeros(int(seconds * SR), dtype=np.float32), SR)
    client.upsert(
        "catalog",
        points=[
            models.PointStruct(
                id=pid,
                vector={"theirs": [1.0, float(pid)]},
                payload={"file": str(paths[pid]), "label": "pets" if pid < 9 else "weather"},
            )
            for pid in lengths
        ],
    )
    layout = CatalogLayout(_embedder().embedder_info(WINDOW, WINDOW))
    net = Net(client, "catalog", QDRANT_RETRY)
    layout.ensure(net, config, "file")
    recordings = []
    for pid, (seconds, word, window) in {
        7: (5.0, "cat", 0),
        8: (45.0, "dog", 3),
        9: (180.0, "rain", 12),
    }.items():
        bounds = tuple(plan_windows(seconds, WINDOW))
        rows = np.stack([_basis(4 + i % 4) for i in range(len(bounds))])
        rows[window] = _basis(WORDS[word])
        recordings.append(RecordingVectors(pid, str(paths[pid]), seconds, bounds, rows))
    write_recordings(net, layout, recordings)
    return layout


def test_text_query_returns_catalog_ids_with_the_matched_window(client: Any, catalog: CatalogLayout) -> None:
    search = AudioSearch(client, "catalog", _embedder())
    dog = search.search("dog", limit=3)
    assert dog[0].id == 8 and isinstance(dog[0].id, int)
    assert (dog[0].window_index, dog[0].start_s, dog[0].end_s) == (3, 30.0, 40.0)
    assert dog[0].payload["label"] == "pets" and dog[0].source is not None and dog[0].source.endswith("8.wav")
    assert dog[0].retrieval_score == pytest.approx(1.0, abs=1e-5)
    rain = search.search("rain", limit=1)[0]
    assert (rain.id, rain.window_index, rain.start_s, rain.end_s) == (9, 12, 120.0, 130.0)
    cat = search.search("cat", limit=1)[0]
    assert (cat.id, cat.window_index, cat.start_s, cat.end_s) == (7, 0, 0.0, 5.0)


def test_filters_offset_and_threshold_on_the_team_fields(client: Any, catalog: CatalogLayout) -> None:
    search = AudioSearch(client, "catalog", _embedder())
    weather = models.Filter(
        must=[models.FieldCondition(key="label", match=models.MatchValue(value="weather"))]
    )
    assert [h.id for h in search.search("dog", query_filter=weather)] == [9]
    everything = [h.id for h in search.search("dog", limit=3)]
    assert sorted(everything) == [7, 8, 9]
    assert [h.id for h in search.search("dog", limit=2, offset=1)] == everything[1:]
    assert [h.id for h in search.search("dog", score_threshold=0.9)] == [8]


def test_reranking_reads_the_matched_window(client: Any, catalog: CatalogLayout) -> None:
    lengths: list[int] = []
    reranker = FakeReranker(p_yes=lambda caption, wave: lengths.append(len(wave)) or 0.5)
    hits = AudioSearch(client, "catalog", _embedder(), reranker).search("dog", limit=1, candidates=1)
    assert hits[0].id == 8 and hits[0].rerank_score == 0.5
    assert lengths == [int(WINDOW * 16000)]  # window 3 of 45 s, not the whole recording


def test_another_representation_or_embedder_is_refused(client: Any, catalog: CatalogLayout) -> None:
    with pytest.raises(CollectionMismatchError, match=r"per-file.*per-segment"):
        AudioSearch(client, "catalog", _embedder(), points="per-segment")
    with pytest.raises(CollectionMismatchError, match="other-model"):
        AudioSearch(client, "catalog", FakeEmbedder(dim=DIM, model_id="other-model"))
    with pytest.raises(InputError, match="exclude_self"):
        AudioSearch(client, "catalog", _embedder()).search_by_audio(str(catalog.dense), exclude_self=True)


def test_per_file_search_of_an_ingest_collection_is_refused(client: Any) -> None:
    store = AudioStore.for_embedder(client, "segments", _embedder(), window_s=WINDOW, hop_s=WINDOW)
    store.ensure_collection()
    with pytest.raises(CollectionMismatchError, match=r"per-segment.*per-file"):
        AudioSearch(client, "segments", _embedder(), points="per-file")
    assert AudioSearch(client, "segments", _embedder()).catalog is None


def test_query_by_example_returns_catalog_points(client: Any, catalog: CatalogLayout, tmp_path: Path) -> None:
    dog = _basis(WORDS["dog"])
    embedder = FakeEmbedder(dim=DIM, audio_vector=lambda wave: dog)
    hits = AudioSearch(client, "catalog", embedder).search_by_audio(str(tmp_path / "7.wav"), limit=1)
    assert (hits[0].id, hits[0].window_index, hits[0].start_s) == (8, 3, 30.0)


def test_fusion_with_the_team_vector_is_qdrants_rrf(client: Any, catalog: CatalogLayout) -> None:
    search = AudioSearch(client, "catalog", _embedder())
    assert search.search("rain", limit=1)[0].id == 9
    # RRF (k=2, 1/(k + 0-based rank)) of three rankings: dense [7], windows [9, 8], theirs near (1, 7):
    # [7, 8, 9] -> 7: 1/2 + 1/2, 9: 1/2 + 1/4, 8: 1/3 + 1/3
    fused = search.search("rain", limit=3, rerank=False, fuse_with={"theirs": [1.0, 7.0]})
    assert [h.id for h in fused] == [7, 9, 8]
    assert (fused[1].window_index, fused[1].start_s) == (12, 120.0)  # the matched window still
    dbsf = search.search("rain", limit=3, fuse_with={"theirs": [1.0, 7.0]}, fusion="dbsf")
    assert sorted(h.id for h in dbsf) == [7, 8, 9]
    with pytest.raises(InputError, match="rerank=False"):
        AudioSearch(client, "catalog", _embedder(), FakeReranker()).search(
            "rain", rerank=True, fuse_with={"theirs": [1.0, 7.0]}
        )


def test_quantized_catalog_is_searched_with_rescoring(client: Any, tmp_path: Path) -> None:
    _build_catalog(client, tmp_path, StoreConfig(quantization="scalar"))
    search = AudioSearch(client, "catalog", _embedder())
    if isinstance(
        client, QdrantClient
    ):  # local mode has no quantization and records none: nothing to rescore
        assert search.search_params is None
    else:
        assert search.search_params is not None and search.search_params.quantization is not None
        assert search.search_params.quantization.rescore is True
    dog = search.search("dog", limit=1)[0]
    assert (dog.id, dog.window_index) == (8, 3)
    fused = search.search("rain", limit=3, fuse_with={"theirs": [1.0, 7.0]})
    assert [h.id for h in fused] == [7, 9, 8]


def test_unquantized_catalog_sends_no_search_params(client: Any, catalog: CatalogLayout) -> None:
    assert AudioSearch(client, "catalog", _embedder()).search_params is None
