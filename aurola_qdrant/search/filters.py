"""``key=value`` filter expressions (the CLI's ``--filter``) turned into a `qdrant_client.models.Filter`.

Grammar, one expression per condition, all conditions ANDed:

    key=value     exact match; value parsed as int, then true/false, else kept as a string
                  (a non-integer number matches as the range [value, value])
    key!=value    the same condition negated (must_not)
    key>=x, key>x, key<=x, key<x   numeric range; x must be a number

Keys are payload fields, nested ones with dots (``meta.speaker``) as Qdrant writes them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from qdrant_client import models

from ..errors import InputError

__all__ = ["parse_filters"]

_EXPR = re.compile(r"^\s*([^=<>!\s]+)\s*(>=|<=|!=|=|>|<)(.*)$")
_RANGE = {">=": "gte", ">": "gt", "<=": "lte", "<": "lt"}


def _number(text: str, expr: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(
            f"filter {expr!r}: {text!r} is not a finite number; ranges need one, e.g. start_s>=10"
        )
    return value


def _match(key: str, raw: str, expr: str) -> models.FieldCondition:
    if re.fullmatch(r"[+-]?\d+", raw):
        return models.FieldCondition(key=key, match=models.MatchValue(value=int(raw)))
    if raw.lower() in ("true", "false"):
        return models.FieldCondition(key=key, match=models.MatchValue(value=raw.lower() == "true"))
    try:
        float(raw)
    except ValueError:
        return models.FieldCondition(key=key, match=models.MatchValue(value=raw))
    value = _number(raw, expr)  # refuses nan/inf spelled as numbers
    return models.FieldCondition(key=key, range=models.Range(gte=value, lte=value))


def parse_filters(expressions: Iterable[str]) -> models.Filter | None:
    """A Filter ANDing every expression (module docstring), or None when there is none.

    Raises InputError quoting a malformed expression and the accepted forms.
    """
    must: list[models.Condition] = []
    must_not: list[models.Condition] = []
    for expr in expressions:
        found = _EXPR.match(expr)
        if found is None or not found.group(3).strip():
            raise InputError(
                f"filter {expr!r} is not KEY=VALUE, KEY!=VALUE or KEY>=|>|<=|<NUMBER (e.g. category=dog, "
                "start_s>=30)"
            )
        key, op, raw = found.group(1), found.group(2), found.group(3).strip()
        if op in _RANGE:
            value = _number(raw, expr)
            must.append(models.FieldCondition(key=key, range=models.Range(**{_RANGE[op]: value})))
        else:
            (must if op == "=" else must_not).append(_match(key, raw, expr))
    if not must and not must_not:
        return None
    return models.Filter(must=must or None, must_not=must_not or None)
