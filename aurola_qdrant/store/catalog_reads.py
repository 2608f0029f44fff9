"""Queries over catalog points (`aurola_qdrant.store.catalog`): one ranking over the dense and the
multivector named vectors, and the window of each multivector hit that matched.

Both vectors score a text query by cosine: the dense one directly, the ``MAX_SIM`` multivector by the
best window's cosine (a one-row query multivector, so MAX_SIM's sum over query rows is that one maximum).
The two rankings are therefore on one scale and are merged by score client-side, from one
``query_batch_points`` of two requests, each asked for ``offset + limit`` points.

Which window matched is computed client-side: Qdrant returns a multivector hit's score, not the row that
produced it. After the merge, the multivector hits of the returned page are read once more
(``retrieve`` with that vector only) and their windows scored against the query; the best one's bounds
come from the point's marker. Cost: one extra round trip per page and ``n_windows x dim`` floats per
multivector hit (a 3-minute recording in 10 s windows at dim 2048: 18 x 2048 x 4 B = 147 KB, about 0.9 MB
as REST JSON), nothing for dense hits. Candidates that lose the merge never send their vectors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qdrant_client import models

from ._net import Net
from .catalog import CatalogLayout, CatalogMarker

__all__ = ["FUSIONS", "RESCORE_OVERSAMPLING", "CatalogPoint", "query_catalog", "rescoring_params"]

#: Candidates fetched by quantized scores per hit returned, then rescored with the original vectors.
RESCORE_OVERSAMPLING = 2.0

#: Qdrant's fusion methods, by the names the API and CLI take.
FUSIONS = {"rrf": models.Fusion.RRF, "dbsf": models.Fusion.DBSF}


@dataclass(frozen=True)
class CatalogPoint:
    """A catalog hit: the Qdrant point (the team's id and payload) and the window that matched
    (``(0, duration)`` for a dense vector; None when the marker is unreadable)."""

    point: models.ScoredPoint
    window: tuple[float, float] | None
    window_index: int | None


def _requests(
    layout: CatalogLayout,
    vector: list[float],
    n: int,
    query_filter: models.Filter | None,
    score_threshold: float | None,
    search_params: models.SearchParams | None,
) -> list[models.QueryRequest]:
    common: dict[str, Any] = dict(
        filter=query_filter,
        limit=n,
        with_payload=True,
        with_vector=False,
        score_threshold=score_threshold,
        params=search_params,
    )
    return [
        models.QueryRequest(query=vector, using=layout.dense, **common),
        models.QueryRequest(query=[vector], using=layout.windows, **common),
    ]


def rescoring_params(collection: models.CollectionInfo, layout: CatalogLayout) -> models.SearchParams | None:
    """Oversampled quantized search rescored with the original vectors (Qdrant does both) when either of
    our vectors is quantized; None otherwise (the search is then on the original vectors already)."""
    vectors = collection.config.params.vectors
    params = vectors if isinstance(vectors, dict) else {}
    if not any(getattr(params.get(n), "quantization_config", None) for n in (layout.dense, layout.windows)):
        return None
    q = models.QuantizationSearchParams(rescore=True, oversampling=RESCORE_OVERSAMPLING)
    return models.SearchParams(quantization=q)


def _matched(rows: Any, query: np.ndarray) -> int | None:
    arr = np.asarray(rows, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != query.shape[0]:
        return None
    return int(np.argmax(arr @ query))


def _fused(
    net: Net,
    layout: CatalogLayout,
    q: np.ndarray,
    fuse_with: Mapping[str, Any],
    fusion: str,
    *,
    limit: int,
    offset: int,
    query_filter: models.Filter | None,
    candidates: int,
    search_params: models.SearchParams | None,
) -> list[tuple[models.ScoredPoint, bool]]:
    """Qdrant's own fusion (RRF or DBSF) of our two vectors' rankings and the team's vectors'."""
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {sorted(FUSIONS)}, got {fusion!r}")
    ours = [(layout.dense, q.tolist()), (layout.windows, [q.tolist()])]
    theirs = [(name, np.asarray(v, dtype=np.float32).tolist()) for name, v in fuse_with.items()]
    prefetch = [
        models.Prefetch(query=v, using=name, limit=candidates, filter=query_filter)
        for name, v in ours + theirs
    ]
    response = net.call(
        "query_points",
        prefetch=prefetch,
        query=models.FusionQuery(fusion=FUSIONS[fusion]),
        limit=limit,
        offset=offset or None,
        with_payload=True,
        with_vectors=False,
    )
    out = []
    for p in response.points:
        marker = CatalogMarker.from_payload((p.payload or {}).get(layout.marker_key))
        out.append((p, marker is not None and marker.vector == layout.windows))
    return out


def query_catalog(
    net: Net,
    layout: CatalogLayout,
    vector: np.ndarray | Sequence[float],
    *,
    limit: int,
    offset: int = 0,
    query_filter: models.Filter | None = None,
    score_threshold: float | None = None,
    search_params: models.SearchParams | None = None,
    fuse_with: Mapping[str, Any] | None = None,
    fusion: str = "rrf",
    candidates: int = 50,
) -> list[CatalogPoint]:
    """The catalog points ranked ``offset .. offset + limit`` for ``vector`` (``(dim,)``), best first.

    ``fuse_with`` (``{vector name: query vector}`` for the team's own vectors) ranks by Qdrant's fusion
    (``fusion``: ``"rrf"`` or ``"dbsf"``) of each vector's top ``candidates`` instead: scores are then
    fusion scores, not cosines, and ``score_threshold`` is not applied. Our dense and windows vectors
    enter as two rankings (each recording is in exactly one of them), so under RRF the best short and
    the best long recording get the same credit from our side.
    """
    q = np.asarray(vector, dtype=np.float32).reshape(-1)
    if q.shape[0] != layout.info.dim:
        raise ValueError(f"query vector has {q.shape[0]} dimensions, the collection's {layout.info.dim}")
    if fuse_with:
        ranked = _fused(
            net, layout, q, fuse_with, fusion, limit=limit, offset=offset, query_filter=query_filter,
            candidates=max(candidates, offset + limit), search_params=search_params,
        )  # fmt: skip
    else:
        requests = _requests(layout, q.tolist(), offset + limit, query_filter, score_threshold, search_params)
        dense, multi = net.call("query_batch_points", requests=requests)
        ranked = sorted(
            [(p, False) for p in dense.points] + [(p, True) for p in multi.points], key=lambda x: -x[0].score
        )[offset : offset + limit]
    return _with_windows(net, layout, q, ranked)


def _with_windows(
    net: Net, layout: CatalogLayout, q: np.ndarray, ranked: list[tuple[models.ScoredPoint, bool]]
) -> list[CatalogPoint]:
    """Each hit with the window that matched (module docstring: one ``retrieve`` of the multivectors)."""
    multi_ids = [p.id for p, is_multi in ranked if is_multi]
    rows: dict[Any, Any] = {}
    if multi_ids:
        records = net.call("retrieve", ids=multi_ids, with_payload=False, with_vectors=[layout.windows])
        rows = {r.id: (r.vector or {}).get(layout.windows) for r in records}
    out = []
    for point, is_multi in ranked:
        marker = CatalogMarker.from_payload((point.payload or {}).get(layout.marker_key))
        index = _matched(rows.get(point.id), q) if is_multi else (0 if marker is not None else None)
        window = None
        if marker is not None and index is not None and index < len(marker.windows):
            window = marker.windows[index]
        out.append(CatalogPoint(point, window, index))
    return out
