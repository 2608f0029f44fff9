"""Click options derived from frozen config dataclasses, so help texts and defaults cannot drift.

A config field carries its help (and unit) once, in ``field(metadata={"help": ..., "unit": ...})``;
`config_option` turns it into an option whose default is the field's default and whose help is that text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import click

__all__ = ["config_option", "field_help"]


def _field(cls: type, name: str) -> dataclasses.Field[Any]:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def field_help(cls: type, name: str) -> str:
    """The help text of ``cls.name``, its unit appended (``"Seconds per segment (s)."`` style)."""
    meta = _field(cls, name).metadata
    text = str(meta.get("help", "")).strip()
    if not text:
        raise ValueError(f"{cls.__name__}.{name} carries no help text (field metadata 'help')")
    unit = meta.get("unit")
    return f"{text} [{unit}]" if unit else text


def config_option(cls: type, name: str, *decls: str, **kwargs: Any) -> Callable[[Any], Any]:
    """``click.option(*decls, ...)`` for field ``name`` of config dataclass ``cls``: default and help from
    the field (``kwargs`` may override either, e.g. a default that depends on the machine)."""
    f = _field(cls, name)
    if "default" not in kwargs and f.default is not dataclasses.MISSING:
        kwargs["default"] = f.default
    kwargs.setdefault("help", field_help(cls, name))
    kwargs.setdefault("show_default", kwargs.get("default") is not None)
    return click.option(*decls, name, **kwargs)
