"""`TextSearch`: audio→text, ranking the captions/labels of a text collection for one audio clip."""

from __future__ import annotations

from qdrant_client import QdrantClient, models

from ..audio import SAMPLE_RATE, AudioItem, to_waveform
from ..protocols import Embedder, Reranker, check_reranker
from ..retry import RetryPolicy
from .compat import embedder_info, open_for_query
from .fusion import check_counts, fuse_and_sort, fusion_plan, score_candidates
from .hits import SearchHit, hit_from_point
from .text_collection import TEXT_CONFIG

__all__ = ["TextSearch"]


class TextSearch:
    """Rank the texts of ``collection`` (written by `ingest_texts` / ``aurola-qdrant ingest-text``) for an
    audio clip, re-ranking with ``reranker.score_audio_waveform_to_text(waveform, texts)`` when given.

    Construction refuses a missing collection or one whose recorded embedder differs from ``embedder``
    (`CollectionMismatchError`), and a ``reranker`` that does not satisfy `aurola_qdrant.Reranker`
    (TypeError).
    """

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        embedder: Embedder,
        reranker: Reranker | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        check_reranker(reranker)
        self.embedder = embedder
        self.reranker = reranker
        self.collection = collection
        self.store = open_for_query(
            client, collection, embedder_info(embedder), config=TEXT_CONFIG, retry=retry
        )

    def __repr__(self) -> str:
        return f"TextSearch({self.collection!r}, vector={self.store.embedder_info.vector_name!r})"

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
        reranker = self.reranker
        if not reranking or reranker is None or not hits:  # fusion_plan never re-ranks without one
            return hits[:limit]
        with_text = [i for i, h in enumerate(hits) if h.text]
        scores, errors = score_candidates(  # the query clip is decoded once, for both models
            [hits[i].text for i in with_text],
            lambda texts: reranker.score_audio_waveform_to_text(waveform, texts),
        )
        by_hit = {with_text[j]: p for j, p in scores.items()}
        reasons = {i: "payload has no 'text'" for i, h in enumerate(hits) if not h.text}
        reasons.update({with_text[j]: reason for j, reason in errors.items()})
        return fuse_and_sort(hits, by_hit, reasons, weight, limit)
