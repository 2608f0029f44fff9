"""The model endpoints: ``/v1/embed``, ``/v1/search``, ``/v1/search/audio``, ``/v1/rerank``.

Each takes JSON, or (where audio is given) a multipart form whose fields are the JSON body's and whose
``audio`` parts are the uploads. All model and Qdrant work runs on worker threads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from ..errors import AudioDecodeError
from ..search import MAX_QUERY_CHARS
from .errors import ApiError
from .filters import parse_filter
from .forms import Body, read_body, run
from .inputs import check_duration, load_point, resolve_uri
from .schemas import (
    AudioQuery,
    EmbedRequest,
    EmbedResponse,
    RerankRequest,
    RerankResponse,
    SearchRequest,
    SearchResponse,
)
from .service import SearchService

__all__ = ["router"]

router = APIRouter(prefix="/v1")


def _multipart(model: type[BaseModel], what: str) -> dict[str, Any]:
    """OpenAPI for a route that also takes a multipart form (the model's fields plus ``audio`` files)."""
    schema = model.model_json_schema()
    props = {
        **schema.get("properties", {}),
        "audio": {"type": "array", "items": {"type": "string", "format": "binary"}, "description": what},
    }
    return {
        "requestBody": {
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {"schema": {"type": "object", "properties": props}},
            },
            "required": True,
        }
    }


def _service(request: Request) -> SearchService:
    return request.app.state.service


async def _body(request: Request, model: type[BaseModel]) -> Body:
    service = _service(request)
    return await read_body(request, model, request.app.state.uploads, service.config.max_upload_bytes)


def _check_texts(texts: list[str], what: str, limit: int) -> None:
    if not texts:
        raise ApiError(422, "invalid_input", f"{what} is empty: give at least one text")
    if len(texts) > limit:
        raise ApiError(422, "invalid_input", f"{what} holds {len(texts)} texts; at most {limit} per request")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise ApiError(422, "invalid_input", f"{what}[{i}] is empty")
        if len(text) > MAX_QUERY_CHARS:
            raise ApiError(
                422,
                "invalid_input",
                f"{what}[{i}] is {len(text):,} characters long; at most {MAX_QUERY_CHARS:,}",
            )


def _audio_items(service: SearchService, body: Body, uris: list[str]) -> list[Any]:
    """Checked paths of a request's audio: its uploads, then its URIs (each within the service's limits)."""
    items: list[Any] = []
    for upload, name in zip(body.uploads, body.names, strict=True):
        try:
            check_duration(upload, service.config.max_audio_s, f"the uploaded audio {name!r}")
        except AudioDecodeError as err:  # name the client's file, not our temporary copy
            detail = err.detail.replace(str(upload), name)
            raise ApiError(
                422, "undecodable_audio", f"cannot decode {name!r}: {err.reason} ({detail})"
            ) from None
        items.append(str(upload))
    for uri in uris:
        path = resolve_uri(uri, service.net, service.config.audio_roots)
        check_duration(path, service.config.max_audio_s, repr(uri))
        items.append(path)
    return items


@router.post(
    "/embed", response_model=EmbedResponse, openapi_extra=_multipart(EmbedRequest, "audio files to embed")
)
async def embed(request: Request) -> Any:
    """Vectors of texts (JSON ``texts``) or audio (``uris``, or multipart ``audio`` uploads), in input order,
    L2-normalised, with the model id and dimension: query Qdrant with them yourself."""
    service = _service(request)
    body = await _body(request, EmbedRequest)
    try:
        req: EmbedRequest = body.model
        given = [x for x in (req.texts, req.uris or None, body.uploads or None) if x is not None]
        if len(given) != 1:
            raise ApiError(
                422, "invalid_input", "give exactly one of 'texts', 'uris' or uploaded 'audio' files"
            )
        if req.texts is not None:
            _check_texts(req.texts, "texts", service.config.max_texts)
            vectors, stages = await run(service.config.retry_after_s, service.embed_texts, req.texts)
        else:
            items = await run(service.config.retry_after_s, _audio_items, service, body, req.uris or [])
            if len(items) > service.config.max_texts:
                raise ApiError(
                    422, "invalid_input", f"{len(items)} audio items; at most {service.config.max_texts}"
                )
            vectors, stages = await run(service.config.retry_after_s, service.embed_audio, items)
    finally:
        body.close()
    return {
        "model": service.embedder.model_id,
        "vector_name": service.embedder.vector_name,
        "dim": service.embedder.dim,
        "vectors": vectors.tolist(),
        "timings": stages,
    }


