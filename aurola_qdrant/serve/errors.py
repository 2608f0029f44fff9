"""Every failure answered as JSON ``{"error": {"type", "message"}}`` with the status that fits it.

    400 bad_request          malformed JSON or multipart body
    401 unauthorized         missing or wrong bearer key
    404 not_found            unknown point id or route
    413 too_large            body or upload over its size limit
    416 range_not_satisfiable a Range header outside the audio
    422 invalid_input        empty/oversized query, bad filter, undecodable or overlong audio, bad counts
    503 unavailable          queue full (with Retry-After), Qdrant unreachable, models not ready
    500 internal             anything unexpected (logged with its traceback, message kept short)

Messages go through `aurola_qdrant.redact.redact` with the service's secrets, so neither the Qdrant API key
nor the service key can appear in a response.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from ..errors import (
    AudioDecodeError,
    CollectionMismatchError,
    InputError,
    StorageFullError,
    StoreLockedError,
    StoreUnavailableError,
)
from ..redact import redact
from .batching import QueueFullError

__all__ = ["ApiError", "error_body", "from_exception"]

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered as JSON with ``status``; ``kind`` is its machine-readable type."""

    def __init__(
        self, status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.headers = dict(headers or {})


def error_body(kind: str, message: str, secrets: Iterable[str | None] = ()) -> dict[str, dict[str, str]]:
    return {"error": {"type": kind, "message": redact(message, secrets)}}


def from_exception(exc: BaseException, retry_after_s: int = 1) -> ApiError:
    """The `ApiError` answering ``exc`` (module docstring for the table)."""
    if isinstance(exc, ApiError):
        return exc
    retry = {"Retry-After": str(retry_after_s)}
    if isinstance(exc, QueueFullError):
        return ApiError(503, "queue_full", f"the service is busy: {exc}", retry)
    if isinstance(exc, StoreUnavailableError | StoreLockedError | StorageFullError):
        return ApiError(503, "store_unavailable", f"Qdrant is unavailable: {exc}", retry)
    if isinstance(exc, CollectionMismatchError):
        return ApiError(503, "collection_mismatch", str(exc))
    if isinstance(exc, AudioDecodeError):
        return ApiError(422, "undecodable_audio", f"cannot decode the audio: {exc.reason} ({exc.detail})")
    status = getattr(exc, "status_code", None)  # qdrant_client's UnexpectedResponse: a refused request
    if isinstance(status, int) and 400 <= status < 500 and status not in (401, 403):
        content = getattr(exc, "content", b"")
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
        return ApiError(422, "invalid_input", f"Qdrant refused the request (HTTP {status}): {text[:300]}")
    if isinstance(exc, InputError | ValueError):  # InputError, AudioTooLongError, bad counts or alpha
        return ApiError(422, "invalid_input", str(exc))
    logger.error("unexpected error answering a request", exc_info=exc)
    return ApiError(500, "internal", f"unexpected {type(exc).__name__}; the service logged the details")
