"""The search service: AuroLA embedding, search and re-ranking over HTTP, and a page to search and listen.

``aurola-qdrant serve`` runs it (needs the ``serve`` extra: ``pip install "aurola-qdrant[serve]"``).
Importing this package is cheap; FastAPI loads in `create_app`.

Modules: `config` (ServeConfig), `service` (SearchService: models, collection, batcher), `batching`
(MicroBatcher), `models` (batched embedder / serialised re-ranker views), `stages` (per-request timings),
`app` (create_app), `api` and `ops` (routes), `gate` (auth, body limit, metrics), `auth`, `errors`,
`filters`, `forms`, `inputs`, `segments` (WAV with ranges), `metrics`, `cli`; `page/` holds the web page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import ServeConfig

if TYPE_CHECKING:  # pragma: no cover
    from .service import SearchService

__all__ = ["SearchService", "ServeConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "SearchService":
        from .service import SearchService

        return SearchService
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'aurola_qdrant.serve' has no attribute {name!r}")
