"""`/docs` without a CDN: FastAPI's Swagger UI page, with its script and stylesheet served by the app itself
from the `swagger-ui-bundle` package (FastAPI's default page loads them from a CDN, which an offline
deployment cannot reach)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["mount_docs"]

_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def mount_docs(app: Any) -> None:
    """Serve the OpenAPI page at ``/docs`` and its assets under ``/docs/assets/`` (no data, no key)."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import FileResponse

    folder = Path(swagger_ui_bundle.swagger_ui_path)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Any:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Any:
        if name not in _ASSETS:  # a fixed list: no path from the request reaches the file system
            from fastapi import HTTPException

            raise HTTPException(404, f"no asset {name!r}")
        return FileResponse(folder / name)
