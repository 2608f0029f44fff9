"""Reads: completed files (for resuming), counts, vector queries and retrieval."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from qdrant_client import models

from ._net import Net
from .embedder_info import EmbedderInfo
from .records import complete_field

__all__ = ["completed_file_ids", "completed_paths", "count", "query", "query_groups", "retrieve"]

_PAGE = 1000  # points per scroll page and candidate ids per MatchAny filter


def _complete_heads(info: EmbedderInfo) -> list[models.Condition]:
    # only head points (segment_index 0): one point per file instead of one per segment
    return [
        models.FieldCondition(key=complete_field(info.vector_name), match=models.MatchValue(value=True)),
        models.FieldCondition(key="segment_index", match=models.MatchValue(value=0)),
    ]


def _scroll_heads(
    net: Net, conditions: list[models.Condition], fields: list[str]
) -> Iterator[dict[str, Any]]:
    offset = None
    while True:
        points, offset = net.call(
            "scroll",
            scroll_filter=models.Filter(must=conditions),
            limit=_PAGE,
            offset=offset,
            with_payload=models.PayloadSelectorInclude(include=fields),
            with_vectors=False,
        )
        yield from (p.payload or {} for p in points)
        if offset is None:
            return


def _scroll_file_ids(net: Net, conditions: list[models.Condition]) -> set[str]:
    return {str(payload["file_id"]) for payload in _scroll_heads(net, conditions, ["file_id"])}


def completed_paths(net: Net, info: EmbedderInfo) -> tuple[int, int]:
    """``(files, paths)`` complete for ``info.vector_name``: distinct contents, and the paths they were
    seen under (``sources``; the same audio under two paths is one file and two paths)."""
    files = paths = 0
    for payload in _scroll_heads(net, _complete_heads(info), ["sources"]):
        files += 1
        paths += max(1, len(payload.get("sources") or []))
    return files, paths


def completed_file_ids(net: Net, info: EmbedderInfo, candidates: Iterable[str] | None = None) -> set[str]:
    """File ids marked complete for ``info.vector_name``.

    ``candidates=None`` pages through all complete head points (1000 per request). With candidates, they
    are checked 1000 at a time with a ``MatchAny`` filter: 100k candidates cost ~100 requests, never one
    per file. Only ``file_id`` is fetched, no vectors.
    """
    if candidates is None:
        return _scroll_file_ids(net, _complete_heads(info))
    wanted = sorted(set(candidates))
    found: set[str] = set()
    for start in range(0, len(wanted), _PAGE):
        chunk = wanted[start : start + _PAGE]
        match = models.FieldCondition(key="file_id", match=models.MatchAny(any=chunk))
        found |= _scroll_file_ids(net, [*_complete_heads(info), match])
    return found


def count(net: Net, info: EmbedderInfo, file_id: str | None = None) -> int:
    """Exact number of points carrying ``info``'s vector (of ``file_id`` only, when given)."""
    conditions: list[models.Condition] = [models.HasVectorCondition(has_vector=info.vector_name)]
    if file_id is not None:
        conditions.append(models.FieldCondition(key="file_id", match=models.MatchValue(value=file_id)))
    return int(net.call("count", count_filter=models.Filter(must=conditions), exact=True).count)


def _query_vector(vector: np.ndarray | Sequence[float], dim: int) -> list[float]:
    arr = np.asarray(vector, dtype=np.float32)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.shape != (dim,):
        raise ValueError(f"query vector must have shape ({dim},) (or (1, {dim})), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("query vector must be finite (no NaN/inf)")
    return [float(x) for x in arr]


def query(
    net: Net,
    info: EmbedderInfo,
    vector: np.ndarray | Sequence[float],
    *,
    limit: int,
    query_filter: models.Filter | None,
    with_payload: bool | Sequence[str],
    score_threshold: float | None,
    offset: int = 0,
) -> list[models.ScoredPoint]:
    response = net.call(
        "query_points",
        query=_query_vector(vector, info.dim),
        using=info.vector_name,
        limit=limit,
        offset=offset or None,
        query_filter=query_filter,
        with_payload=with_payload,
        with_vectors=False,
        score_threshold=score_threshold,
    )
    return list(response.points)


def query_groups(
    net: Net,
    info: EmbedderInfo,
    vector: np.ndarray | Sequence[float],
    *,
    group_by: str,
    limit: int,
    group_size: int,
    query_filter: models.Filter | None,
    with_payload: bool | Sequence[str],
) -> list[models.PointGroup]:
    response = net.call(
        "query_points_groups",
        group_by=group_by,
        query=_query_vector(vector, info.dim),
        using=info.vector_name,
        limit=limit,
        group_size=group_size,
        query_filter=query_filter,
        with_payload=with_payload,
        with_vectors=False,
    )
    return list(response.groups)


def retrieve(
    net: Net, ids: Sequence[Any], *, with_vectors: bool | Sequence[str] = False
) -> list[models.Record]:
    return list(net.call("retrieve", ids=list(ids), with_payload=True, with_vectors=with_vectors))
