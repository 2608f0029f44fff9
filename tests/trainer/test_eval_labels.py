"""Re-ranked evaluation never reads the test labels: corrupting the ground truth (which caption belongs to
which clip) leaves every fused ranking unchanged and only changes the scored recall; α tuning reads only
the validation data it is given."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import trainer.evaluate as ev
from trainer.manifest import ManifestItem, read_manifest
from trainer.synthetic import generate_dataset


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[ManifestItem]:
    return read_manifest(generate_dataset(tmp_path_factory.mktemp("labels"), 6, seed=11, n_captions=2))


@pytest.fixture(scope="module")
def reranker(tiny_thinker: Path):
    from aurola_qdrant.reranker import AurolaReranker

    return AurolaReranker.from_pretrained(tiny_thinker, device="cpu")


def _corrupt(items: list[ManifestItem]) -> list[ManifestItem]:
    """Same clips, same caption texts, but every clip carries the next clip's captions (all labels wrong)."""
    return [replace(item, captions=items[(i + 1) % len(items)].captions) for i, item in enumerate(items)]


def _fused_rankings(monkeypatch, items, embedder, reranker, alpha) -> tuple[dict, ev.EvalResult]:
    """Run `evaluate` and record each query's fused candidate list in label-free terms
    (caption text -> clip files; clip file -> caption texts)."""
    seen: dict = {}
    real_candidates, real_fuse = ev._candidates_and_p, ev.fuse
    state: dict = {}

    def candidates(index, *args, **kwargs):
        state["index"] = index
        return real_candidates(index, *args, **kwargs)

    def fuse(ids, scores, p, a):
        out_ids, keys = real_fuse(ids, scores, p, a)
        index = state["index"]
        direction = "t2a" if len(ids) == len(index.captions) else "a2t"
        for q, row in enumerate(out_ids):
            if direction == "t2a":
                query = index.captions[q]
                ranked = [str(index.point_audio[int(t)]) for t in row if t >= 0]
            else:
                query = str(index.items[q].audio)
                ranked = [index.captions[int(t)] for t in row if t >= 0]
            seen[(direction, query)] = (ranked, np.round(keys[q][: len(ranked)], 6).tolist())
        return out_ids, keys

    monkeypatch.setattr(ev, "_candidates_and_p", candidates)
    monkeypatch.setattr(ev, "fuse", fuse)
    result = ev.evaluate(items, embedder, reranker=reranker, candidates=4, alpha=alpha)
    return seen, result


def test_corrupted_test_labels_change_recall_but_not_one_fused_ranking(
    monkeypatch, tiny_embedder, reranker, items
) -> None:
    alpha = {"t2a": 0.7, "a2t": 1.3}
    true_rank, true_result = _fused_rankings(monkeypatch, items, tiny_embedder, reranker, alpha)
    bad_rank, bad_result = _fused_rankings(monkeypatch, _corrupt(items), tiny_embedder, reranker, alpha)
    assert len(true_rank) == sum(len(i.captions) for i in items) + len(
        items
    )  # every query of both directions
    assert bad_rank == true_rank  # identical orderings and fused scores, query by query
    assert bad_result.alpha == true_result.alpha == alpha
    # ... while the scoring did read the (corrupted) labels: recall differs
    assert (bad_result.t2a, bad_result.a2t) != (true_result.t2a, true_result.a2t)
    assert true_result.t2a["R@10"] == 100.0 and bad_result.t2a["R@10"] == 100.0  # 6 clips: all listed


def test_alpha_tuning_sees_only_the_validation_items(monkeypatch, tiny_embedder, reranker, items) -> None:
    validation, test = items[:3], items[3:]
    touched: list[str] = []
    real_open = ev._Session.open

    def spy(self, items_, *args, **kwargs):
        touched.extend(str(i.audio) for i in items_)
        return real_open(self, items_, *args, **kwargs)

    monkeypatch.setattr(ev._Session, "open", spy)
    grid = (0.0, 0.5, 2.0)
    chosen = ev.tune_alpha(validation, tiny_embedder, reranker, candidates=3, grid=grid)
    assert set(touched) == {str(i.audio) for i in validation}  # no test clip (or label) was read
    again = ev.tune_alpha(validation, tiny_embedder, reranker, candidates=3, grid=grid)
    assert again == chosen and set(chosen.values()) <= set(grid)
    # the test result with the tuned alpha does not depend on the test labels either
    a, _ = _fused_rankings(monkeypatch, test, tiny_embedder, reranker, chosen)
    b, _ = _fused_rankings(monkeypatch, _corrupt(test), tiny_embedder, reranker, chosen)
    assert a == b
