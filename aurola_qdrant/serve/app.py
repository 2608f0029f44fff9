"""`create_app`: the FastAPI application over a `SearchService` (routes in `api` and `ops`)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .deps import need
from .errors import ApiError, error_body
from .gate import Gate
from .service import SearchService

__all__ = ["create_app"]

DESCRIPTION = """AuroLA semantic audio search over a Qdrant collection: embed texts and audio, search by
text or by example, re-rank candidates, play the hits' segments. With a service key set, send
`Authorization: Bearer <key>`. Errors are JSON: `{"error": {"type": ..., "message": ...}}`."""


def create_app(service: SearchService) -> Any:
    """The ASGI app (the `Gate` around FastAPI) serving ``service``; closes it on shutdown.

    Raises ImportError with the install hint when the ``serve`` extra is missing."""
    fastapi = need("fastapi")
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    from . import api, ops
    from .docs import mount_docs

    uploads = tempfile.TemporaryDirectory(prefix="aurola-serve-")

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        service.close()
        uploads.cleanup()

    app = fastapi.FastAPI(
        title="aurola-qdrant search service",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # `mount_docs` serves /docs with local assets (the default page needs a CDN)
        redoc_url=None,
    )
    app.state.service = service
    app.state.uploads = uploads.name

    def answer(kind: str, status: int, message: str, headers: dict[str, str] | None = None) -> Any:
        service.metrics.errors.labels(kind).inc()
        return JSONResponse(error_body(kind, message, service.secrets), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Any, exc: ApiError) -> Any:
        return answer(exc.kind, exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Any, exc: RequestValidationError) -> Any:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":
            return answer("bad_request", 400, "the body is not valid JSON; send application/json")
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        if first.get("type") == "extra_forbidden":
            return answer("invalid_input", 422, f"unknown field {where!r} in the request")
        return answer("invalid_input", 422, f"{where}: {first.get('msg')}")

    @app.exception_handler(HTTPException)
    async def _http(_request: Any, exc: HTTPException) -> Any:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        return answer(kind, exc.status_code, str(exc.detail), dict(exc.headers or {}))

    if service.config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(service.config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Range"],
            expose_headers=["Content-Range", "Accept-Ranges", "Retry-After"],
        )
    app.include_router(api.router)
    app.include_router(ops.router)
    mount_docs(app)
    return Gate(app, service)
