"""Click options derived from a config dataclass's knobs (`trainer.knobs`), and how defaults are shown.

Each CLI-visible field becomes ``--field-name`` with ``default=None`` (None means "not given", so the
config's ``build`` can merge a ``--config`` file, the tiny recipe and the dataclass defaults in that order);
its help is the knob's help and unit, then ``[default: X; Y with --tiny]`` read from the same dataclass
and tiny-defaults mapping, so help and behaviour cannot drift apart.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, fields
from typing import Any

import click

from trainer.knobs import knob_help

__all__ = ["config_options", "describe_grid", "show_value"]


def show_value(value: Any) -> str:
    """A default as a user types it: ``2e-3`` not ``0.002``, ``on``/``off`` for booleans, ``none``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    if isinstance(value, float):
        if value != 0 and abs(value) < 1e-2:
            mantissa, exponent = f"{value:.6e}".split("e")
            return f"{float(mantissa):g}e{int(exponent)}"
        return f"{value:g}"
    return str(value)


def describe_grid(grid: Sequence[float]) -> str:
    """An alpha grid in words, runs of 4+ evenly spaced values shortened: ``0, 0.01, 0.1-3 step 0.1``."""
    values = [float(v) for v in grid]
    parts, i = [], 0
    while i < len(values):
        j = i + 1
        step = round(values[j] - values[i], 9) if j < len(values) else 0.0
        while j + 1 < len(values) and round(values[j + 1] - values[j], 9) == step:
            j += 1
        if j - i >= 3 and step > 0:
            parts.append(f"{show_value(values[i])}-{show_value(values[j])} step {show_value(step)}")
            i = j + 1
        else:
            parts.append(show_value(values[i]))
            i += 1
    return ", ".join(parts)


def _default_text(f: Field[Any], tiny: Mapping[str, Any], tiny_flag: str) -> str:
    """``" [default: 1e-4; 2e-3 with --init-tiny]"``, or '' where nothing useful can be said."""
    if f.metadata.get("default_text"):
        base: str | None = str(f.metadata["default_text"])
    elif f.default is MISSING or f.default is None or (f.default is False and f.name not in tiny):
        base = None  # required, unset or an off flag: the help says it all
    else:
        base = show_value(f.default)
    if f.name in tiny:
        base = f"{base or 'none'}; {show_value(tiny[f.name])} with {tiny_flag}"
    return f" [default: {base}]" if base else ""


def _option(f: Field[Any], hint: Any, tiny: Mapping[str, Any], tiny_flag: str) -> Callable[[Any], Any]:
    flag = "--" + f.name.replace("_", "-")
    help_text = knob_help(f) + _default_text(f, tiny, tiny_flag) + "."
    kind = f.metadata.get("path")
    if hint is bool:
        if f.default is True:  # an on-by-default switch needs its off form
            return click.option(f"{flag}/--no-{flag[2:]}", f.name, default=None, help=help_text)
        return click.option(flag, f.name, is_flag=True, default=None, help=help_text)
    if f.metadata.get("choices"):
        ptype: Any = click.Choice(list(f.metadata["choices"]))
    elif kind == "file":
        ptype = click.Path(exists=True, dir_okay=False)
    elif kind == "dir":
        ptype = click.Path(file_okay=False)
    else:
        ptype = next((t for t in (int, float) if t in typing.get_args(hint) or hint is t), str)
    return click.option(flag, f.name, type=ptype, default=None, help=help_text)


def config_options(cls: type, tiny: Mapping[str, Any], tiny_flag: str) -> Callable[[Any], Any]:
    """Decorator adding one option per CLI-visible knob of dataclass ``cls``, in field order."""
    hints = typing.get_type_hints(cls)
    knobs = [f for f in fields(cls) if f.metadata.get("cli", False)]

    def decorate(fn: Any) -> Any:
        for f in reversed(knobs):  # click lists options in decoration order, innermost first
            fn = _option(f, hints[f.name], tiny, tiny_flag)(fn)
        return fn

    return decorate
