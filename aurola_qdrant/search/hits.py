"""`SearchHit`, the typed result of every search, and its construction from Qdrant points."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from qdrant_client import models

__all__ = ["SearchHit", "hit_from_catalog", "hit_from_point"]


@dataclass(frozen=True)
class SearchHit:
    """One search result.

    Attributes:
        id: the Qdrant point id: a UUID string for ingested segments, the team's own id (integer or UUID
            string, as Qdrant returns it) for catalog points.
        score: the final score used for ranking: ``retrieval_score + alpha * rerank_score`` when the hit
            was re-ranked, else ``retrieval_score``.
        retrieval_score: cosine similarity between the query vector and the point's vector.
        rerank_score: the re-ranker's P(Yes) in [0, 1], or None (not re-ranked, or re-ranking failed).
        source: path/URI of the audio (``payload["source"]``); None for text points.
        start_s, end_s: bounds of the segment within ``source`` in seconds; None for text points.
        payload: the point's whole payload (a private copy).
        window_index: catalog points only: which window of the recording matched (0 for a recording
            embedded whole); start_s/end_s are then that window's bounds. None otherwise.
        rerank_error: why this candidate could not be re-ranked (e.g. its audio no longer decodes), or
            None. Such a hit keeps its retrieval score as its final score; it is never dropped.
    """

    id: str | int
    score: float
    retrieval_score: float
    rerank_score: float | None = None
    source: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    payload: dict[str, Any] = field(default_factory=dict, compare=False)
    rerank_error: str | None = None
    window_index: int | None = None

    def __post_init__(self) -> None:
        for name in ("score", "retrieval_score"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"SearchHit.{name} must be a finite number, got {value!r}")
        if self.rerank_score is not None and not 0.0 <= self.rerank_score <= 1.0:
            raise ValueError(
                f"SearchHit.rerank_score must be a probability in [0, 1], got {self.rerank_score!r}"
            )
        object.__setattr__(self, "payload", dict(self.payload))

    @property
    def text(self) -> str | None:
        """The caption/label of a text-collection hit (``payload["text"]``), else None."""
        value = self.payload.get("text")
        return value if isinstance(value, str) else None

    @property
    def file_id(self) -> str | None:
        """Content hash of the hit's audio file (``payload["file_id"]``), else None."""
        value = self.payload.get("file_id")
        return value if isinstance(value, str) else None

    def reranked(self, p_yes: float, alpha: float) -> SearchHit:
        """This hit re-scored with P(Yes) ``p_yes``: ``score = retrieval_score + alpha * p_yes``."""
        return replace(
            self, score=self.retrieval_score + alpha * p_yes, rerank_score=p_yes, rerank_error=None
        )

    def failed(self, reason: str) -> SearchHit:
        """This hit flagged as not re-rankable: it keeps its retrieval score as its final score."""
        return replace(self, score=self.retrieval_score, rerank_score=None, rerank_error=reason)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of all fields (what ``--json`` prints)."""
        return {
            "id": self.id,
            "score": self.score,
            "retrieval_score": self.retrieval_score,
            "rerank_score": self.rerank_score,
            "source": self.source,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "rerank_error": self.rerank_error,
            "window_index": self.window_index,
            "payload": self.payload,
        }


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def hit_from_point(point: models.ScoredPoint, *, audio: bool = True) -> SearchHit:
    """A not-yet-re-ranked hit from a Qdrant scored point (score = retrieval score = cosine).

    ``audio=False`` (text-collection points): source and bounds stay None whatever the metadata holds.
    """
    payload = dict(point.payload or {})
    if not audio:
        return SearchHit(id=str(point.id), score=point.score, retrieval_score=point.score, payload=payload)
    source = payload.get("source")
    return SearchHit(
        id=str(point.id),
        score=float(point.score),
        retrieval_score=float(point.score),
        source=source if isinstance(source, str) else None,
        start_s=_seconds(payload.get("start_s")),
        end_s=_seconds(payload.get("end_s")),
        payload=payload,
    )


def hit_from_catalog(
    point: models.ScoredPoint, window: tuple[float, float] | None, window_index: int | None, audio_field: str
) -> SearchHit:
    """A hit on a catalog point (`aurola_qdrant.store.catalog_reads`): the team's id and payload, the audio
    from ``payload[audio_field]`` and the bounds of the window that matched."""
    payload = dict(point.payload or {})
    source = payload.get(audio_field)
    return SearchHit(
        id=point.id if isinstance(point.id, int) else str(point.id),
        score=float(point.score),
        retrieval_score=float(point.score),
        source=source if isinstance(source, str) else None,
        start_s=window[0] if window is not None else None,
        end_s=window[1] if window is not None else None,
        payload=payload,
        window_index=window_index,
    )
