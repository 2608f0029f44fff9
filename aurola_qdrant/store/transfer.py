"""`copy_collection`: one collection from one engine to another (embedded -> server, server -> embedded,
local mode -> Edge), through the store's door and its retry policy.

What is copied: every point's id, vectors and payload, the collection's named vectors (size, distance
and storage settings), its metadata (the embedder identity records) and its payload indexes.

Resumable and idempotent: points are read in pages and a page's points are written only where the
destination lacks them or differs (payload, or a vector by more than 1e-6), so a rerun after a crash goes
on where it stopped and a rerun after success writes nothing. Completion flags (``complete_<vector>``)
are copied last, after every point (and after the destination made them durable), so an interrupted copy
never shows a file complete whose points are not all there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from qdrant_client import models

from ..retry import QDRANT_RETRY, RetryPolicy
from ._net import Net
from .config import StoreConfig
from .embedder_info import EmbedderInfo
from .records import COMPLETE_PREFIX
from .schema import payload_index_plan, recorded_embedders

__all__ = ["CopyReport", "copy_collection"]

_TOLERANCE = 1e-6


@dataclass
class CopyReport:
    """What one copy did: points seen in the source, points written, completion flags written."""

    collection: str
    target: str
    points: int = 0
    written: int = 0
    flags: int = 0
    created: bool = False


def _flagless(payload: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (payload or {}).items() if not k.startswith(COMPLETE_PREFIX)}


def _vectors(v: Any) -> dict[str, np.ndarray]:
    if v is None:
        return {}
    if isinstance(v, dict):
        return {k: np.asarray(x, dtype=np.float64) for k, x in v.items()}
    return {"": np.asarray(v, dtype=np.float64)}


def _same(a: models.Record, b: models.Record) -> bool:
    if _flagless(a.payload) != _flagless(b.payload):
        return False
    va, vb = _vectors(a.vector), _vectors(b.vector)
    return va.keys() == vb.keys() and all(
        va[k].shape == vb[k].shape and float(np.max(np.abs(va[k] - vb[k]), initial=0.0)) <= _TOLERANCE
        for k in va
    )


def _ensure_target(src: Net, dst: Net) -> bool:
    described = src.call("get_collection")
    config = described.config
    vectors = config.params.vectors
    created = False
    if not dst.call("collection_exists"):
        dst.call("create_collection", vectors_config=vectors, metadata=dict(config.metadata or {}))
        created = True
    else:
        have = dst.call("get_collection").config.params.vectors
        want = {"": vectors} if isinstance(vectors, models.VectorParams) else dict(vectors or {})
        have = {"": have} if isinstance(have, models.VectorParams) else dict(have or {})
        for name, params in want.items():
            got = have.get(name)
            if got is not None and (got.size != params.size or got.distance != params.distance):
                raise ValueError(
                    f"collection {dst.collection!r} at the destination has vector {name!r} of size "
                    f"{got.size} ({got.distance}), the source's is {params.size} ({params.distance}): "
                    "copy to another name"
                )
            if got is None:
                dense = models.DenseVectorConfig(size=params.size, distance=params.distance)
                dst.call(
                    "create_vector_name",
                    vector_name=name,
                    vector_name_config=models.DenseVectorNameConfig(dense=dense),
                )
        if config.metadata:
            dst.call("update_collection", metadata=dict(config.metadata))
    existing = dst.call("get_collection").payload_schema or {}
    for field, schema in _indexes(described).items():
        if field not in existing:
            dst.call("create_payload_index", field_name=field, field_schema=schema, wait=True)
    return created


def _indexes(described: models.CollectionInfo) -> dict[str, models.PayloadSchemaType]:
    """The source's payload indexes, plus the store's own for every recorded embedder (local mode keeps
    no indexes, so a collection read from it names none)."""
    out: dict[str, models.PayloadSchemaType] = {}
    for info in recorded_embedders(described).values():
        if isinstance(info, EmbedderInfo):
            out.update(payload_index_plan(info, StoreConfig()))
    for field, index in (described.payload_schema or {}).items():
        if index.data_type is not None:
            out[field] = models.PayloadSchemaType(index.data_type)
    return out


def _copy_points(
    src: Net, dst: Net, batch: int, report: CopyReport, progress: Callable[[CopyReport], None] | None
) -> None:
    offset = None
    while True:
        page, offset = src.call("scroll", limit=batch, offset=offset, with_payload=True, with_vectors=True)
        if page:
            there = dst.call("retrieve", ids=[p.id for p in page], with_payload=True, with_vectors=True)
            known = {str(p.id): p for p in there}
            todo = [p for p in page if str(p.id) not in known or not _same(p, known[str(p.id)])]
            if todo:
                points = [
                    models.PointStruct(id=p.id, vector=p.vector or {}, payload=_flagless(p.payload))
                    for p in todo
                ]
                dst.call("upsert", points=points, wait=True)
            report.points += len(page)
            report.written += len(todo)
            if progress is not None:
                progress(report)
        if offset is None:
            return


def _copy_flags(src: Net, dst: Net, batch: int, report: CopyReport) -> None:
    fields = [f for f in _indexes(src.call("get_collection")) if f.startswith(COMPLETE_PREFIX)]
    for field in fields:
        flagged = models.Filter(must=[models.FieldCondition(key=field, match=models.MatchValue(value=True))])
        offset = None
        while True:
            page, offset = src.call(
                "scroll",
                scroll_filter=flagged,
                limit=batch,
                offset=offset,
                with_payload=False,
                with_vectors=False,
            )
            ids = [p.id for p in page]
            if ids:
                there = dst.call("retrieve", ids=ids, with_payload=[field], with_vectors=False)
                missing = [p.id for p in there if (p.payload or {}).get(field) is not True]
                if missing:
                    dst.call("set_payload", payload={field: True}, points=missing, wait=True)
                    report.flags += len(missing)
            if offset is None:
                break


def copy_collection(
    source: Any,
    target: Any,
    collection: str,
    *,
    to_collection: str | None = None,
    batch: int = 256,
    retry: RetryPolicy | None = None,
    progress: Callable[[CopyReport], None] | None = None,
) -> CopyReport:
    """Copy ``collection`` from the ``source`` engine to ``target`` (as ``to_collection``, default the same
    name); see the module docstring for what is copied and the resume rule.

    Raises:
        ValueError: no such collection at the source, or the destination's vector has another size.
        StoreUnavailableError: an engine stayed unreachable past the retry budget.
    """
    policy = retry if retry is not None else QDRANT_RETRY
    src, dst = Net(source, collection, policy), Net(target, to_collection or collection, policy)
    if not src.call("collection_exists"):
        raise ValueError(f"no collection named {collection!r} at the source")
    report = CopyReport(collection, dst.collection)
    report.created = _ensure_target(src, dst)
    _copy_points(src, dst, batch, report, progress)
    dst.call_optional("flush")  # the points durable before any flag (as in writes.mark_file_complete)
    _copy_flags(src, dst, batch, report)
    dst.call_optional("flush")
    return report
