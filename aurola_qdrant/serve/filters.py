"""Request filters: Qdrant's filter JSON, checked for shape and for payload fields the collection has.

`parse_filter` turns the JSON into `qdrant_client.models.Filter` (unknown filter keys, such as ``"muts"``,
are refused, named by where they are) and refuses conditions on payload fields the collection does not
know: its payload indexes (a server's schema; the store's planned indexes where local mode keeps none),
the store's own fields, and the metadata keys seen in a sample of its points (`FieldCatalog`).
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from pydantic import ValidationError
from qdrant_client import models

from ..store import AudioStore
from ..store._net import Net
from ..store.records import COMPLETE_PREFIX, RESERVED_FIELDS
from .errors import ApiError

__all__ = ["FieldCatalog", "filter_keys", "parse_filter"]

_SAMPLE = 256  # points whose payload keys are read to learn the metadata fields
_TTL_S = 60.0


def _shape_error(err: ValidationError) -> str:
    extra = [e for e in err.errors() if e["type"] == "extra_forbidden"]
    first = extra[0] if extra else err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if not str(p).startswith(("list[", "union[", "`")))
    if extra:
        return f"unknown key {str(first['loc'][-1])!r} in the filter (at {loc}); see Qdrant's filter syntax"
    return f"invalid filter at {loc or 'top level'}: {first['msg']}"


def filter_keys(flt: Any) -> set[str]:
    """Every payload key a filter's conditions name (nested filters included)."""
    keys: set[str] = set()
    if isinstance(flt, models.Filter):
        for part in (flt.must, flt.should, flt.must_not, flt.min_should and flt.min_should.conditions):
            for cond in [part] if isinstance(part, models.Filter | models.FieldCondition) else part or []:
                keys |= filter_keys(cond)
    elif isinstance(flt, models.FieldCondition | models.IsEmptyCondition | models.IsNullCondition):
        keys.add(
            flt.key
            if isinstance(flt, models.FieldCondition)
            else flt.is_empty.key
            if isinstance(flt, models.IsEmptyCondition)
            else flt.is_null.key
        )
    elif isinstance(flt, models.NestedCondition):
        keys.add(flt.nested.key)
    return keys


def _top(key: str) -> str:
    return re.split(r"[.\[]", key, maxsplit=1)[0]


class FieldCatalog:
    """The payload fields of a collection, learnt from its schema and a sample of points (cached 60 s)."""

    def __init__(self, store: AudioStore, net: Net) -> None:
        self.store = store
        self.net = net
        self._lock = threading.Lock()
        self._fields: dict[str, str] = {}
        self._at = -_TTL_S

    def fields(self) -> dict[str, str]:
        """``{field: type}``: payload indexes (keyword/float/integer/bool…) and sampled metadata keys."""
        with self._lock:
            if time.monotonic() - self._at < _TTL_S:
                return dict(self._fields)
        schema = self.net.call("get_collection").payload_schema or {}
        found = {k: str(getattr(v.data_type, "value", v.data_type)) for k, v in schema.items()}
        if not found:  # local mode records no payload indexes: the store's plan is what a server would have
            found = {k: str(v.value) for k, v in self.store.payload_index_plan().items()}
        points, _ = self.net.call("scroll", limit=_SAMPLE, with_payload=True, with_vectors=False)
        for point in points:
            for key, value in (point.payload or {}).items():
                if key not in found:
                    found[key] = _kind(value)
        with self._lock:
            self._fields, self._at = found, time.monotonic()
        return dict(found)

    def known(self, key: str) -> bool:
        top = _top(key)
        return top in RESERVED_FIELDS or top.startswith(COMPLETE_PREFIX) or top in self.fields()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "keyword"
    return "json"


def parse_filter(raw: dict[str, Any] | None, catalog: FieldCatalog | None) -> models.Filter | None:
    """``raw`` (Qdrant filter JSON) as a Filter; a 422 `ApiError` naming the problem otherwise."""
    if raw is None or raw == {}:
        return None
    try:
        flt = models.Filter.model_validate(raw)
    except ValidationError as err:
        raise ApiError(422, "invalid_filter", _shape_error(err)) from None
    if catalog is not None:
        unknown = sorted(k for k in filter_keys(flt) if not catalog.known(k))
        if unknown:
            fields = ", ".join(sorted(catalog.fields()))
            raise ApiError(
                422,
                "invalid_filter",
                f"the filter names payload field(s) {unknown} that the collection does not have; "
                f"its fields: {fields}",
            )
    return flt
