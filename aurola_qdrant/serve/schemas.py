"""Request and response bodies (pydantic): what ``/docs`` documents and what requests are checked against.

Unknown request fields are refused (422), so a misspelt option never silently does nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AudioQuery",
    "EmbedRequest",
    "EmbedResponse",
    "Hit",
    "RerankRequest",
    "RerankResponse",
    "SearchRequest",
    "SearchResponse",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbedRequest(_Strict):
    """Texts, or audio the service can read (a source stored in the collection, or a file under one of
    its ``--audio-root`` folders). Upload audio as multipart ``audio`` files instead."""

    texts: list[str] | None = Field(None, description="Captions or queries to embed.")
    uris: list[str] | None = Field(None, description="Audio paths/URIs the service can read.")


class EmbedResponse(BaseModel):
    model: str
    vector_name: str
    dim: int
    vectors: list[list[float]]
    timings: dict[str, float]


class SearchRequest(_Strict):
    query: str = Field(..., description="What to look for, e.g. 'rain on a tin roof' (at most 2,000 chars).")
    limit: int = Field(10, ge=1, description="Hits returned.")
    filter: dict[str, Any] | None = Field(None, description="Qdrant filter JSON (must/should/must_not).")
    rerank: bool | None = Field(
        None, description="Re-rank the candidates (default: when a re-ranker is loaded)."
    )
    candidates: int = Field(50, ge=1, description="Candidates re-ranked (K).")
    alpha: float | None = Field(None, ge=0, description="Fusion weight: score = cos + alpha * P(Yes).")
    group_by_file: bool = Field(False, description="One hit per file (its best window).")


class AudioQuery(_Strict):
    """Query by example with audio the service can read: a stored point's segment (``id``) or a ``uri``.
    Upload a file as multipart ``audio`` (with these fields as form fields) instead."""

    id: str | None = Field(None, description="Point id whose segment is the query.")
    uri: str | None = Field(None, description="Audio path/URI the service can read.")
    limit: int = Field(10, ge=1)
    filter: dict[str, Any] | None = None
    group_by_file: bool = False
    exclude_self: bool = Field(False, description="Leave out every segment of the query's own file.")


class RerankRequest(_Strict):
    """``t2a``: P(Yes) that each candidate audio (point ``ids``, or uploaded ``audio`` files) matches the
    text ``query``. ``a2t``: P(Yes) that each of ``texts`` describes the query audio (``audio_id``,
    ``audio_uri`` or one uploaded ``audio`` file)."""

    direction: Literal["t2a", "a2t"] = "t2a"
    query: str | None = None
    ids: list[str] | None = None
    texts: list[str] | None = None
    audio_id: str | None = None
    audio_uri: str | None = None


class Hit(BaseModel):
    id: str
    score: float
    retrieval_score: float
    rerank_score: float | None
    source: str | None
    start_s: float | None
    end_s: float | None
    rerank_error: str | None
    payload: dict[str, Any]
    audio_url: str = Field(..., description="This segment's audio as WAV (GET, range requests).")


class SearchResponse(BaseModel):
    collection: str
    model: str
    reranked: bool
    alpha: float | None
    hits: list[Hit]
    timings: dict[str, float] = Field(
        ..., description="Seconds per stage: queue, embed, retrieve, rerank, total."
    )


class RerankResponse(BaseModel):
    direction: str
    alpha: float = Field(..., description="The re-ranker's fusion weight for this direction.")
    scores: list[float | None] = Field(
        ..., description="P(Yes) per candidate, in input order (None: unreadable)."
    )
    errors: dict[str, str] = Field(
        default_factory=dict, description="Why a candidate (by index) has no score."
    )
    timings: dict[str, float]
