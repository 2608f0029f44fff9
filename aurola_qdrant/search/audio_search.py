"""`AudioSearch`: text→audio search with optional re-ranking, and audio→audio query by example."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from ..audio import SAMPLE_RATE, AudioItem, AudioSegment, to_waveform
from ..errors import AurolaError, InputError
from ..ids import file_id as content_hash
from ..protocols import Embedder, Reranker, check_reranker
from ..retry import RetryPolicy
from .candidates import load_candidates
from .compat import catalog_search_params, embedder_info, open_catalog, open_for_query
from .fusion import check_counts, fuse_and_sort, fusion_plan, score_candidates
from .hits import SearchHit, hit_from_catalog, hit_from_point

__all__ = ["MAX_QUERY_CHARS", "AudioSearch"]

#: Longest text query accepted, in characters. A search query is a phrase or a caption (AuroLA's longest
#: training captions are a few hundred characters); a longer one is refused rather than truncated, since
#: cutting it silently would search for something the caller did not write.
MAX_QUERY_CHARS = 2000

logger = logging.getLogger(__name__)


def _exclude_file(query_filter: models.Filter | None, file_id: str) -> models.Filter:
    not_self = models.FieldCondition(key="file_id", match=models.MatchValue(value=file_id))
    return models.Filter(must=[query_filter] if query_filter is not None else None, must_not=[not_self])


def _query_file_id(audio: AudioItem) -> str:
    path = audio if isinstance(audio, str | os.PathLike) else getattr(audio, "source", None)
    if not isinstance(path, str | os.PathLike) or not os.path.isfile(path):
        raise InputError(
            f"exclude_self needs the query's file (a path, or an AudioSegment loaded from a file) to hash "
            f"its content; got {type(audio).__name__}. Filter its file_id out with query_filter instead."
        )
    return content_hash(os.fspath(path))


class AudioSearch:
    """Search the audio segments of ``collection`` with ``embedder``'s vectors, re-ranking with ``reranker``.

    Construction checks that the collection exists and that its recorded embedder for
    ``embedder.vector_name`` is query-compatible (model, revision, prompt version, dimension), raising
    `CollectionMismatchError` otherwise, and raises TypeError for a ``reranker`` that does not satisfy
    `aurola_qdrant.Reranker`. ``embedder`` and ``reranker`` are `AurolaEmbedder` / `AurolaReranker` or
    anything satisfying the protocols (e.g. the torch-free fakes of `aurola_qdrant.testing`).

    ``points``: ``"auto"`` (default) searches the collection as it records: ingest's per-segment points,
    or the per-file catalog points written by enrich (`aurola_qdrant.store.catalog`), where each hit is
    the team's point (their id and payload) with the window that matched as ``start_s``/``end_s``.
    ``"per-segment"`` or ``"per-file"`` insist, and a collection of the other kind is refused
    (`CollectionMismatchError` naming both).
    """

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        embedder: Embedder,
        reranker: Reranker | None = None,
        *,
        retry: RetryPolicy | None = None,
        load_workers: int = 4,
        points: str = "auto",
    ) -> None:
        check_reranker(reranker)
        self.embedder = embedder
        self.reranker = reranker
        self.collection = collection
        self.load_workers = load_workers
        self.store = open_for_query(client, collection, embedder_info(embedder), retry=retry)
        self.catalog = open_catalog(self.store, points)
        #: oversampling + rescoring, passed to Qdrant, when our catalog vectors are quantized
        self.search_params = catalog_search_params(self.store, self.catalog)

    def __repr__(self) -> str:
        return f"AudioSearch({self.collection!r}, vector={self.store.embedder_info.vector_name!r})"

    def search(
        self,
        text: str,
        *,
        limit: int = 10,
        candidates: int = 50,
        query_filter: models.Filter | None = None,
        rerank: bool | None = None,
        alpha: float | None = None,
        group_by_file: bool = False,
        offset: int = 0,
        score_threshold: float | None = None,
        fuse_with: Mapping[str, Any] | None = None,
        fusion: str = "rrf",
    ) -> list[SearchHit]:
        """The best ``limit`` segments (or files, ``group_by_file``) for the caption/query ``text``, after
        the first ``offset`` (pagination), none scoring below ``score_threshold`` (cosine, applied by
        Qdrant; it also bounds the candidates re-ranked).

        Retrieval takes the top ``max(candidates, limit)`` by cosine; when re-ranking (``rerank=None``:
        whenever a re-ranker was given) each candidate's audio is read from its payload ``source`` and
        bounds, scored in one re-ranker call, fused as ``cosine + alpha * P(Yes)`` (``alpha``: see
        `aurola_qdrant.search.fusion`), sorted and cut to ``limit``. A candidate whose audio cannot be read
        keeps its cosine as final score and carries ``rerank_error``. Without re-ranking, ``candidates`` is
        unused. ``group_by_file`` keeps one hit per file: its best window by cosine (re-ranking then orders
        files). ``query_filter`` is passed to Qdrant unchanged. On catalog points every hit is a file
        already (``group_by_file`` changes nothing) and re-ranking reads the matched window's audio;
        ``fuse_with`` (``{vector name: query vector}``, the team's own vectors of those points) ranks by
        Qdrant's fusion (``fusion``: ``"rrf"`` or ``"dbsf"``) of theirs and ours, each vector's top
        ``candidates``; scores are then fusion scores and no re-ranking is done (``rerank=True`` raises).

        Raises InputError (empty text, or longer than `MAX_QUERY_CHARS`), ValueError (bad counts/alpha,
        rerank=True without re-ranker),
        StoreUnavailableError.
        """
        check_counts(limit, candidates)
        if isinstance(text, str) and len(text) > MAX_QUERY_CHARS:
            raise InputError(
                f"the query is {len(text):,} characters long; queries are limited to {MAX_QUERY_CHARS:,} "
                "(MAX_QUERY_CHARS): search for a shorter description"
            )
        if fuse_with and (self.catalog is None or rerank):
            raise InputError(
                "fuse_with fuses our vectors with the team's on catalog points (written by enrich), without "
                "re-ranking; "
                + ("pass rerank=False" if self.catalog is not None else f"{self.collection!r} holds segments")
            )
        reranking, weight = fusion_plan(False if fuse_with else rerank, alpha, self.reranker, "t2a")
        vector = self.embedder.embed_text([text])[0]
        if fuse_with and self.catalog is not None:
            layout, audio_field = self.catalog
            found = self.store.query_catalog(
                layout, vector, limit=limit, offset=offset, query_filter=query_filter,
                fuse_with=fuse_with, fusion=fusion, candidates=candidates, search_params=self.search_params,
            )  # fmt: skip
            return [hit_from_catalog(c.point, c.window, c.window_index, audio_field) for c in found]
        page = offset + limit
        if reranking:  # the page is cut after re-ranking, so the candidates start at rank 0
            hits = self._retrieve(
                vector, max(candidates, page), query_filter, group_by_file, 0, score_threshold
            )
        else:
            hits = self._retrieve(vector, limit, query_filter, group_by_file, offset, score_threshold)
        reranker = self.reranker
        if not reranking or reranker is None or not hits:  # fusion_plan never re-ranks without one
            return hits[offset:page] if reranking else hits[:limit]
        waves, reasons = self._prepare(reranker, load_candidates(hits, self.load_workers))
        readable = sorted(waves)
        scores, errors = score_candidates(
            [waves[i] for i in readable], lambda batch: reranker.score_text_to_audio_waveforms(text, batch)
        )
        by_hit = {readable[j]: p for j, p in scores.items()}
        reasons.update({readable[j]: reason for j, reason in errors.items()})
        return fuse_and_sort(hits, by_hit, reasons, weight, page)[offset:]

    def search_by_audio(
        self,
        audio: AudioItem,
        *,
        limit: int = 10,
        query_filter: models.Filter | None = None,
        group_by_file: bool = False,
        exclude_self: bool = False,
        offset: int = 0,
        score_threshold: float | None = None,
    ) -> list[SearchHit]:
        """Query by example: the ``limit`` segments (or files) nearest to ``audio`` (audio→audio cosine).

        ``audio`` is a path, a ``(waveform, sample_rate)`` pair or an `AudioSegment`. ``exclude_self``
        drops every segment of the query's own file (matched by content hash, so copies under other paths
        are excluded too); it needs a file. No re-ranking: the AuroLA re-ranker has prompts for text→audio
        and audio→text only. Raises AudioDecodeError / AudioTooLongError for an unusable query audio.
        """
        check_counts(limit, 1)
        if exclude_self and self.catalog is not None:
            raise InputError(
                "exclude_self matches segments by content hash, which catalog points do not carry; filter "
                "the query's own point out with query_filter (e.g. on your id field) instead"
            )
        if exclude_self:
            query_filter = _exclude_file(query_filter, _query_file_id(audio))
        waveform, _ = to_waveform(audio, self.embedder.max_audio_seconds)
        vector = self.embedder.embed_audio([(waveform, SAMPLE_RATE)])[0]
        return self._retrieve(vector, limit, query_filter, group_by_file, offset, score_threshold)

    @staticmethod
    def _prepare(
        reranker: Reranker, loaded: list[AudioSegment | str]
    ) -> tuple[dict[int, np.ndarray], dict[int, str]]:
        """Split decoded candidates into checked waveforms and failure reasons (by hit index).

        ``load_candidate`` checks each clip against the model's limits (too short, over 300 s), so one bad
        candidate is flagged alone instead of failing the batched call, and the re-ranker gets samples it
        need not decode or check again."""
        items: dict[int, np.ndarray] = {}
        reasons: dict[int, str] = {}
        for i, item in enumerate(loaded):
            if isinstance(item, str):
                reasons[i] = item
                continue
            try:
                items[i] = reranker.load_candidate(item)
            except AurolaError as err:
                reasons[i] = f"{type(err).__name__}: {err}"
        return items, reasons

    def _retrieve(
        self,
        vector: np.ndarray,
        n: int,
        query_filter: models.Filter | None,
        group_by_file: bool,
        offset: int = 0,
        score_threshold: float | None = None,
    ) -> list[SearchHit]:
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError(f"offset must be an integer >= 0, got {offset!r}")
        if self.catalog is not None:
            layout, audio_field = self.catalog
            found = self.store.query_catalog(
                layout,
                vector,
                limit=n,
                offset=offset,
                query_filter=query_filter,
                score_threshold=score_threshold,
                search_params=self.search_params,
            )
            return [hit_from_catalog(c.point, c.window, c.window_index, audio_field) for c in found]
        if group_by_file:
            if offset or score_threshold is not None:
                raise InputError("offset and score_threshold are not supported with group_by_file")
            groups = self.store.query_groups(vector, group_by="file_id", limit=n, query_filter=query_filter)
            return [hit_from_point(g.hits[0]) for g in groups if g.hits]
        points = self.store.query(
            vector, limit=n, query_filter=query_filter, offset=offset, score_threshold=score_threshold
        )
        return [hit_from_point(p) for p in points]
