"""`TextSearch`: audio→text, ranking the captions/labels of a text collection for one audio clip."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from qdrant_client import QdrantClient, models

from ..audio import SAMPLE_RATE
from ..embedder import to_waveform
from ..retry import RetryPolicy
from .compat import embedder_info, open_for_query
from .fusion import check_counts, fuse_and_sort, fusion_plan, score_candidates
from .hits import SearchHit, hit_from_point
from .text_collection import TEXT_CONFIG

if TYPE_CHECKING:
    from ..embedder import AudioItem, AurolaEmbedder

__all__ = ["TextSearch"]


class TextSearch:
    """Rank the texts of ``collection`` (written by `ingest_texts` / ``aurola-qdrant ingest-text``) for an
    audio clip, re-ranking with ``reranker.score_audio_to_text(audio_item, texts)`` when given.

    Construction refuses a missing collection or one whose recorded embedder differs from ``embedder``
    (`CollectionMismatchError`).
    """

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        embedder: AurolaEmbedder,
        reranker: Any = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.embedder = embedder
        self.reranker = reranker
        self.collection = collection
        self.store = open_for_query(
            client, collection, embedder_info(embedder), config=TEXT_CONFIG, retry=retry
        )

    def __repr__(self) -> str:
        return f"TextSearch({self.collection!r}, vector={self.store.embedder_info.vector_name!r})"

    def _scorer(self, waveform: np.ndarray) -> Callable[[list[Any]], Any]:
        score_waveform = getattr(self.reranker, "score_audio_waveform_to_text", None)
        if score_waveform is not None:  # the query clip is already decoded: hand the samples over as they are
            return lambda texts: score_waveform(waveform, texts)
        return lambda texts: self.reranker.score_audio_to_text((waveform, SAMPLE_RATE), texts)

    def describe(
        self,
        audio: AudioItem,
        *,
        limit: int = 10,
        candidates: int = 50,
        query_filter: models.Filter | None = None,
        rerank: bool | None = None,
        alpha: float | None = None,
    ) -> list[SearchHit]:
        """The best ``limit`` texts for ``audio`` (a path, ``(waveform, sample_rate)`` or `AudioSegment`).

        Same contract as `AudioSearch.search` in the other direction: top ``max(candidates, limit)`` by
        cosine, then (when re-ranking) P(Yes) from the audio→text prompt, fused with the ``"a2t"`` alpha.
        Hits carry the text in ``hit.text``; source and bounds are None. A stored point without a text is
        kept with its cosine and flagged. The query audio is decoded once and shared by both models.

        Raises AudioDecodeError / AudioTooLongError for an unusable query audio, ValueError for bad
        arguments, StoreUnavailableError.
        """
        check_counts(limit, candidates)
        reranking, weight = fusion_plan(rerank, alpha, self.reranker, "a2t")
        waveform, _ = to_waveform(audio, self.embedder.max_audio_seconds)
        vector = self.embedder.embed_audio([(waveform, SAMPLE_RATE)])[0]
        n = max(candidates, limit) if reranking else limit
        hits = [
            hit_from_point(p, audio=False)
            for p in self.store.query(vector, limit=n, query_filter=query_filter)
        ]
        if not reranking or not hits:
            return hits[:limit]
        with_text = [i for i, h in enumerate(hits) if h.text]
        scores, errors = score_candidates([hits[i].text for i in with_text], self._scorer(waveform))
        by_hit = {with_text[j]: p for j, p in scores.items()}
        reasons = {i: "payload has no 'text'" for i, h in enumerate(hits) if not h.text}
        reasons.update({with_text[j]: reason for j, reason in errors.items()})
        return fuse_and_sort(hits, by_hit, reasons, weight, limit)
