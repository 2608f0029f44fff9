"""`knob`: a config dataclass field that carries its help and unit once, for the CLI to derive options from.

The trainer's commands (`trainer.cli.options.config_options`) turn every knob into ``--name-with-dashes``
with its type, help, unit and default taken from here, so help text and defaults cannot drift apart.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, field
from typing import Any

__all__ = ["knob", "knob_help"]


def knob(
    default: Any = MISSING,
    *,
    help: str,
    unit: str | None = None,
    cli: bool = True,
    path: str | None = None,
    choices: tuple[str, ...] | None = None,
    default_text: str | None = None,
    factory: Any = MISSING,
) -> Any:
    """A dataclass field with CLI metadata.

    Args:
        help: what the option does, one phrase (no unit, no default: both are added).
        unit: what the number counts ("seconds", "optimizer steps", "fraction of all steps").
        cli: False keeps the field to config files (``--config``) only.
        path: "file" (must exist) or "dir" (an output folder): the option takes a path.
        choices: the allowed strings.
        default_text: the default in words where the value says nothing (None meaning "the embedder's").
        factory: a default factory instead of ``default``.
    """
    meta = {"help": help, "unit": unit, "cli": cli, "path": path, "choices": choices}
    meta["default_text"] = default_text
    if factory is not MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def knob_help(f: Field[Any]) -> str:
    """The help phrase of a knob with its unit: ``"LR warm-up (fraction of all steps)"``."""
    text = str(f.metadata.get("help", ""))
    unit = f.metadata.get("unit")
    return f"{text} ({unit})" if unit else text
