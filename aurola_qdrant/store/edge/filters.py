"""`qdrant_client.models.Filter` translated to Qdrant Edge's filter types, so one filter type works on
every engine (the CLI's ``--filter``, `AudioSearch`'s ``exclude_self``, the store's own conditions).

Flag fields (`CollectionMeta.flag_fields`) are matched as the integers they are stored as. A boolean
match on any other field is refused with the fix, because Edge 0.9.0 would silently match nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

__all__ = ["edge_filter", "edge_id"]


def edge_id(point_id: Any) -> Any:
    """A point id as Edge takes it: ints stay ints, anything else is a UUID string."""
    if isinstance(point_id, int) and not isinstance(point_id, bool):
        return point_id
    return str(point_id)


def _as_list(conditions: Any) -> list[Any] | None:
    if conditions is None:
        return None
    return list(conditions) if isinstance(conditions, list | tuple) else [conditions]


def _match(key: str, match: Any, flags: frozenset[str]) -> Any:
    if isinstance(match, models.MatchValue):
        value = match.value
        if isinstance(value, bool):
            if key not in flags:
                raise ValueError(
                    f"cannot filter on the boolean field {key!r} in the embedded Qdrant Edge store (Edge "
                    "0.9.0 never matches booleans): declare it as a bool payload index before writing "
                    f"(StoreConfig(payload_indexes={{{key!r}: 'bool'}})) so that it is stored as 0/1"
                )
            value = int(value)
        return edge.MatchValue(value)
    if isinstance(match, models.MatchAny):
        return edge.MatchAny(list(match.any))  # type: ignore[arg-type]
    if isinstance(match, models.MatchExcept):
        return edge.MatchExcept(list(match.except_))  # type: ignore[arg-type]
    if isinstance(match, models.MatchText):
        return edge.MatchText(match.text)
    if isinstance(match, models.MatchPhrase):
        return edge.MatchPhrase(match.phrase)
    if isinstance(match, models.MatchTextAny):
        return edge.MatchTextAny(match.text_any)
    raise ValueError(f"filter match {match!r} is not supported by the embedded Qdrant Edge store")


def _range(r: Any) -> Any:
    if isinstance(r, models.DatetimeRange):
        iso = [
            None if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))
            for v in (r.gte, r.gt, r.lte, r.lt)
        ]
        return edge.RangeDateTime(gte=iso[0], gt=iso[1], lte=iso[2], lt=iso[3])
    return edge.RangeFloat(gte=r.gte, gt=r.gt, lte=r.lte, lt=r.lt)


def _geo(p: models.GeoPoint) -> Any:
    return edge.GeoPoint(lon=p.lon, lat=p.lat)


def _field(c: models.FieldCondition, flags: frozenset[str]) -> Any:
    kw: dict[str, Any] = {}
    if c.match is not None:
        kw["match"] = _match(c.key, c.match, flags)
    if c.range is not None:
        kw["range"] = _range(c.range)
    if c.values_count is not None:
        v = c.values_count
        kw["values_count"] = edge.ValuesCount(lt=v.lt, gt=v.gt, lte=v.lte, gte=v.gte)
    if c.geo_radius is not None:
        kw["geo_radius"] = edge.GeoRadius(_geo(c.geo_radius.center), c.geo_radius.radius)
    if c.geo_bounding_box is not None:
        box = c.geo_bounding_box
        kw["geo_bounding_box"] = edge.GeoBoundingBox(_geo(box.top_left), _geo(box.bottom_right))
    if c.geo_polygon is not None:
        poly = c.geo_polygon
        interiors = [[_geo(p) for p in ring.points] for ring in poly.interiors or []] or None
        kw["geo_polygon"] = edge.GeoPolygon([_geo(p) for p in poly.exterior.points], interiors)
    if c.is_empty is not None:
        kw["is_empty"] = c.is_empty
    if c.is_null is not None:
        kw["is_null"] = c.is_null
    return edge.FieldCondition(c.key, **kw)


def _condition(c: Any, flags: frozenset[str]) -> Any:
    if isinstance(c, models.Filter):
        return edge_filter(c, flags)
    if isinstance(c, models.FieldCondition):
        return _field(c, flags)
    if isinstance(c, models.HasIdCondition):
        return edge.HasIdCondition({edge_id(i) for i in c.has_id})
    if isinstance(c, models.HasVectorCondition):
        return edge.HasVectorCondition(c.has_vector)
    if isinstance(c, models.IsEmptyCondition):
        return edge.IsEmptyCondition(c.is_empty.key)
    if isinstance(c, models.IsNullCondition):
        return edge.IsNullCondition(c.is_null.key)
    if isinstance(c, models.NestedCondition):
        return edge.NestedCondition(c.nested.key, edge_filter(c.nested.filter, flags))
    raise ValueError(f"filter condition {c!r} is not supported by the embedded Qdrant Edge store")


def _conditions(conditions: Iterable[Any] | None, flags: frozenset[str]) -> list[Any] | None:
    items = _as_list(conditions)
    return None if items is None else [_condition(c, flags) for c in items]


def edge_filter(f: models.Filter | None, flags: frozenset[str] = frozenset()) -> Any:
    """The Edge `Filter` equivalent to ``f`` (None stays None). Raises ValueError for what Edge cannot
    express (see the module docstring)."""
    if f is None:
        return None
    min_should = None
    if f.min_should is not None:
        min_should = edge.MinShould(_conditions(f.min_should.conditions, flags) or [], f.min_should.min_count)
    return edge.Filter(
        must=_conditions(f.must, flags),
        should=_conditions(f.should, flags),
        must_not=_conditions(f.must_not, flags),
        min_should=min_should,
    )
