"""Evaluation through Qdrant: rank/recall arithmetic on hand-made vectors in a real embedded Qdrant, fusion,
and an end-to-end run of the tiny embedder on synthetic clips checked against brute-force numpy recall."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from trainer.eval_index import EvalIndex, exact_top
from trainer.eval_rerank import fuse
from trainer.evaluate import EvalResult, evaluate, ranks_from_candidates, recall_from_ranks
from trainer.manifest import ManifestItem, read_manifest
from trainer.metrics import recalls
from trainer.synthetic import generate_dataset


@pytest.fixture
def client() -> Iterator[QdrantClient]:
    c = QdrantClient(":memory:")
    yield c
    c.close()


def _collection(client: QdrantClient, name: str, vectors: np.ndarray, payload_key: str | None = None) -> None:
    params = models.VectorParams(size=vectors.shape[1], distance=models.Distance.COSINE)
    client.create_collection(name, vectors_config={"v": params})
    points = [
        models.PointStruct(
            id=i, vector={"v": v.tolist()}, payload={payload_key: 100 + i} if payload_key else {}
        )
        for i, v in enumerate(vectors)
    ]
    client.upsert(name, points, wait=True)


def test_recall_from_ranks_hand_computed() -> None:
    ranks = np.array([1, 2, 5, 11, np.inf])
    assert recall_from_ranks(ranks, (1, 5, 10)) == {"R@1": 20.0, "R@5": 60.0, "R@10": 60.0}
    with pytest.raises(ValueError, match="no queries"):
        recall_from_ranks(np.array([]), (1,))


def test_ranks_break_ties_against_the_query() -> None:
    ids = np.array([[7, 3, 9, -1], [7, 3, 9, -1], [1, 2, 3, 4]])
    scores = np.array([[0.9, 0.9, 0.5, -np.inf], [0.9, 0.8, 0.8, -np.inf], [0.4, 0.3, 0.2, 0.1]])
    positives = [frozenset({7}), frozenset({3, 9}), frozenset({8})]
    assert ranks_from_candidates(ids, positives).tolist() == [1, 2, np.inf]
    # with scores: row 0's correct 7 ties with wrong 3 -> rank 2; row 1's 3 ties only with correct 9 -> 2
    assert ranks_from_candidates(ids, positives, scores).tolist() == [2, 2, np.inf]


def test_t2a_ranks_from_hand_made_vectors_in_embedded_qdrant(client: QdrantClient) -> None:
    audio = np.eye(4, dtype=np.float32)  # audio point i = e_i
    # each caption's similarity to audio 0..3 is its row; the correct audio sits at a chosen rank
    captions = np.array(
        [
            [0.9, 0.5, 0.3, 0.1],
            [0.9, 0.5, 0.3, 0.1],
            [0.2, 0.8, 0.6, 0.4],
            [0.1, 0.2, 0.3, 0.9],
            [0.7, 0.1, 0.6, 0.2],
        ]
    )
    owner = [0, 1, 3, 0, 1]  # ranks: 1, 2, 3, 4, 4
    _collection(client, "audio", audio, "eval_index")
    ids, scores = exact_top(client, "audio", "v", captions, 4, "eval_index")
    assert ids[0].tolist() == [100, 101, 102, 103]  # payload key, not point id, is the target
    np.testing.assert_allclose(scores[0], captions[0] / np.linalg.norm(captions[0]), rtol=1e-5)
    ranks = ranks_from_candidates(ids - 100, [frozenset({o}) for o in owner], scores)
    assert ranks.tolist() == [1, 2, 3, 4, 4]
    assert recall_from_ranks(ranks, (1, 2, 4)) == {"R@1": 20.0, "R@2": 40.0, "R@4": 100.0}
    ids2, _ = exact_top(client, "audio", "v", captions, 2, "eval_index")  # limit below the rank: a miss
    assert ranks_from_candidates(ids2 - 100, [frozenset({o}) for o in owner]).tolist() == [
        1,
        2,
        *[np.inf] * 3,
    ]


def test_a2t_best_rank_among_ground_truth_captions(client: QdrantClient) -> None:
    texts = np.eye(5, dtype=np.float32)  # caption j = e_j
    queries = np.array([[0.1, 0.9, 0.8, 0.3, 0.2], [0.5, 0.4, 0.3, 0.2, 0.1]])
    positives = [frozenset({2, 4}), frozenset({3, 4})]  # best ranks: caption 2 at 2; caption 3 at 4
    _collection(client, "text", texts)
    ids, scores = exact_top(client, "text", "v", queries, 5, None)
    assert ids.tolist() == [[1, 2, 3, 4, 0], [0, 1, 2, 3, 4]]
    assert ranks_from_candidates(ids, positives, scores).tolist() == [2, 4]


def test_fuse_reorders_the_head_only_and_ignores_nothing_but_scores() -> None:
    ids = np.array([[5, 6, 7, 8], [1, 2, -1, -1]])
    scores = np.array([[0.75, 0.5, 0.25, 0.125], [0.5, 0.375, -np.inf, -np.inf]], dtype=np.float32)
    p = np.array([[0.0, 0.25, 1.0], [0.5, 0.25, np.nan]], dtype=np.float32)  # exact binary fractions
    same, _ = fuse(ids, scores, p, 0.0)
    assert same.tolist() == ids.tolist()
    fused, keys = fuse(ids, scores, p, 1.0)  # row 0: .75, .75, 1.25 -> 7, 5, 6 (tie keeps order), 8 after
    assert fused.tolist() == [[7, 5, 6, 8], [1, 2, -1, -1]]
    assert np.all(np.diff(keys[0]) <= 0) and keys[0, 1] == keys[0, 2]  # tie kept visible for ranking
    assert np.isneginf(keys[1, 2:]).all()
    assert ranks_from_candidates(fused, [frozenset({6}), frozenset({2})], keys).tolist() == [3, 2]  # 6 ties 5
    with pytest.raises(ValueError, match="alpha"):
        fuse(ids, scores, p, -1.0)


@pytest.fixture(scope="module")
def synthetic_items(tmp_path_factory: pytest.TempPathFactory) -> list[ManifestItem]:
    folder = tmp_path_factory.mktemp("eval_synth")
    return read_manifest(generate_dataset(folder, 10, seed=3, n_captions=3))


def test_end_to_end_equals_brute_force_recall(tiny_embedder, synthetic_items, client: QdrantClient) -> None:
    result = evaluate(synthetic_items, tiny_embedder, client=client, batch_size=4)
    assert isinstance(result, EvalResult) and not result.reranked
    assert (result.n_clips, result.n_captions) == (10, 30)
    text = tiny_embedder.embed_text([c for item in synthetic_items for c in item.captions])
    audio = tiny_embedder.embed_audio([item.audio for item in synthetic_items])
    owner = [i for i, item in enumerate(synthetic_items) for _ in item.captions]
    brute = recalls(text, audio, owner)
    for k in (1, 5, 10):
        assert result.t2a[f"R@{k}"] == pytest.approx(100 * brute[f"t2a_r{k}"])
        assert result.a2t[f"R@{k}"] == pytest.approx(100 * brute[f"a2t_r{k}"])
    assert result.t2a["R@10"] == 100.0  # only 10 clips: every caption's audio is in the top 10
    assert result.mean == pytest.approx(np.mean([*result.t2a.values(), *result.a2t.values()]))
    assert client.get_collections().collections == []  # temporary collections dropped from a given client


def test_index_stores_excerpts_and_shares_duplicate_audio(tiny_embedder, synthetic_items, client) -> None:
    a, b = synthetic_items[0], synthetic_items[1]
    items = [
        a,
        ManifestItem(audio=a.audio, captions=("the same clip again",)),  # same bytes, same bounds
        ManifestItem(audio=b.audio, captions=("an excerpt",), start_s=0.25, end_s=0.75),
    ]
    index = EvalIndex(client, tiny_embedder, items, batch_size=2).build()
    assert index.point_of_clip.tolist() == [0, 0, 1]
    assert index.store.count() == 2
    points, _ = client.scroll(index.audio_collection, with_payload=True)
    excerpt = next(p.payload for p in points if p.payload["eval_index"] == 1)
    assert (excerpt["start_s"], excerpt["end_s"]) == (0.25, 0.75)
    np.testing.assert_allclose(
        index.audio_vectors[2], tiny_embedder.embed_audio([index.audio_item(1)])[0], atol=1e-5
    )
    assert client.count(index.text_collection).count == len(a.captions) + 2
    t2a = index.text_to_audio(10)
    assert t2a.positives[len(a.captions)] == frozenset({0})  # the duplicate's caption points at point 0
    index.drop()
    assert client.get_collections().collections == []


def test_rejects_bad_arguments(tiny_embedder, synthetic_items: list[ManifestItem]) -> None:
    with pytest.raises(ValueError, match="k="):
        evaluate(synthetic_items, tiny_embedder, k=(0, 5))
    with pytest.raises(ValueError, match="no items"):
        evaluate([], tiny_embedder)


def test_missing_audio_raises_decode_error(tiny_embedder, tmp_path: Path) -> None:
    from aurola_qdrant.errors import AudioDecodeError

    with pytest.raises(AudioDecodeError):
        evaluate([ManifestItem(audio=tmp_path / "gone.wav", captions=("x",))], tiny_embedder)


@pytest.fixture(scope="module")
def tiny_reranker(tiny_thinker: Path):
    from aurola_qdrant.reranker import AurolaReranker

    return AurolaReranker.from_pretrained(tiny_thinker, device="cpu")


def test_reranked_t2a_matches_an_independent_fusion(tiny_embedder, tiny_reranker, synthetic_items) -> None:
    items, k_cand = synthetic_items[:6], 3
    result = evaluate(items, tiny_embedder, reranker=tiny_reranker, candidates=k_cand, alpha=2.0)
    assert result.reranked and result.alpha == {"t2a": 2.0, "a2t": 2.0} and result.candidates == k_cand
    assert result.retrieval is not None and not result.retrieval.reranked
    for key in ("R@5", "R@10"):  # re-ordering the top 3 cannot move anything into or out of a top 5
        assert result.t2a[key] == result.retrieval.t2a[key] and result.a2t[key] == result.retrieval.a2t[key]
    # independent: numpy cosine, top 3 per caption, P(Yes) of each, s + 2 p, rank of the right clip
    text = tiny_embedder.embed_text([c for item in items for c in item.captions])
    audio = tiny_embedder.embed_audio([item.audio for item in items])
    owner = [i for i, item in enumerate(items) for _ in item.captions]
    hits = 0
    for q, caption in enumerate(c for item in items for c in item.captions):
        sim = audio @ text[q]
        top = np.argsort(-sim)[:k_cand]
        p = tiny_reranker.score_text_to_audio(caption, [items[i].audio for i in top])
        hits += int(top[np.argmax(sim[top] + 2.0 * p)] == owner[q])
    assert result.t2a["R@1"] == pytest.approx(100.0 * hits / len(owner))
    same = evaluate(items, tiny_embedder, reranker=tiny_reranker, candidates=k_cand, alpha=0.0)
    assert (same.t2a, same.a2t) == (same.retrieval.t2a, same.retrieval.a2t)


def test_tune_alpha_picks_the_best_grid_value_on_validation(
    tiny_embedder, tiny_reranker, synthetic_items
) -> None:
    from trainer.evaluate import tune_alpha

    items, grid = synthetic_items[:6], (0.0, 0.5, 3.0)
    chosen = tune_alpha(items, tiny_embedder, tiny_reranker, candidates=3, grid=grid)
    assert set(chosen) == {"t2a", "a2t"} and all(a in grid for a in chosen.values())
    runs = {a: evaluate(items, tiny_embedder, reranker=tiny_reranker, candidates=3, alpha=a) for a in grid}
    for direction in ("t2a", "a2t"):
        # R@1 first, then the mean R@k (the tuning objective), computed independently from full evaluations
        score = {a: (getattr(r, direction)["R@1"], np.mean(list(getattr(r, direction).values())))
                 for a, r in runs.items()}  # fmt: skip
        assert score[chosen[direction]] == max(score.values())
        assert chosen[direction] == min(a for a in grid if score[a] == max(score.values()))  # ties: smaller
