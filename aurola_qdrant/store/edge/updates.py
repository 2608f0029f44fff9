"""qdrant-client's write operations as Qdrant Edge `UpdateOperation`s.

Edge 0.9.0 applies one operation per ``update`` call and has no mixed batch, so a ``batch_update_points``
becomes its operations in order (`operations`). They are not atomic together; the store's writes are
idempotent (deterministic ids, set-to-value payloads), so a batch cut short by a crash is completed by
the rerun, exactly as a retried server batch would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from .filters import edge_filter, edge_id
from .points import edge_point, edge_vector, encode_payload

__all__ = ["Selection", "operations", "selection"]

_MODES = {
    models.UpdateMode.UPSERT: edge.UpdateMode.Upsert,
    models.UpdateMode.INSERT_ONLY: edge.UpdateMode.InsertOnly,
    models.UpdateMode.UPDATE_ONLY: edge.UpdateMode.UpdateOnly,
}


class Selection:
    """Which points an operation touches: a list of ids or an Edge filter."""

    def __init__(self, ids: list[Any] | None, filter_: Any) -> None:
        self.ids, self.filter = ids, filter_


def selection(points: Any, flags: frozenset[str]) -> Selection:
    """qdrant-client's ``points``/``points_selector`` (ids, `PointIdsList`, `Filter`, `FilterSelector`)."""
    if isinstance(points, models.FilterSelector):
        return Selection(None, edge_filter(points.filter, flags))
    if isinstance(points, models.Filter):
        return Selection(None, edge_filter(points, flags))
    if isinstance(points, models.PointIdsList):
        return Selection([edge_id(i) for i in points.points], None)
    return Selection([edge_id(i) for i in points], None)


def _points(upsert: Any, flags: frozenset[str]) -> list[Any]:
    if isinstance(upsert, models.PointsBatch):
        b = upsert.batch
        payloads: list[Any] = list(b.payloads) if b.payloads else [None for _ in b.ids]
        if isinstance(b.vectors, dict):
            vectors = [{k: v[i] for k, v in b.vectors.items()} for i in range(len(b.ids))]
        else:
            vectors = list(b.vectors)  # type: ignore[arg-type]
        return [
            edge_point(models.PointStruct(id=i, vector=v, payload=p), flags)
            for i, v, p in zip(b.ids, vectors, payloads, strict=True)
        ]
    return [edge_point(p, flags) for p in upsert.points]


def upsert(points: Any, flags: frozenset[str]) -> Any:
    mode = getattr(points, "update_mode", None)
    condition = getattr(points, "update_filter", None)
    return edge.UpdateOperation.upsert_points(
        _points(points, flags),
        condition=edge_filter(condition, flags),
        update_mode=_MODES[mode] if mode is not None else None,
    )


def set_payload(payload: dict[str, Any], sel: Selection, flags: frozenset[str], key: str | None) -> Any:
    value = encode_payload(payload, flags)
    if sel.ids is not None:
        return edge.UpdateOperation.set_payload(sel.ids, value, key)
    return edge.UpdateOperation.set_payload_by_filter(sel.filter, value, key)


def delete_payload(keys: list[str], sel: Selection) -> Any:
    if sel.ids is not None:
        return edge.UpdateOperation.delete_payload(sel.ids, list(keys))
    return edge.UpdateOperation.delete_payload_by_filter(sel.filter, list(keys))


def delete_vectors(names: list[str], sel: Selection) -> Any:
    if sel.ids is not None:
        return edge.UpdateOperation.delete_vectors(sel.ids, list(names))
    return edge.UpdateOperation.delete_vectors_by_filter(sel.filter, list(names))


def delete_points(sel: Selection) -> Any:
    if sel.ids is not None:
        return edge.UpdateOperation.delete_points(sel.ids)
    return edge.UpdateOperation.delete_points_by_filter(sel.filter)


def _selector(op: Any, flags: frozenset[str]) -> Selection:
    return selection(op.points if op.points is not None else models.FilterSelector(filter=op.filter), flags)


def operations(ops: list[Any], flags: frozenset[str]) -> Iterator[tuple[Any, bool]]:
    """Each of ``ops`` (qdrant-client `UpdateOperation`s) as ``(edge operation, touches_data)``;
    ``touches_data`` is False for a write of flag fields only (see `EdgeEngine.flush`)."""
    for op in ops:
        if isinstance(op, models.UpsertOperation):
            yield upsert(op.upsert, flags), True
        elif isinstance(op, models.UpdateVectorsOperation):
            u = op.update_vectors
            pv = [edge.PointVectors(edge_id(p.id), edge_vector(p.vector)) for p in u.points]
            yield edge.UpdateOperation.update_vectors(pv, edge_filter(u.update_filter, flags)), True
        elif isinstance(op, models.SetPayloadOperation):
            s = op.set_payload
            yield set_payload(s.payload, _selector(s, flags), flags, s.key), not s.payload.keys() <= flags
        elif isinstance(op, models.OverwritePayloadOperation):
            s = op.overwrite_payload
            sel = _selector(s, flags)
            value = encode_payload(s.payload, flags)
            if sel.ids is not None:
                yield edge.UpdateOperation.overwrite_payload(sel.ids, value, s.key), True
            else:
                yield edge.UpdateOperation.overwrite_payload_by_filter(sel.filter, value, s.key), True
        elif isinstance(op, models.DeletePayloadOperation):
            dp = op.delete_payload
            yield delete_payload(dp.keys, _selector(dp, flags)), True
        elif isinstance(op, models.DeleteVectorsOperation):
            dv = op.delete_vectors
            yield delete_vectors(dv.vector, _selector(dv, flags)), True
        elif isinstance(op, models.DeleteOperation):
            yield delete_points(selection(op.delete, flags)), True
        elif isinstance(op, models.ClearPayloadOperation):
            sel = selection(op.clear_payload, flags)
            if sel.ids is not None:
                yield edge.UpdateOperation.clear_payload(sel.ids), True
            else:
                yield edge.UpdateOperation.clear_payload_by_filter(sel.filter), True
        else:
            raise ValueError(f"update operation {type(op).__name__} is not supported by the Edge store")
