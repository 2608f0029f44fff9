"""How every command prints JSON (``--json``): one document, indented by 2, UTF-8 text kept as is."""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = ["echo_json"]


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