@router.post("/search", response_model=SearchResponse)
async def search(request: Request, req: SearchRequest) -> Any:
    """Text→audio search: the same hits as `AudioSearch.search` for the same inputs, each with the URL of
    its segment's audio, plus per-stage timings."""
    service = _service(request)
    if not req.query.strip():
        raise ApiError(422, "invalid_input", "the query is empty: describe the sound to look for")
    for name in ("limit", "candidates"):
        if getattr(req, name) > service.config.max_limit:
            raise ApiError(
                422, "invalid_input", f"{name} {getattr(req, name)} is above {service.config.max_limit}"
            )
    flt = await run(service.config.retry_after_s, parse_filter, req.filter, service.catalog)
    return await run(
        service.config.retry_after_s,
        service.search_text,
        req.query,
        query_filter=flt,
        limit=req.limit,
        candidates=req.candidates,
        rerank=req.rerank,
        alpha=req.alpha,
        group_by_file=req.group_by_file,
    )


@router.post(
    "/search/audio",
    response_model=SearchResponse,
    openapi_extra=_multipart(AudioQuery, "the query audio (one file)"),
)
async def search_audio(request: Request) -> Any:
    """Query by example: the segments nearest to an uploaded file, a readable ``uri`` or a stored point
    (``id``); ``exclude_self`` leaves out the query's own file (by content)."""
    service = _service(request)
    body = await _body(request, AudioQuery)
    try:
        req: AudioQuery = body.model
        given = sum(x is not None for x in (req.id, req.uri)) + len(body.uploads)
        if given != 1:
            raise ApiError(
                422, "invalid_input", "give exactly one query audio: an 'audio' upload, 'uri' or 'id'"
            )
        if req.limit > service.config.max_limit:
            raise ApiError(422, "invalid_input", f"limit {req.limit} is above {service.config.max_limit}")
        flt = await run(service.config.retry_after_s, parse_filter, req.filter, service.catalog)
        if req.id is not None:
            audio = await run(service.config.retry_after_s, load_point, service.store, req.id)
        else:
            audio = (
                await run(
                    service.config.retry_after_s, _audio_items, service, body, [req.uri] if req.uri else []
                )
            )[0]
        return await run(
            service.config.retry_after_s,
            service.search_audio,
            audio,
            query_filter=flt,
            limit=req.limit,
            group_by_file=req.group_by_file,
            exclude_self=req.exclude_self,
        )
    finally:
        body.close()


@router.post(
    "/rerank",
    response_model=RerankResponse,
    openapi_extra=_multipart(RerankRequest, "candidate audio (t2a) or the query audio (a2t)"),
)
async def rerank(request: Request) -> Any:
    """P(Yes) for given candidates, both directions: ``t2a`` scores candidate audio (point ``ids`` or
    uploads) for a text ``query``; ``a2t`` scores ``texts`` for a query audio (``audio_id``, ``audio_uri``
    or one upload). Fuse as ``cos + alpha * p_yes`` with the returned alpha."""
    service = _service(request)
    body = await _body(request, RerankRequest)
    retry = service.config.retry_after_s
    try:
        req: RerankRequest = body.model
        await run(retry, service.judge)  # 422 at once without a re-ranker
        if req.direction == "t2a":
            _check_texts([req.query or ""], "query", 1)
            ids = req.ids or []
            if bool(ids) == bool(body.uploads) or len(ids) + len(body.uploads) > service.config.max_ids:
                raise ApiError(
                    422,
                    "invalid_input",
                    "t2a needs candidate 'ids' or uploaded 'audio' "
                    f"(not both; at most {service.config.max_ids})",
                )
            items = [await run(retry, service.candidate, i) for i in ids] or await run(
                retry, _audio_items, service, body, []
            )
            return await run(retry, service.rerank_t2a, req.query, items)
        _check_texts(req.texts or [], "texts", service.config.max_texts)
        if sum(x is not None for x in (req.audio_id, req.audio_uri)) + len(body.uploads) != 1:
            raise ApiError(
                422, "invalid_input", "a2t needs one query audio: 'audio_id', 'audio_uri' or an upload"
            )
        if req.audio_id is not None:
            audio = await run(retry, load_point, service.store, req.audio_id)
        else:
            audio = (await run(retry, _audio_items, service, body, [req.audio_uri] if req.audio_uri else []))[
                0
            ]
        return await run(retry, service.rerank_a2t, audio, req.texts)
    finally:
        body.close()
