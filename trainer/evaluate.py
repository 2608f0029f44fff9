"""Retrieval evaluation through Qdrant: text->audio and audio->text R@1/5/10 (METHOD.md, Evaluation protocol).

The test clips' audio vectors are stored in an audio collection with `AudioStore` (the deployed path) and
their captions in a caption collection; every caption then queries the audio collection (T2A: one correct
audio) and every clip queries the caption collection (A2T: its rank is the best rank among its own
captions). Recall is read off the ranks Qdrant returns, searched exactly (``SearchParams(exact=True)``; an
embedded client is brute force anyway), so numbers from a server equal numbers from local mode.

Whole clips are embedded as they are, never chunked (as the official evaluation); an excerpt given by a
manifest's ``start_s``/``end_s`` is embedded alone and stored with those bounds.

With a re-ranker, each query's top ``candidates`` are re-scored and re-ordered by ``s + alpha * p_yes``
per query and per direction; ``alpha`` comes from the caller, from `tune_alpha` on validation data, or
from the re-ranker's own default, never from the test labels.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from qdrant_client import QdrantClient

from aurola_qdrant.protocols import Embedder
from aurola_qdrant.search.fusion import ALPHA_GRID
from trainer.manifest import ManifestItem

from .eval_index import Candidates, EvalIndex
from .eval_rerank import DIRECTIONS, Reranker, fuse, rerank_probabilities

__all__ = [
    "DEFAULT_ALPHA_GRID",
    "EvalResult",
    "evaluate",
    "ranks_from_candidates",
    "recall_from_ranks",
    "tune_alpha",
]

logger = logging.getLogger(__name__)
# the fusion module's one grid (0, small values, 0.1-3.0), the same as train-reranker's
DEFAULT_ALPHA_GRID = ALPHA_GRID


@dataclass(frozen=True)
class EvalResult:
    """Recall in percent. ``t2a``/``a2t`` map ``"R@k"`` to a value; ``mean`` averages all of them.

    With re-ranking, ``alpha`` holds the weight used per direction and ``retrieval`` the numbers of the
    same run before re-ranking (same candidates, alpha = 0).
    """

    t2a: Mapping[str, float]
    a2t: Mapping[str, float]
    mean: float
    n_clips: int
    n_captions: int
    reranked: bool = False
    candidates: int | None = None
    alpha: Mapping[str, float] | None = None
    retrieval: EvalResult | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ranks_from_candidates(
    ids: np.ndarray, positives: Sequence[frozenset[int]], scores: np.ndarray | None = None
) -> np.ndarray:
    """1-based rank of the first correct target in each row of ``ids`` (n, limit); inf if none is listed.

    With ``scores`` (n, limit, non-increasing per row), a wrong target scoring exactly as high as the best
    correct one counts as ranked above it (ties broken against the query, as `trainer.metrics` does), so
    the ranks do not depend on the order in which Qdrant returns tied points.
    """
    ranks = np.full(ids.shape[0], np.inf)  # (n,)
    for q, row in enumerate(ids):
        correct = np.isin(row, list(positives[q]))  # (limit,)
        hits = np.flatnonzero(correct)
        if not hits.size:
            continue
        first = int(hits[0])
        if scores is None:
            ranks[q] = first + 1
        else:
            ranks[q] = int(((scores[q] >= scores[q, first]) & ~correct & (row >= 0)).sum()) + 1
    return ranks


def recall_from_ranks(ranks: np.ndarray, k: Sequence[int]) -> dict[str, float]:
    """``{"R@k": percent of ranks <= k}`` for each k. Raises ValueError on an empty rank array."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise ValueError("no queries to compute recall over")
    return {f"R@{kk}": float(100.0 * np.mean(ranks <= kk)) for kk in k}


Ranked = tuple[np.ndarray, np.ndarray, Sequence[frozenset[int]]]  # ids, keys, positives


def _recall(ranked: Ranked, k: Sequence[int]) -> dict[str, float]:
    ids, keys, positives = ranked
    return recall_from_ranks(ranks_from_candidates(ids, positives, keys), k)


def _result(directions: Mapping[str, Ranked], k: Sequence[int], index: EvalIndex, **extra: Any) -> EvalResult:
    recalls = {d: _recall(ranked, k) for d, ranked in directions.items()}
    values = [v for r in recalls.values() for v in r.values()]
    return EvalResult(
        recalls["t2a"], recalls["a2t"], float(np.mean(values)), len(index.items), len(index.captions), **extra
    )


def _check_k(k: Sequence[int], candidates: int | None) -> int:
    if not k or any(isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in k):
        raise ValueError(f"k={k!r}; give positive integers such as (1, 5, 10)")
    if candidates is not None and candidates < 1:
        raise ValueError(f"candidates={candidates!r}; re-rank at least 1 candidate per query (METHOD.md: 50)")
    return max(10, *k, candidates or 0)  # query_points limit


def _alphas(alpha: float | Mapping[str, float] | None, reranker: Reranker) -> dict[str, float]:
    if alpha is None:
        return {d: float(reranker.default_alpha(d)) for d in DIRECTIONS}
    if isinstance(alpha, Mapping):
        missing = [d for d in DIRECTIONS if d not in alpha]
        if missing:
            raise ValueError(f"alpha={dict(alpha)!r} lacks {missing}; give one weight per direction")
        return {d: float(alpha[d]) for d in DIRECTIONS}
    return {d: float(alpha) for d in DIRECTIONS}


