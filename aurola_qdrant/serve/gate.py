"""The ASGI layer in front of every route: bearer auth, the body size limit, metrics and JSON errors for
anything the routes did not answer themselves."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from .auth import check_bearer, is_public
from .errors import ApiError, error_body, from_exception

__all__ = ["Gate"]

logger = logging.getLogger(__name__)


async def send_error(send: Any, err: ApiError, secrets: list[str | None]) -> None:
    body = json.dumps(error_body(err.kind, err.message, secrets)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Gate:
    """Wraps the FastAPI app: 401 before any route runs, 413 for bodies over ``max_body`` (by header, or
    counted while streaming), and one request count / latency observation per response."""

    def __init__(self, app: Any, service: Any) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cfg, metrics, secrets = self.service.config, self.service.metrics, self.service.secrets
        start = time.perf_counter()
        status = {"code": 500, "started": False}

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], True
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            if scope.get("method") != "OPTIONS" and not is_public(scope["path"]):
                check_bearer(headers.get("authorization"), cfg.api_key)
            length = headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > cfg.max_body_bytes:
                raise ApiError(
                    413, "too_large", f"the request body is larger than {cfg.max_body_bytes:,} bytes"
                )
            await self.app(scope, self._counting(receive, cfg.max_body_bytes), sending)
        except Exception as exc:
            err = from_exception(exc, cfg.retry_after_s)
            if status["started"]:  # too late to answer; the connection ends
                logger.error("error after the response started: %s", err.message)
            else:
                status["code"] = err.status
                metrics.errors.labels(err.kind).inc()
                await send_error(send, err, secrets)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "other"
            metrics.observe_request(endpoint, int(status["code"]), time.perf_counter() - start)

    @staticmethod
    def _counting(receive: Any, limit: int) -> Any:
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ApiError(413, "too_large", f"the request body is larger than {limit:,} bytes")
            return message

        return counted
