"""Points in and out of Qdrant Edge: qdrant-client's points, selectors and payloads to Edge's types, and
Edge's records and scored points back to qdrant-client's models (string ids, never `uuid.UUID`; flag
fields back to booleans)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
import qdrant_edge as edge
from qdrant_client import models

from .filters import edge_id

__all__ = [
    "client_id",
    "decode_payload",
    "edge_point",
    "edge_vector",
    "encode_payload",
    "record",
    "scored_point",
    "with_payload",
    "with_vector",
]


def client_id(point_id: Any) -> Any:
    """An id as qdrant-client returns it: a UUID as its string, an int as it is."""
    return str(point_id) if isinstance(point_id, uuid.UUID) else point_id


def encode_payload(payload: Mapping[str, Any] | None, flags: frozenset[str]) -> dict[str, Any]:
    """``payload`` with flag fields as 0/1 (see `CollectionMeta`)."""
    out = dict(payload or {})
    for key in flags & out.keys():
        if isinstance(out[key], bool):
            out[key] = int(out[key])
    return out


def decode_payload(payload: Mapping[str, Any] | None, flags: frozenset[str]) -> dict[str, Any] | None:
    if payload is None:
        return None
    out = dict(payload)
    for key in flags & out.keys():
        if isinstance(out[key], int) and not isinstance(out[key], bool):
            out[key] = bool(out[key])
    return out


def _dense(values: Any) -> Any:
    if isinstance(values, np.ndarray):
        return values.astype(np.float32, copy=False).tolist()
    if isinstance(values, models.SparseVector):
        return edge.SparseVector(list(values.indices), list(values.values))
    return [float(x) for x in values] if not (values and isinstance(values[0], list)) else values


def edge_vector(vector: Any) -> Any:
    """A point's vector(s): a plain list is the unnamed vector, a dict maps names to vectors."""
    if isinstance(vector, Mapping):
        return {name: _dense(v) for name, v in vector.items()}
    return {"": _dense(vector)}


def edge_point(p: models.PointStruct, flags: frozenset[str]) -> Any:
    return edge.Point(edge_id(p.id), edge_vector(p.vector), encode_payload(p.payload, flags))


def with_payload(selector: Any) -> Any:
    """qdrant-client's ``with_payload`` (bool, list of keys, include/exclude selector) for Edge."""
    if selector is None:
        return True
    if isinstance(selector, bool):
        return selector
    if isinstance(selector, models.PayloadSelectorInclude):
        return edge.PayloadSelector.Include(list(selector.include))
    if isinstance(selector, models.PayloadSelectorExclude):
        return edge.PayloadSelector.Exclude(list(selector.exclude))
    return edge.PayloadSelector.Include(list(selector))


def with_vector(selector: Any) -> Any:
    """``with_vectors`` for Edge: it must be given explicitly (Edge's retrieve has no default)."""
    if selector is None:
        return False
    return selector if isinstance(selector, bool) else list(selector)


def _vector_out(vector: Any) -> Any:
    if vector is None:
        return None
    if isinstance(vector, Mapping) and list(vector) == [""]:
        return vector[""]
    return dict(vector)


def record(r: Any, flags: frozenset[str]) -> models.Record:
    return models.Record(
        id=client_id(r.id), payload=decode_payload(r.payload, flags), vector=_vector_out(r.vector)
    )


def scored_point(p: Any, flags: frozenset[str]) -> models.ScoredPoint:
    return models.ScoredPoint(
        id=client_id(p.id),
        version=int(p.version),
        score=float(p.score),
        payload=decode_payload(p.payload, flags),
        vector=_vector_out(p.vector),
    )
