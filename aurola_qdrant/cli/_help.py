"""Option help that quotes the config objects' defaults, and the ETA of training progress lines.

Training defaults live in frozen dataclasses (`trainer.config.TrainConfig`, `TINY_DEFAULTS`, …) whose
modules import torch. Help strings hold ``{d[lr]}``-style placeholders instead of copied numbers (copies
drifted: ``--lr`` once said 1e-3 for tiny runs that used 2e-3); `DefaultsCommand` fills them in only when
help is shown, so the imports cost nothing when the command just runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, fields
from typing import Any

import click

__all__ = [
    "DefaultsCommand",
    "config_defaults",
    "describe_grid",
    "format_duration",
    "format_eta",
    "show_value",
]


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


_PLACEHOLDER = re.compile(r"\{(\w+)\[(\w+)\]\}")


class DefaultsCommand(click.Command):
    """A command whose option help may say ``{d[name]}`` / ``{tiny[name]}`` / any key of ``defaults()``.

    ``defaults`` returns a mapping of placeholder groups (``{"d": {...}, "tiny": {...}}``); it is called
    once, the first time help is formatted. A placeholder naming a missing key raises KeyError, so a
    renamed config field breaks the help test rather than the help silently going stale.
    """

    def __init__(self, *args: Any, defaults: Callable[[], Mapping[str, Mapping[str, Any]]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._defaults = defaults
        self._filled = False

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if not self._filled:
            groups = self._defaults()
            for param in self.params:
                if isinstance(param, click.Option) and param.help:
                    param.help = _PLACEHOLDER.sub(lambda m: show_value(groups[m[1]][m[2]]), param.help)
            self._filled = True
        super().format_help(ctx, formatter)


def config_defaults(cls: Any) -> dict[str, Any]:
    """Field name -> default of a config dataclass (fields without a plain default are left out)."""
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


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


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``: short enough for a progress line."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def format_eta(info: Mapping[str, Any]) -> str:
    """`` elapsed 1m02s, ETA 3m10s`` from a progress dict's ``elapsed_s`` / ``eta_s`` ('' without them)."""
    if "elapsed_s" not in info or "eta_s" not in info:
        return ""
    return f" elapsed {format_duration(info['elapsed_s'])}, ETA {format_duration(info['eta_s'])}"
