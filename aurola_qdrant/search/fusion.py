"""Score fusion: ``final = cosine + alpha * P(Yes)``, per query and per direction (METHOD.md, Re-ranker).

Alpha resolution, first that applies: the ``alpha`` argument of the call; the re-ranker's own
``default_alpha(direction)`` (`AurolaReranker`: the registry's 0.9 for the released re-rankers, a local
folder's tuned ``aurola_reranker.json``, else 1.0); `DEFAULT_ALPHA` = 1.0 for a re-ranker object without
``default_alpha``. METHOD.md reports published choices from 0.1 to 3.0 by dataset and direction.

This module is the one source of the fusion knobs: the direction names (`DIRECTIONS`), `DEFAULT_ALPHA`
and the validation grid `ALPHA_GRID` that evaluation (`trainer.evaluate.tune_alpha`) and re-ranker
training (`trainer.rerank_config`) both tune over.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from ..errors import AurolaError
from .hits import SearchHit

__all__ = [
    "ALPHA_GRID",
    "DEFAULT_ALPHA",
    "DIRECTIONS",
    "Direction",
    "check_counts",
    "fuse_and_sort",
    "fusion_plan",
    "resolve_alpha",
    "score_candidates",
    "want_rerank",
]

logger = logging.getLogger(__name__)

Direction = Literal["t2a", "a2t"]
DIRECTIONS: tuple[Direction, Direction] = ("t2a", "a2t")  # text->audio, audio->text
DEFAULT_ALPHA = 1.0  # weight of P(Yes) when nothing else says (also the re-ranker config's fallback)

# The alpha values tuned on validation data. 0 first: it means "no re-ranking", so with ties going to the
# smaller value the fused validation R@1 is never below retrieval alone. Then small weights (a weakly
# trained re-ranker may only help as a tie-breaker) and the published range 0.1-3.0 in steps of 0.1.
ALPHA_GRID: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, *(round(0.1 * i, 1) for i in range(1, 31)))


def resolve_alpha(alpha: float | None, reranker: Any, direction: Direction) -> float:
    """The fusion weight for ``direction`` (module docstring): ``alpha``, else the re-ranker's own
    (`Reranker.default_alpha`), else `DEFAULT_ALPHA` (also for a scorer without one: evaluation and
    tests pass plain scorers here). Raises ValueError unless finite and >= 0."""
    if alpha is None:
        default = getattr(reranker, "default_alpha", None)
        alpha = float(default(direction)) if callable(default) else DEFAULT_ALPHA
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not math.isfinite(alpha) or alpha < 0:
        raise ValueError(
            f"alpha must be a finite number >= 0 (weight of P(Yes) in the fusion), got {alpha!r}"
        )
    return float(alpha)


def _checked(p: Any, n: int) -> np.ndarray:
    arr = np.asarray(p, dtype=np.float64).reshape(-1)
    if arr.shape != (n,) or not np.isfinite(arr).all():
        raise AurolaError(
            f"the re-ranker returned {arr.shape} scores for {n} candidates (or non-finite ones)"
        )
    return np.clip(arr, 0.0, 1.0)


def score_candidates(
    items: Sequence[Any], score: Callable[[list[Any]], Any]
) -> tuple[dict[int, float], dict[int, str]]:
    """Run ``score`` (one re-ranker call) over ``items``; returns ``({index: p_yes}, {index: error})``.

    One batched call first. If it raises one of our input/decode errors (an item the model cannot take,
    e.g. audio too short or too long), each item is scored alone so that only the offending ones are
    flagged; any other exception (out of memory, a bug) propagates.
    """
    if not items:
        return {}, {}
    try:
        values = _checked(score(list(items)), len(items))
        return {i: float(v) for i, v in enumerate(values)}, {}
    except (AurolaError, ValueError) as err:
        logger.warning(
            "batched re-ranking failed (%s); re-scoring the %d candidates one by one", err, len(items)
        )
    scores: dict[int, float] = {}
    errors: dict[int, str] = {}
    for i, item in enumerate(items):
        try:
            scores[i] = float(_checked(score([item]), 1)[0])
        except (AurolaError, ValueError) as err:
            errors[i] = f"{type(err).__name__}: {err}"
    return scores, errors


def fuse_and_sort(
    hits: Sequence[SearchHit],
    scores: dict[int, float],
    errors: dict[int, str],
    alpha: float,
    limit: int,
) -> list[SearchHit]:
    """Fuse re-ranker scores into ``hits`` (indices into it), sort by final score, keep ``limit``.

    Hits without a score keep their retrieval score and carry their error (missing ones get a generic
    reason), so nothing is silently dropped before the cut. Ties keep the retrieval order.
    """
    fused: list[SearchHit] = []
    for i, hit in enumerate(hits):
        if i in scores:
            fused.append(hit.reranked(scores[i], alpha))
        else:
            reason = errors.get(i, "not scored by the re-ranker")
            logger.warning("candidate %s (%s) not re-ranked: %s", hit.id, hit.source or hit.text, reason)
            fused.append(hit.failed(reason))
    order = sorted(range(len(fused)), key=lambda i: (-fused[i].score, i))
    return [fused[i] for i in order[:limit]]


def check_counts(limit: int, candidates: int) -> None:
    """Validate ``limit`` and ``candidates`` (both integers >= 1)."""
    for name, value in (("limit", limit), ("candidates", candidates)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def fusion_plan(
    rerank: bool | None, alpha: float | None, reranker: Any, direction: Direction
) -> tuple[bool, float]:
    """``(re-ranking?, alpha)`` for one search: what `AudioSearch`/`TextSearch` do and callers report.

    With alpha 0 the fused score is the cosine, so the re-ranked order equals the retrieval order."""
    reranking = want_rerank(rerank, reranker)
    return reranking, resolve_alpha(alpha, reranker, direction) if reranking else 0.0


def want_rerank(rerank: bool | None, reranker: Any) -> bool:
    """Whether to re-rank: ``rerank=None`` means "when a re-ranker was given".

    Raises ValueError for ``rerank=True`` without a re-ranker."""
    if rerank and reranker is None:
        raise ValueError(
            "rerank=True needs a re-ranker: pass reranker=AurolaReranker.from_pretrained(...) to the search"
        )
    return reranker is not None if rerank is None else bool(rerank)
