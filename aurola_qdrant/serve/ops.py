"""Operations and playback: ``/healthz``, ``/readyz``, ``/metrics``, ``/v1/collection``,
``/v1/audio/{point_id}`` and the web page at ``/`` (static files shipped in the package, no CDN)."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from .forms import run
from .segments import byte_range
from .service import SearchService

__all__ = ["router"]

router = APIRouter()

_PAGE_TYPES = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}


def _service(request: Request) -> SearchService:
    return request.app.state.service


def _asset(name: str) -> str:
    return resources.files("aurola_qdrant.serve").joinpath("page", name).read_text(encoding="utf-8")


@router.get("/healthz", tags=["operations"])
async def healthz() -> dict[str, str]:
    """Alive: the process answers (no key needed, nothing else checked)."""
    return {"status": "ok"}


@router.get("/readyz", tags=["operations"])
async def readyz(request: Request) -> Any:
    """Ready: models loaded, Qdrant reachable, the collection's recorded embedder matches (503 otherwise)."""
    service = _service(request)
    state = await run(service.config.retry_after_s, service.readiness)
    from ..redact import redact

    state["detail"] = redact(state["detail"], service.secrets)
    return JSONResponse(state, status_code=200 if state["ready"] else 503)


@router.get("/metrics", tags=["operations"])
async def metrics(request: Request) -> Response:
    """Prometheus text format: requests and latencies per endpoint, stage times, batch sizes, queue depth,
    errors by type."""
    body, ctype = _service(request).metrics.render()
    return Response(body, media_type=ctype)


@router.get("/v1/collection")
async def collection(request: Request) -> Any:
    """The collection, the models, the fusion default and the payload fields a filter may name."""
    service = _service(request)
    return await run(service.config.retry_after_s, service.describe)


@router.get(
    "/v1/audio/{point_id}",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}}, 206: {"content": {"audio/wav": {}}}},
)
async def audio(request: Request, point_id: str) -> Response:
    """The point's segment as 16-bit WAV at its source's rate (only sources stored in the collection are
    ever read); supports ``Range: bytes=...`` (206)."""
    service = _service(request)
    data = await run(service.config.retry_after_s, service.segments.wav, point_id)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
    span = byte_range(request.headers.get("range"), len(data))
    if span is None:
        return Response(data, media_type="audio/wav", headers=headers)
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
    return Response(data[first : last + 1], status_code=206, media_type="audio/wav", headers=headers)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse(_asset("index.html"))


@router.get("/page/{name}", include_in_schema=False)
async def page_asset(name: str) -> Response:
    if name not in _PAGE_TYPES:  # a fixed list: no path from the request reaches the file system
        return JSONResponse({"error": {"type": "not_found", "message": f"no page asset {name!r}"}}, 404)
    return Response(_asset(name), media_type=_PAGE_TYPES[name])
