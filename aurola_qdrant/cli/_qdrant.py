"""Qdrant connection options shared by every command: a server (--qdrant-url/--api-key, env QDRANT_URL and
QDRANT_API_KEY) or the embedded store (--qdrant-path, default ./aurola_db). The API key never reaches the
terminal: `scrub` masks it in every message a command prints."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ["make_client", "qdrant_options", "scrub"]

_SECRET = re.compile(r"(?i)(api[-_]?key|authorization|token|password)(['\"]?\s*[:=]\s*)\S+")


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` and anything shaped like ``api-key: ...`` replaced by ``***``."""
    if secret:
        text = text.replace(secret, "***")
    return _SECRET.sub(r"\1\2***", text)


def make_client(url: str | None, api_key: str | None, path: str | Path) -> Any:
    """``QdrantClient(url=..., api_key=...)`` for a server, else embedded ``QdrantClient(path=path)``.

    Embedded mode locks its folder: one process at a time (run parallel shards against a server)."""
    from qdrant_client import QdrantClient

    if url:
        return QdrantClient(url=url, api_key=api_key or None)
    if api_key:  # e.g. QDRANT_API_KEY exported for a server; never echo the key itself
        click.echo("note: no --qdrant-url given: ignoring the API key, using embedded Qdrant", err=True)
    return QdrantClient(path=str(path))


def qdrant_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Adds ``qdrant_url``, ``api_key`` and ``qdrant_path`` parameters to a click command."""
    fn = click.option(
        "--qdrant-path",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("aurola_db"),
        show_default=True,
        help="Embedded Qdrant folder, used when no --qdrant-url is given.",
    )(fn)
    fn = click.option(
        "--api-key",
        envvar="QDRANT_API_KEY",
        default=None,
        help="Qdrant API key (env QDRANT_API_KEY); never printed.",
    )(fn)
    return click.option(
        "--qdrant-url", envvar="QDRANT_URL", default=None, help="Qdrant server URL (env QDRANT_URL)."
    )(fn)
