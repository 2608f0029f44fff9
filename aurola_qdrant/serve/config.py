"""`ServeConfig`: the service's limits and switches, validated on construction."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["ServeConfig"]

_MB = 1024 * 1024


@dataclass(frozen=True)
class ServeConfig:
    """Limits and switches of one service instance.

    Attributes:
        api_key: bearer key every endpoint but ``/healthz`` (and the static page) requires; None: no auth.
        max_body_bytes: largest request body (JSON or multipart), refused with 413 beyond it.
        max_upload_bytes: largest single uploaded audio file (413).
        max_audio_s: longest query/candidate audio accepted, seconds (422 beyond; the model's 300 s at most).
        max_texts: most texts in one /v1/embed or /v1/rerank request.
        max_ids: most point ids in one /v1/rerank request.
        max_limit: largest ``limit`` / ``candidates`` of a search.
        max_batch: most items one micro-batched model call takes.
        batch_wait_ms: how long the batcher waits for more requests after the first one arrives.
        max_queue: most items waiting for the model; beyond it requests get 503 with Retry-After.
        batching: False runs every request's model call alone (the benchmark's baseline).
        cors_origins: origins allowed by CORS; empty: no CORS headers at all.
        audio_roots: folders whose files a request may name by path/URI besides the collection's sources.
        retry_after_s: the Retry-After a 503 suggests.
        audio_cache_bytes: rendered WAV segments kept for range requests.
    """

    api_key: str | None = field(default=None, repr=False)
    max_body_bytes: int = 25 * _MB
    max_upload_bytes: int = 20 * _MB
    max_audio_s: float = 300.0
    max_texts: int = 256
    max_ids: int = 200
    max_limit: int = 1000
    max_batch: int = 32
    batch_wait_ms: float = 5.0
    max_queue: int = 256
    batching: bool = True
    cors_origins: tuple[str, ...] = ()
    audio_roots: tuple[str, ...] = ()
    retry_after_s: int = 1
    audio_cache_bytes: int = 64 * _MB

    def __post_init__(self) -> None:
        for name in (
            "max_body_bytes",
            "max_upload_bytes",
            "max_texts",
            "max_ids",
            "max_limit",
            "max_batch",
            "max_queue",
            "retry_after_s",
            "audio_cache_bytes",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ServeConfig.{name} must be an integer >= 1, got {value!r}")
        for name in ("max_audio_s", "batch_wait_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"ServeConfig.{name} must be a finite number, got {value!r}")
        if not 0 < self.max_audio_s <= 300.0:
            raise ValueError(f"ServeConfig.max_audio_s must be in (0, 300] seconds, got {self.max_audio_s!r}")
        if self.batch_wait_ms < 0:
            raise ValueError(f"ServeConfig.batch_wait_ms must be >= 0, got {self.batch_wait_ms!r}")
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("ServeConfig.api_key is empty: unset AUROLA_API_KEY or give a real key")
        object.__setattr__(self, "cors_origins", tuple(self.cors_origins))
        object.__setattr__(self, "audio_roots", tuple(self.audio_roots))
