"""Pure pieces of the query adapter: hits, alpha resolution, batched scoring fallback, filter parsing."""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client import models

from aurola_qdrant.errors import InputError
from aurola_qdrant.search import DEFAULT_ALPHA, SearchHit, resolve_alpha
from aurola_qdrant.search.filters import parse_filters
from aurola_qdrant.search.fusion import fuse_and_sort, score_candidates


def _hit(i: int, cos: float) -> SearchHit:
    return SearchHit(
        id=f"id{i}", score=cos, retrieval_score=cos, source=f"/a/{i}.wav", start_s=0.0, end_s=1.0
    )


def test_search_hit_validates_and_copies_payload() -> None:
    meta = {"k": 1}
    hit = SearchHit("x", 0.5, 0.5, payload=meta)
    meta["k"] = 2
    assert hit.payload == {"k": 1}
    with pytest.raises(ValueError, match="finite"):
        SearchHit("x", float("nan"), 0.5)
    with pytest.raises(ValueError, match="probability"):
        SearchHit("x", 0.5, 0.5, rerank_score=1.5)
    assert hit.reranked(0.25, 2.0).score == pytest.approx(1.0)
    flagged = hit.reranked(0.25, 2.0).failed("gone")
    assert (flagged.score, flagged.rerank_score, flagged.rerank_error) == (0.5, None, "gone")


class _Judge:
    def __init__(self, alpha: float | None = None) -> None:
        if alpha is not None:
            self.default_alpha = lambda direction: {"t2a": alpha, "a2t": 2 * alpha}[direction]


def test_alpha_precedence() -> None:
    assert resolve_alpha(0.3, _Judge(0.7), "t2a") == 0.3
    assert resolve_alpha(None, _Judge(0.7), "a2t") == pytest.approx(1.4)
    assert resolve_alpha(None, _Judge(), "t2a") == DEFAULT_ALPHA
    for bad in (-1.0, float("inf"), True):
        with pytest.raises(ValueError, match="alpha"):
            resolve_alpha(bad, None, "t2a")


def test_batched_scoring_falls_back_to_flag_only_the_bad_item() -> None:
    calls: list[int] = []

    def score(items):
        calls.append(len(items))
        if "bad" in items:
            raise InputError("too short to embed")
        return np.array([0.1 * len(x) for x in items])

    scores, errors = score_candidates(["a", "bad", "ccc"], score)
    assert scores == pytest.approx({0: 0.1, 2: 0.3}) and list(errors) == [1] and "too short" in errors[1]
    assert calls == [3, 1, 1, 1]
    assert score_candidates(["a", "bb"], score) == ({0: pytest.approx(0.1), 1: pytest.approx(0.2)}, {})


def test_fuse_and_sort_keeps_unscored_hits_and_ties_in_retrieval_order() -> None:
    hits = [_hit(0, 0.9), _hit(1, 0.8), _hit(2, 0.7), _hit(3, 0.6)]
    out = fuse_and_sort(hits, {0: 0.0, 1: 0.5, 3: 0.25}, {2: "AudioDecodeError: missing"}, alpha=1.2, limit=4)
    # fused: id0 0.9, id1 1.4, id2 0.7 (unreadable: keeps its cosine), id3 0.9 (ties id0, retrieved later)
    assert [h.id for h in out] == ["id1", "id0", "id3", "id2"]
    assert out[3].rerank_error == "AudioDecodeError: missing" and out[3].score == 0.7
    assert [h.id for h in fuse_and_sort(hits, {}, {}, alpha=1.0, limit=2)] == ["id0", "id1"]
    tie = fuse_and_sort([_hit(0, 0.5), _hit(1, 0.5)], {0: 0.5, 1: 0.5}, {}, alpha=1.0, limit=1)
    assert [h.id for h in tie] == ["id0"]


def test_parse_filters() -> None:
    assert parse_filters([]) is None
    f = parse_filters(["category=dog", "n=3", "ok=true", "start_s>=10", "end_s<20.5", "x=1.5", "lang!=en"])
    assert f is not None and f.must is not None and f.must_not is not None
    by_key = {c.key: c for c in f.must}
    assert by_key["category"].match == models.MatchValue(value="dog")
    assert by_key["n"].match == models.MatchValue(value=3)
    assert by_key["ok"].match == models.MatchValue(value=True)
    assert by_key["start_s"].range == models.Range(gte=10.0)
    assert by_key["end_s"].range == models.Range(lt=20.5)
    assert by_key["x"].range == models.Range(gte=1.5, lte=1.5)
    assert f.must_not[0].key == "lang" and f.must_not[0].match == models.MatchValue(value="en")
    assert parse_filters(["path=a=b"]).must[0].match == models.MatchValue(value="a=b")
    for bad in ("oops", "=x", "k=", "start_s>=soon", "start_s>nan"):
        with pytest.raises(InputError):
            parse_filters([bad])
