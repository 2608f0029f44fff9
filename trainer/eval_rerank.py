"""Re-ranking for evaluation: P(Yes) of each query's top-K candidates, fusion ``s + alpha * p_yes``.

The fusion (METHOD.md, Re-ranker) is per query and per direction and uses nothing but the retrieval score
``s`` (cosine from Qdrant), the re-ranker's ``p_yes`` and ``alpha``: the ground truth never enters it. It is
only used afterwards to read off ranks, and by `trainer.evaluate.tune_alpha` on validation data.
"""

from __future__ import annotations

import logging

import numpy as np

from aurola_qdrant.protocols import Reranker
from aurola_qdrant.search.fusion import DIRECTIONS

from .eval_index import Candidates, EvalIndex

__all__ = ["DIRECTIONS", "Reranker", "fuse", "rerank_probabilities"]

logger = logging.getLogger(__name__)


def rerank_probabilities(
    index: EvalIndex, reranker: Reranker, direction: str, candidates: Candidates, k: int
) -> np.ndarray:
    """P(Yes) of the top ``k`` candidates of every query: (n_queries, k) float32, NaN where no candidate.

    t2a: query = caption text, candidates = audio points; a2t: query = clip audio, candidates = captions.
    Costs n_queries * k re-ranker forward passes.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction={direction!r}; use one of {DIRECTIONS}")
    ids = candidates.ids[:, :k]  # (n_queries, k)
    out = np.full(ids.shape, np.nan, dtype=np.float32)  # (n_queries, k)
    for q in range(ids.shape[0]):
        valid = ids[q][ids[q] >= 0]
        if valid.size == 0:
            continue
        if direction == "t2a":
            scores = reranker.score_text_to_audio(index.captions[q], [index.decoded(int(p)) for p in valid])
        else:
            audio = index.decoded(int(index.point_of_clip[q]))
            scores = reranker.score_audio_to_text(audio, [index.captions[int(j)] for j in valid])
        scores = np.asarray(scores, dtype=np.float32)
        if scores.shape != valid.shape:
            raise ValueError(f"re-ranker returned {scores.shape} scores for {valid.size} candidates")
        out[q, : valid.size] = scores
        if (q + 1) % 100 == 0:
            logger.info("re-ranked %s: %d/%d queries", direction, q + 1, ids.shape[0])
    return out


def fuse(
    ids: np.ndarray, scores: np.ndarray, p_yes: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Re-order each row's first ``k = p_yes.shape[1]`` candidates by ``scores + alpha * p_yes``.

    Args:
        ids: (n, limit) candidate target indices, best retrieval score first, -1 padding.
        scores: (n, limit) retrieval scores (cosine), non-increasing along each row.
        p_yes: (n, k) re-ranker probabilities for the first k columns, k <= limit (NaN = no candidate).
        alpha: weight of p_yes (>= 0); 0 keeps the retrieval order.

    Returns:
        (ids, keys), both (n, limit): columns < k re-sorted by the fused score (stable: ties keep the
        retrieval order), columns >= k in retrieval order below them. ``keys`` is non-increasing along each
        row and equal exactly where two candidates tie (fused head; cosine, shifted below the head, in the
        tail), so ranks can break ties consistently. Padding (-1, key -inf) stays last.
    """
    k = p_yes.shape[1]
    if ids.shape != scores.shape or p_yes.shape[0] != ids.shape[0] or k > ids.shape[1]:
        raise ValueError(f"shapes disagree: ids {ids.shape}, scores {scores.shape}, p_yes {p_yes.shape}")
    if not alpha >= 0:
        raise ValueError(f"alpha={alpha!r}; use a weight >= 0 (published choices range 0.1-3.0)")
    valid = ids >= 0  # (n, limit)
    head = scores[:, :k].astype(np.float64) + alpha * np.nan_to_num(p_yes, nan=0.0)  # (n, k)
    head = np.where(valid[:, :k], head, -np.inf)  # (n, k) padding sorts last
    order = np.argsort(-head, axis=1, kind="stable")  # (n, k)
    out_ids = ids.copy()
    out_ids[:, :k] = np.take_along_axis(ids[:, :k], order, axis=1)
    keys = np.where(valid, scores.astype(np.float64), -np.inf)  # (n, limit)
    keys[:, :k] = np.take_along_axis(head, order, axis=1)
    if k < ids.shape[1]:  # shift the tail below the head's lowest fused score, keeping its ties
        finite_head = np.where(np.isfinite(keys[:, :k]), keys[:, :k], np.inf).min(axis=1)  # (n,)
        tail_top = np.where(valid[:, k:], keys[:, k:], -np.inf).max(axis=1)  # (n,)
        shift = np.where(np.isfinite(finite_head) & np.isfinite(tail_top), finite_head - tail_top - 1.0, 0.0)
        keys[:, k:] += shift[:, None]
    return out_ids, keys
