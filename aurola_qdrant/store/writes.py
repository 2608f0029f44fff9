"""Writes: segment upserts that never clobber other embedders, completion flags, extra sources, deletion.

Why not a plain ``upsert``: it replaces the *whole* point, so re-storing a segment that already carries
another embedder's vector would delete that vector (and the point's extra ``sources``). Each batch is
therefore one ``retrieve`` of its ids (ids and ``sources`` only) followed by one ``batch_update_points``:

* new points: ``upsert`` with ``update_mode=insert_only`` (full payload and our vector);
* existing points: ``update_vectors`` (our vector only) and, where the path is new, ``set_payload`` of the
  extended ``sources`` list. Their other payload fields (first writer's) are left as they are.

Known race: if two *different* embedders store the same content for the first time in the same instant,
the insert-only of the later one is skipped and its vector is missing on that point; re-running the file
(which is not marked complete if the writer crashed) or re-upserting repairs it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from qdrant_client import models

from ._net import Net
from .config import JSON_BYTES_PER_DIM, REQUEST_BUDGET_BYTES, StoreConfig
from .embedder_info import EmbedderInfo
from .records import SegmentRecord, complete_field

__all__ = ["add_source", "delete_file", "file_filter", "mark_file_complete", "upsert_segments"]

logger = logging.getLogger(__name__)
_PAGE = 1000


def file_filter(file_id: str) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key="file_id", match=models.MatchValue(value=file_id))])


def _check_vectors(records: Sequence[SegmentRecord], vectors: np.ndarray, dim: int) -> np.ndarray:
    arr = np.asarray(vectors)
    if arr.ndim != 2 or arr.shape != (len(records), dim):
        raise ValueError(f"vectors must have shape (len(records)={len(records)}, dim={dim}), got {arr.shape}")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(f"vectors must be finite; row {bad} ({records[bad].source!r}) has NaN/inf")
    return arr


def _batches(records: Sequence[SegmentRecord], info: EmbedderInfo, config: StoreConfig) -> list[list[int]]:
    """Row indices per request: at most batch_size rows and, in auto mode, under the byte budget."""
    cap = config.batch_size(info.dim)
    out: list[list[int]] = [[]]
    used = 0
    for i, record in enumerate(records):
        size = info.dim * JSON_BYTES_PER_DIM + len(json.dumps(record.payload())) + 200
        limit_bytes = config.upsert_batch_size is None and used + size > REQUEST_BUDGET_BYTES
        if out[-1] and (len(out[-1]) >= cap or limit_bytes):
            out.append([])
            used = 0
        out[-1].append(i)
        used += size
    return [batch for batch in out if batch]


def _write_batch(net: Net, info: EmbedderInfo, rows: dict[str, tuple[SegmentRecord, list[float]]]) -> None:
    found = net.call(
        "retrieve",
        ids=list(rows),
        with_payload=models.PayloadSelectorInclude(include=["sources"]),
        with_vectors=False,
    )
    known = {str(p.id): list((p.payload or {}).get("sources") or []) for p in found}
    file_sources: dict[str, list[str]] = {}  # paths already recorded for each file in this batch
    for pid, sources in known.items():
        merged = file_sources.setdefault(rows[pid][0].file_id, [])
        merged.extend(s for s in sources if s not in merged)
    new_points: list[models.PointStruct] = []
    updates: list[models.PointVectors] = []
    extend: dict[tuple[str, ...], list[str]] = {}  # extended sources list -> existing point ids
    for pid, (record, vector) in rows.items():
        if pid not in known:
            payload = record.payload()
            payload["sources"] = [*file_sources.get(record.file_id, []), record.source]
            payload["sources"] = list(dict.fromkeys(payload["sources"]))
            new_points.append(models.PointStruct(id=pid, vector={info.vector_name: vector}, payload=payload))
            continue
        updates.append(models.PointVectors(id=pid, vector={info.vector_name: vector}))
        if record.source not in known[pid]:
            extend.setdefault(tuple([*known[pid], record.source]), []).append(pid)
    ops: list[Any] = []
    if new_points:
        insert = models.PointsList(points=new_points, update_mode=models.UpdateMode.INSERT_ONLY)
        ops.append(models.UpsertOperation(upsert=insert))
    if updates:
        ops.append(models.UpdateVectorsOperation(update_vectors=models.UpdateVectors(points=updates)))
    for extended, ids in extend.items():
        payload_op = models.SetPayload(payload={"sources": list(extended)}, points=list(ids))
        ops.append(models.SetPayloadOperation(set_payload=payload_op))
    net.call("batch_update_points", update_operations=ops, wait=True)


def upsert_segments(
    net: Net,
    info: EmbedderInfo,
    config: StoreConfig,
    records: Sequence[SegmentRecord],
    vectors: np.ndarray,
) -> int:
    """Store ``records`` with ``vectors`` (shape ``(len(records), info.dim)``); returns the points written.

    Idempotent: ids are deterministic, re-storing adds no point. Duplicate records (same id) in one call
    are written once (the last row wins). Raises ValueError on a shape mismatch or non-finite vectors.
    """
    arr = _check_vectors(records, vectors, info.dim)
    written = 0
    for batch in _batches(records, info, config):
        rows = {records[i].point_id: (records[i], arr[i].tolist()) for i in batch}
        _write_batch(net, info, rows)
        written += len(rows)
    logger.debug("stored %d segment(s) in %r", written, net.collection)
    return written


def mark_file_complete(net: Net, info: EmbedderInfo, file_id: str) -> None:
    """Set ``complete_<vector_name> = true`` on every point of ``file_id`` (one request).

    Call it only after all the file's segments were stored; it is what a resumed ingest trusts. A file
    with no stored point has nothing to carry the flag, so it never shows up as complete.

    Durable completion: the engine first makes the points durable (``flush``, on engines that need it:
    Qdrant Edge), so a power loss can lose the flag (the file is redone) but never leave it on a file whose
    points are missing.
    """
    net.call_optional("flush")
    net.call(
        "set_payload",
        payload={complete_field(info.vector_name): True},
        points=file_filter(file_id),
        wait=True,
    )


def add_source(net: Net, file_id: str, source: str) -> int:
    """Append ``source`` to ``sources`` of every point of ``file_id`` lacking it; returns points changed."""
    if not isinstance(source, str) or not source:
        raise ValueError(f"source must be a non-empty path or URI string, got {source!r}")
    groups: dict[tuple[str, ...], list[Any]] = {}
    offset = None
    while True:
        points, offset = net.call(
            "scroll",
            scroll_filter=file_filter(file_id),
            limit=_PAGE,
            offset=offset,
            with_payload=models.PayloadSelectorInclude(include=["sources"]),
            with_vectors=False,
        )
        for p in points:
            sources = tuple((p.payload or {}).get("sources") or [])
            if source not in sources:
                groups.setdefault(sources, []).append(p.id)
        if offset is None:
            break
    for sources, ids in groups.items():
        net.call("set_payload", payload={"sources": [*sources, source]}, points=ids, wait=True)
    return sum(len(ids) for ids in groups.values())


def delete_file(net: Net, info: EmbedderInfo, file_id: str, *, all_embedders: bool = False) -> None:
    """Remove ``file_id`` for this embedder: its vector and completion flag, then points left vector-less.

    With ``all_embedders=True`` every point of the file is deleted, whatever vectors it carries.
    """
    selector = models.FilterSelector(filter=file_filter(file_id))
    if all_embedders:
        net.call("delete", points_selector=selector, wait=True)
        return
    net.call("delete_vectors", vectors=[info.vector_name], points=selector, wait=True)
    net.call("delete_payload", keys=[complete_field(info.vector_name)], points=selector, wait=True)
    vectors = net.call("get_collection").config.params.vectors
    names = [""] if isinstance(vectors, models.VectorParams) else list(vectors or {})
    empty = models.Filter(
        must=[models.FieldCondition(key="file_id", match=models.MatchValue(value=file_id))],
        must_not=[models.HasVectorCondition(has_vector=name) for name in names],
    )
    net.call("delete", points_selector=models.FilterSelector(filter=empty), wait=True)
