"""AudioSearch on embedded Qdrant with the tiny embedder and re-ranker: every order is checked against
an independent computation (stored vectors · query vector, P(Yes) from unbatched full forwards)."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from aurola_qdrant.audio import load_audio
from aurola_qdrant.errors import CollectionMismatchError, InputError
from aurola_qdrant.search import AudioSearch, embedder_info
from aurola_qdrant.store import AudioStore, EmbedderInfo

from .conftest import store_files

QUERY = "a dog barks near a running engine"
TOL = 1e-4


def _points(lib) -> list[models.Record]:
    points, _ = lib.client.scroll(lib.collection, limit=100, with_payload=True, with_vectors=True)
    return points


def _cosines(lib, embedder, query_vec: np.ndarray, points) -> dict[str, float]:
    name = embedder.vector_name
    return {str(p.id): float(np.dot(np.asarray(p.vector[name]), query_vec)) for p in points}


def _independent_p_yes(reranker, text: str, payload: dict) -> float:
    seg = load_audio(payload["source"], start_s=payload["start_s"], end_s=payload["end_s"])
    return float(reranker.score_text_to_audio_waveforms(text, [seg.waveform], share_prefix=False)[0])


def test_plain_retrieval_is_cosine_order(library, tiny_embedder) -> None:
    search = AudioSearch(library.client, library.collection, tiny_embedder)
    hits = search.search(QUERY, limit=5)
    points = _points(library)
    cos = _cosines(library, tiny_embedder, tiny_embedder.embed_text([QUERY])[0], points)
    expected = sorted(cos, key=lambda k: -cos[k])[:5]
    assert [h.id for h in hits] == expected
    by_id = {str(p.id): p.payload for p in points}
    for hit in hits:
        assert hit.score == hit.retrieval_score == pytest.approx(cos[hit.id], abs=TOL)
        assert hit.rerank_score is None and hit.rerank_error is None
        assert (hit.source, hit.start_s, hit.end_s) == (
            by_id[hit.id]["source"],
            by_id[hit.id]["start_s"],
            by_id[hit.id]["end_s"],
        )
        assert hit.payload["category"] == by_id[hit.id]["category"]


def test_rerank_order_equals_independent_fusion(library, tiny_embedder, tiny_reranker) -> None:
    alpha, k, limit = 2.0, 9, 6
    search = AudioSearch(library.client, library.collection, tiny_embedder, tiny_reranker)
    hits = search.search(QUERY, limit=limit, candidates=k, alpha=alpha)

    points = {str(p.id): p for p in _points(library)}
    cos = _cosines(library, tiny_embedder, tiny_embedder.embed_text([QUERY])[0], points.values())
    top_k = sorted(cos, key=lambda i: -cos[i])[:k]
    p_yes = {i: _independent_p_yes(tiny_reranker, QUERY, points[i].payload) for i in top_k}
    fused = {i: cos[i] + alpha * p_yes[i] for i in top_k}
    expected = sorted(top_k, key=lambda i: -fused[i])[:limit]

    assert [h.id for h in hits] == expected
    assert expected != sorted(cos, key=lambda i: -cos[i])[:limit], "re-ranking should change this order"
    for hit in hits:
        assert hit.score == pytest.approx(fused[hit.id], abs=TOL)
        assert hit.retrieval_score == pytest.approx(cos[hit.id], abs=TOL)
        assert hit.rerank_score == pytest.approx(p_yes[hit.id], abs=TOL)
        assert hit.rerank_error is None


def test_alpha_defaults_to_the_rerankers_and_rerank_false_skips(
    library, tiny_embedder, tiny_reranker
) -> None:
    search = AudioSearch(library.client, library.collection, tiny_embedder, tiny_reranker)
    default = tiny_reranker.default_alpha("t2a")
    for hit in search.search(QUERY, limit=3, candidates=5):
        assert hit.rerank_score is not None
        assert hit.score == pytest.approx(hit.retrieval_score + default * hit.rerank_score, abs=1e-6)
    plain = search.search(QUERY, limit=3, rerank=False)
    assert all(h.rerank_score is None and h.score == h.retrieval_score for h in plain)
    assert [h.id for h in plain] == [
        h.id for h in AudioSearch(library.client, "sounds", tiny_embedder).search(QUERY, limit=3)
    ]


def test_filters_are_passed_through(library, tiny_embedder, tiny_reranker) -> None:
    search = AudioSearch(library.client, library.collection, tiny_embedder, tiny_reranker)
    machine = models.Filter(
        must=[models.FieldCondition(key="category", match=models.MatchValue(value="machine"))]
    )
    for rerank in (False, True):
        hits = search.search(QUERY, limit=10, query_filter=machine, rerank=rerank)
        assert sorted(h.source.rsplit("/", 1)[-1] for h in hits) == ["drill.flac", "engine.wav"]
    late = models.Filter(must=[models.FieldCondition(key="start_s", range=models.Range(gte=2.0))])
    hits = search.search(QUERY, limit=20, query_filter=late, rerank=False)
    assert hits and all(h.start_s >= 2.0 for h in hits) and len(hits) == 5  # long_a: 2 windows, long_b: 3


def test_group_by_file_returns_each_files_best_window(library, tiny_embedder, tiny_reranker) -> None:
    search = AudioSearch(library.client, library.collection, tiny_embedder, tiny_reranker)
    points = _points(library)
    cos = _cosines(library, tiny_embedder, tiny_embedder.embed_text([QUERY])[0], points)
    best: dict[str, str] = {}
    for p in points:
        f = p.payload["file_id"]
        if f not in best or cos[str(p.id)] > cos[best[f]]:
            best[f] = str(p.id)
    for rerank in (False, True):
        hits = search.search(QUERY, limit=20, group_by_file=True, rerank=rerank)
        assert len(hits) == len(library.paths) == len({h.file_id for h in hits})
        assert {h.id for h in hits} == set(best.values())
    two = search.search(QUERY, limit=2, group_by_file=True, rerank=False)
    assert [h.id for h in two] == sorted(best.values(), key=lambda i: -cos[i])[:2]


def test_search_by_audio_with_and_without_the_query_file(library, tiny_embedder) -> None:
    search = AudioSearch(library.client, library.collection, tiny_embedder)
    dog = library.paths["dog.wav"]
    hits = search.search_by_audio(dog, limit=3)
    assert hits[0].source == str(dog) and hits[0].score == pytest.approx(1.0, abs=1e-4)
    others = search.search_by_audio(dog, limit=20, exclude_self=True)
    assert len(others) == library.points - 1 and all(h.source != str(dog) for h in others)
    long_a = library.paths["long_a.wav"]
    assert all(h.source != str(long_a) for h in search.search_by_audio(long_a, limit=20, exclude_self=True))
    # an in-memory copy of the clip finds it too; excluding "itself" needs a file to hash
    seg = load_audio(dog)
    assert search.search_by_audio((seg.waveform, 16000), limit=1)[0].source == str(dog)
    with pytest.raises(InputError, match="exclude_self"):
        search.search_by_audio((seg.waveform, 16000), exclude_self=True)
    machine = models.Filter(
        must=[models.FieldCondition(key="category", match=models.MatchValue(value="machine"))]
    )
    assert {
        h.source
        for h in search.search_by_audio(library.paths["engine.wav"], query_filter=machine, exclude_self=True)
    } == {str(library.paths["drill.flac"])}


def test_unreadable_candidates_keep_their_retrieval_score(
    tmp_path, library, tiny_embedder, tiny_reranker, caplog
) -> None:
    names = ["dog.wav", "rain.wav", "engine.wav"]
    copies = [shutil.copy(library.paths[n], tmp_path / n) for n in names]
    client = QdrantClient(":memory:")
    store_files(client, "fragile", tiny_embedder, [tmp_path / n for n in names])
    (tmp_path / "dog.wav").unlink()
    (tmp_path / "rain.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    search = AudioSearch(client, "fragile", tiny_embedder, tiny_reranker)
    with caplog.at_level(logging.WARNING, logger="aurola_qdrant.search"):
        hits = search.search(QUERY, limit=3, candidates=3, alpha=1.0)
    assert len(hits) == len(copies) == 3
    by_name = {h.source.rsplit("/", 1)[-1]: h for h in hits}
    for broken in ("dog.wav", "rain.wav"):
        hit = by_name[broken]
        assert hit.rerank_score is None and hit.score == hit.retrieval_score
        assert "AudioDecodeError" in hit.rerank_error
    assert by_name["dog.wav"].rerank_error.count("missing") >= 1
    ok = by_name["engine.wav"]
    assert ok.rerank_error is None and ok.rerank_score is not None
    assert [h.id for h in hits] == [h.id for h in sorted(hits, key=lambda h: -h.score)]
    assert "dog.wav" in caplog.text and "not re-ranked" in caplog.text
    client.close()


def test_mismatched_or_missing_embedder_is_refused(library, tiny_embedder) -> None:
    client = QdrantClient(":memory:")
    info = embedder_info(tiny_embedder)
    other = EmbedderInfo(info.vector_name, "someone/other-model", "rev9", info.prompt_version, info.dim)
    AudioStore(client, "theirs", other).ensure_collection()
    with pytest.raises(CollectionMismatchError, match="someone/other-model"):
        AudioSearch(client, "theirs", tiny_embedder)
    renamed = EmbedderInfo("another-vector", "x", None, "p", 8)
    AudioStore(client, "named", renamed).ensure_collection()
    with pytest.raises(CollectionMismatchError, match="another-vector"):
        AudioSearch(client, "named", tiny_embedder)
    with pytest.raises(CollectionMismatchError, match="does not exist"):
        AudioSearch(client, "nowhere", tiny_embedder)
    client.close()


def test_bad_arguments(library, tiny_embedder) -> None:
    search = AudioSearch(library.client, library.collection, tiny_embedder)
    with pytest.raises(ValueError, match="re-ranker"):
        search.search(QUERY, rerank=True)
    with pytest.raises(ValueError, match="limit"):
        search.search(QUERY, limit=0)
    with pytest.raises(InputError):
        search.search("   ")