class _Session:
    """Builds the index on the given client (or a fresh in-memory one) and cleans up after itself."""

    def __init__(self, client: QdrantClient | None, keep: bool) -> None:
        self.own = client is None
        self.client = QdrantClient(":memory:") if client is None else client
        self.keep = keep
        self.index: EvalIndex | None = None

    def open(self, items: Sequence[ManifestItem], embedder: Embedder, batch_size: int) -> EvalIndex:
        self.index = EvalIndex(self.client, embedder, items, batch_size=batch_size)
        return self.index.build()

    def close(self) -> None:
        if self.index is not None and not self.keep and not self.own:
            self.index.drop()
        if self.own:
            self.client.close()


def _candidates_and_p(
    index: EvalIndex, limit: int, reranker: Reranker | None, candidates: int | None
) -> dict[str, tuple[Candidates, np.ndarray | None]]:
    out: dict[str, tuple[Candidates, np.ndarray | None]] = {}
    for direction, query in (("t2a", index.text_to_audio), ("a2t", index.audio_to_text)):
        cand = query(limit)
        p = None
        if reranker is not None and candidates is not None:
            p = rerank_probabilities(index, reranker, direction, cand, candidates)
        out[direction] = (cand, p)
    return out


def evaluate(
    items: Sequence[ManifestItem],
    embedder: Embedder,
    *,
    client: QdrantClient | None = None,
    k: Sequence[int] = (1, 5, 10),
    batch_size: int = 256,
    reranker: Reranker | None = None,
    candidates: int = 50,
    alpha: float | Mapping[str, float] | None = None,
    keep_collections: bool = False,
) -> EvalResult:
    """Evaluate ``embedder`` (and optionally ``reranker``) on ``items`` through Qdrant.

    Args:
        items: the test clips (`trainer.manifest.read_manifest`); every caption of a clip is a T2A query.
        client: a Qdrant client (server or embedded); None uses a private ``QdrantClient(":memory:")``.
            On a given client two collections ``aurola-eval-<random>-audio/-text`` are created and dropped
            afterwards unless ``keep_collections``.
        k: recall cut-offs; Qdrant is asked for ``max(10, *k, candidates)`` hits per query.
        batch_size: clips or captions embedded and stored per round (bounds decoded audio in memory).
        reranker: re-score each query's top ``candidates`` with P(Yes) and fuse ``s + alpha * p_yes``.
        alpha: one weight, or ``{"t2a": a, "a2t": b}``; None takes ``reranker.default_alpha(direction)``.

    Returns:
        `EvalResult` in percent. Raises AudioDecodeError/AudioTooLongError for unusable clips, ValueError
        for bad arguments, StoreUnavailableError when a Qdrant server stays unreachable.
    """
    limit = _check_k(k, candidates if reranker is not None else None)
    session = _Session(client, keep_collections)
    try:
        index = session.open(items, embedder, batch_size)
        found = _candidates_and_p(index, limit, reranker, candidates if reranker is not None else None)
    finally:
        session.close()
    base = _result({d: (c.ids, c.scores, c.positives) for d, (c, _) in found.items()}, k, index)
    if reranker is None:
        return base
    alphas = _alphas(alpha, reranker)
    fused = {
        d: (*fuse(c.ids, c.scores, p, alphas[d]), c.positives) for d, (c, p) in found.items() if p is not None
    }
    return _result(fused, k, index, reranked=True, candidates=candidates, alpha=alphas, retrieval=base)


def tune_alpha(
    validation_items: Sequence[ManifestItem],
    embedder: Embedder,
    reranker: Reranker,
    *,
    client: QdrantClient | None = None,
    candidates: int = 50,
    grid: Sequence[float] = ALPHA_GRID,
    k: Sequence[int] = (1, 5, 10),
    batch_size: int = 256,
) -> dict[str, float]:
    """Choose alpha per direction on VALIDATION data: the grid value with the best R@1 (the smallest k, the
    headline metric of the paper's tables), ties broken by the mean R@k, then by the smaller alpha — so a
    grid that holds 0 never picks a fusion that is worse than retrieval alone on validation R@1.

    Re-ranker probabilities are computed once; each grid value only re-sorts. Never pass the test set here:
    the test numbers would then be tuned on their own labels.
    """
    if not grid or any(not a >= 0 for a in grid):
        raise ValueError(f"grid={grid!r}; give non-negative alpha values, e.g. ALPHA_GRID")
    limit = _check_k(k, candidates)
    session = _Session(client, False)
    try:
        index = session.open(validation_items, embedder, batch_size)
        found = _candidates_and_p(index, limit, reranker, candidates)
    finally:
        session.close()
    alphas = sorted(float(a) for a in grid)
    best: dict[str, float] = {}
    for direction, (cand, p) in found.items():
        assert p is not None  # candidates was given, so every direction was re-ranked
        recalls = [_recall((*fuse(cand.ids, cand.scores, p, a), cand.positives), k) for a in alphas]
        keys = [(r[f"R@{min(k)}"], float(np.mean(list(r.values())))) for r in recalls]
        top = max(keys)
        best[direction] = alphas[keys.index(top)]  # index() takes the first, i.e. smallest, best alpha
        logger.info(
            "alpha %s = %.2f (R@%d %.2f, mean R@k %.2f on validation)",
            direction,
            best[direction],
            min(k),
            *top,
        )
    return best
