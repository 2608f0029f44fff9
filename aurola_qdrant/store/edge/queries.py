"""Vector queries on Qdrant Edge: ``query_points``, batches, and grouping, which Edge 0.9.0's Python API
does not have (`groups`).

Grouping is exact: the engine walks the ranking in score order, in rounds that skip the points already
seen and the groups already full, until ``limit`` groups are found and each holds ``group_size`` hits
(or the candidates run out). Every round is one Edge query; the first asks for ``3 x limit x group_size``
points, which is usually the only one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import qdrant_edge as edge
from qdrant_client import models

from .filters import edge_filter
from .points import scored_point, with_payload, with_vector

__all__ = ["groups", "request"]

_MAX_ROUND = 10_000


def _vector(query: Any) -> list[float] | list[list[float]]:
    """A dense query vector, or a multivector (rows) for a ``MAX_SIM`` multivector field."""
    if isinstance(query, models.NearestQuery):
        query = query.nearest
    if isinstance(query, np.ndarray):
        return query.astype(np.float32, copy=False).tolist()
    if isinstance(query, list | tuple) and query and not isinstance(query[0], list | tuple):
        return [float(x) for x in query]
    if isinstance(query, list | tuple) and query and all(isinstance(r, list | tuple) and r for r in query):
        return [[float(x) for x in row] for row in query]
    raise ValueError(f"query {query!r:.80} is not supported by the embedded Qdrant Edge store: pass a vector")


#: Qdrant's default RRF constant (``k``), as the server and qdrant-client's local mode use it
RRF_K = 2


def _scoring(query: Any, using: str | None) -> Any:
    """A nearest-vector query, or Qdrant's fusion of the prefetches (`models.FusionQuery`)."""
    if isinstance(query, models.FusionQuery):
        if query.fusion == models.Fusion.RRF:
            return edge.Fusion.Rrf(k=RRF_K)
        return edge.Fusion.Dbsf()
    return edge.Query.Nearest(_vector(query), using=using or "")


def _search_params(sp: models.SearchParams | None) -> Any:
    """HNSW, exact and quantization (oversampling, rescore) search parameters for Edge."""
    if sp is None:
        return None
    q = sp.quantization
    quantization = None
    if q is not None:
        quantization = edge.QuantizationSearchParams(
            ignore=bool(q.ignore), rescore=q.rescore, oversampling=q.oversampling
        )
    return edge.SearchParams(
        hnsw_ef=sp.hnsw_ef,
        exact=bool(sp.exact),
        quantization=quantization,
        indexed_only=bool(sp.indexed_only),
    )


def _prefetches(prefetch: Any, flags: frozenset[str]) -> list[Any] | None:
    """qdrant-client's ``prefetch`` (one `models.Prefetch` or a list; nearest-vector stages) for Edge."""
    if prefetch is None:
        return None
    stages = prefetch if isinstance(prefetch, list) else [prefetch]
    return [
        edge.Prefetch(
            limit=p.limit if p.limit is not None else 10,
            query=_scoring(p.query, p.using),
            prefetches=_prefetches(p.prefetch, flags),
            filter=edge_filter(p.filter, flags),
            score_threshold=p.score_threshold,
            params=_search_params(p.params),
        )
        for p in stages
    ]


def request(
    flags: frozenset[str],
    *,
    query: Any,
    using: str | None = None,
    prefetch: Any = None,
    limit: int = 10,
    offset: int | None = None,
    query_filter: models.Filter | None = None,
    filter: models.Filter | None = None,
    with_payload: Any = True,
    with_vectors: Any = False,
    score_threshold: float | None = None,
    search_params: models.SearchParams | None = None,
    params: models.SearchParams | None = None,
    **_: Any,
) -> Any:
    """An Edge `QueryRequest` from qdrant-client's ``query_points`` arguments (or a `models.QueryRequest`):
    a nearest-vector query, or a `models.FusionQuery` (RRF, DBSF) over nearest-vector ``prefetch`` stages."""
    sp = search_params or params
    edge_params = None
    if sp is not None:
        edge_params = _search_params(sp)
    return edge.QueryRequest(
        limit=limit,
        offset=offset,
        query=_scoring(query, using),
        prefetches=_prefetches(prefetch, flags),
        filter=edge_filter(query_filter if query_filter is not None else filter, flags),
        with_payload=_payload_selector(with_payload),
        with_vector=with_vector(with_vectors),
        score_threshold=score_threshold,
        params=edge_params,
    )


def _payload_selector(selector: Any) -> Any:
    return selector if isinstance(selector, bool) else with_payload(selector)


def _values(payload: dict[str, Any] | None, key: str) -> list[Any]:
    value = (payload or {}).get(key)
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str | int)]


def _round_filter(
    base: models.Filter | None, key: str, seen: list[Any], full: list[Any], only: list[Any] | None
) -> models.Filter:
    must: list[Any] = [base] if base is not None else []
    if only is not None:
        must.append(models.FieldCondition(key=key, match=models.MatchAny(any=only)))
    must_not: list[Any] = [models.HasIdCondition(has_id=seen)] if seen else []
    if full:
        must_not.append(models.FieldCondition(key=key, match=models.MatchAny(any=full)))
    return models.Filter(must=must or None, must_not=must_not or None)


def groups(
    shard: Any,
    flags: frozenset[str],
    *,
    group_by: str,
    limit: int = 10,
    group_size: int = 1,
    query_filter: models.Filter | None = None,
    with_payload: Any = True,
    **kw: Any,
) -> models.GroupsResult:
    """qdrant-client's ``query_points_groups`` on one shard (see the module docstring)."""
    found: dict[Any, list[models.ScoredPoint]] = {}
    seen: list[Any] = []
    # the group field is needed to group, whatever the caller asked of the payload
    fetch: Any = True
    if with_payload is False:
        fetch = [group_by]
    elif isinstance(with_payload, models.PayloadSelectorInclude | list | tuple):
        keys = list(
            with_payload.include if isinstance(with_payload, models.PayloadSelectorInclude) else with_payload
        )
        fetch = [*keys, group_by]
    ask = min(_MAX_ROUND, max(3 * limit * group_size, 16))
    while True:
        full = [g for g, hits in found.items() if len(hits) >= group_size]
        only = list(found) if len(found) >= limit else None
        if only is not None and len(full) >= limit:
            break
        f = _round_filter(query_filter, group_by, seen, full, only)
        batch = shard.query(request(flags, query_filter=f, limit=ask, with_payload=fetch, **kw))
        for p in batch:
            hit = scored_point(p, flags)
            seen.append(hit.id)
            for g in _values(hit.payload, group_by):
                if g in found or len(found) < limit:
                    hits = found.setdefault(g, [])
                    if len(hits) < group_size:
                        hits.append(hit)
        if len(batch) < ask:
            break
        ask = min(_MAX_ROUND, ask * 2)
    ranked = sorted(found.items(), key=lambda kv: -kv[1][0].score)[:limit]
    if with_payload is False:
        ranked = [(g, [h.model_copy(update={"payload": None}) for h in hits]) for g, hits in ranked]
    return models.GroupsResult(groups=[models.PointGroup(id=g, hits=hits) for g, hits in ranked])
