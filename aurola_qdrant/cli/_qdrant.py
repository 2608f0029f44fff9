"""Qdrant connection options shared by every command: a server (--qdrant-url/--api-key, env QDRANT_URL and
QDRANT_API_KEY) or the embedded store (--qdrant-path, default ./aurola_db: Qdrant Edge for new stores, an
existing qdrant-client local-mode folder as before, see `aurola_qdrant.store.open_embedded`). The API key
never reaches the terminal: `scrub` masks it in every message a command prints."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ._errors import remember_secret

__all__ = ["make_client", "qdrant_options", "scrub"]


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` and anything shaped like ``api-key: ...`` replaced by ``***``."""
    from ..redact import redact

    return redact(text, [secret])


def make_client(url: str | None, api_key: str | None, path: str | Path, *, create: bool = True) -> Any:
    """``QdrantClient(url=..., api_key=...)`` for a server, else the embedded store at ``path``
    (`aurola_qdrant.store.open_embedded`: Qdrant Edge, or qdrant-client local mode for an existing
    local-mode folder, with a one-line hint on stderr to migrate it).

    ``create=False`` (read-only commands) refuses a ``path`` that holds no store instead of creating an
    empty one. An embedded store is locked to one process at a time (run parallel shards against a server).

    Raises:
        CommandError: no embedded store at ``path`` (with ``create=False``).
        StoreLockedError: another process holds the embedded store open.
    """
    from ..store.embedded import embedded_kind, migrate_hint, open_embedded
    from ._errors import CommandError

    if url:
        from qdrant_client import QdrantClient

        # the client's version check runs in a thread and warns when the server does not answer; the
        # first call through the store's door reports that, with the URL, in one line
        warnings.filterwarnings("ignore", message="Failed to obtain server version")
        return QdrantClient(url=url, api_key=api_key or None)
    if api_key:  # e.g. QDRANT_API_KEY exported for a server; never echo the key itself
        click.echo("note: no --qdrant-url given: ignoring the API key, using embedded Qdrant", err=True)
    if str(path) == ":memory:":
        return open_embedded(":memory:")
    folder = Path(path).expanduser()
    kind = embedded_kind(folder)
    if not create and kind is None:
        raise CommandError(
            f"no embedded Qdrant store at {folder.resolve()} (ingest into it first, or point to yours with "
            "--qdrant-path DIR or --qdrant-url URL)"
        )
    if kind == "local":
        click.echo(migrate_hint(folder), err=True)
    return open_embedded(folder, create=create, hint=False)


def qdrant_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Adds ``qdrant_url``, ``api_key`` and ``qdrant_path`` parameters to a click command."""
    fn = click.option(
        "--qdrant-path",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("aurola_db"),
        show_default=True,
        help="Embedded Qdrant folder (Qdrant Edge; an existing local-mode folder is opened as such), used "
        "when no --qdrant-url is given.",
    )(fn)
    fn = click.option(
        "--api-key",
        envvar="QDRANT_API_KEY",
        default=None,
        help="Qdrant API key (env QDRANT_API_KEY); never printed.",
        callback=remember_secret,
    )(fn)
    return click.option(
        "--qdrant-url", envvar="QDRANT_URL", default=None, help="Qdrant server URL (env QDRANT_URL)."
    )(fn)
