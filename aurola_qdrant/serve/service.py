"""`SearchService`: the models, the collection and the batcher behind the HTTP routes (no HTTP here).

Every method is synchronous and runs on a worker thread (the routes hand it off the event loop); the
model work inside goes through the micro-batcher (embedding) or the serialised re-ranker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..audio import AudioItem
from ..errors import AurolaError
from ..retry import RetryPolicy
from ..search import MAX_QUERY_CHARS, AudioSearch
from ..search.candidates import load_candidate
from ..search.fusion import fusion_plan, score_candidates
from ..search.hits import SearchHit
from ..store import AudioStore
from ..store._net import Net, where
from .batching import MicroBatcher
from .config import ServeConfig
from .filters import FieldCatalog
from .metrics import Metrics
from .models import BatchedEmbedder, GuardedReranker
from .segments import SegmentAudio
from .stages import collect, timed

if TYPE_CHECKING:
    from qdrant_client import QdrantClient, models

    from ..protocols import Embedder, Reranker

__all__ = ["SearchService"]

#: Qdrant calls of a request retry this long through an outage before answering 503.
REQUEST_RETRY = RetryPolicy(max_attempts=4, max_delay_s=5.0, first_contact_s=5.0, hint="--retry-budget")


class SearchService:
    """Search ``collection`` with ``embedder`` (and ``reranker``), batching concurrent model calls.

    Construction checks the collection like `AudioSearch` (CollectionMismatchError, StoreUnavailableError).
    ``secrets`` (e.g. the Qdrant API key) are scrubbed from every error message the service answers.
    """

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        embedder: Embedder,
        reranker: Reranker | None = None,
        config: ServeConfig | None = None,
        *,
        retry: RetryPolicy | None = None,
        secrets: Sequence[str | None] = (),
    ) -> None:
        self.config = config if config is not None else ServeConfig()
        self.client = client
        self.collection = collection
        self.secrets = [*secrets, self.config.api_key]
        self.metrics = Metrics()
        cfg = self.config
        self.batcher = MicroBatcher(
            BatchedEmbedder.runners(embedder),
            max_batch=cfg.max_batch if cfg.batching else 1,
            wait_s=cfg.batch_wait_ms / 1000.0 if cfg.batching else 0.0,
            max_queue=cfg.max_queue,
            on_batch=self.metrics.observe_batch,
            on_depth=self.metrics.queue.set,
        )
        self.embedder = BatchedEmbedder(embedder, self.batcher)
        self.reranker = GuardedReranker(reranker) if reranker is not None else None
        policy = retry if retry is not None else REQUEST_RETRY
        try:
            self.search = AudioSearch(client, collection, self.embedder, self.reranker, retry=policy)
        except BaseException:
            self.batcher.close()
            raise
        self.store: AudioStore = self.search.store
        self.net = Net(client, collection, policy)
        self.catalog = FieldCatalog(self.store, self.net)
        self.segments = SegmentAudio(self.store, cfg.audio_cache_bytes)

    def close(self) -> None:
        self.batcher.close()

    # ------------------------------------------------------------------------------------------- embed
    def embed_texts(self, texts: list[str]) -> tuple[np.ndarray, dict[str, float]]:
        with collect() as stages:
            vectors = self.embedder.embed_text(texts)
        return vectors, stages

    def embed_audio(self, items: list[AudioItem]) -> tuple[np.ndarray, dict[str, float]]:
        with collect() as stages:
            vectors = self.embedder.embed_audio(items)
        return vectors, stages

    # ------------------------------------------------------------------------------------------ search
    def search_text(
        self, query: str, *, query_filter: models.Filter | None, **options: Any
    ) -> dict[str, Any]:
        """`AudioSearch.search` with its fusion header and stage timings."""
        reranking, alpha = fusion_plan(options.get("rerank"), options.get("alpha"), self.reranker, "t2a")
        with collect() as stages:
            hits = self.search.search(query, query_filter=query_filter, **options)
        return self._answer(hits, stages, reranking, alpha)

    def search_audio(
        self, audio: AudioItem, *, query_filter: models.Filter | None, **options: Any
    ) -> dict[str, Any]:
        """`AudioSearch.search_by_audio` (no re-ranking: no audio→audio prompt)."""
        with collect() as stages:
            hits = self.search.search_by_audio(audio, query_filter=query_filter, **options)
        return self._answer(hits, stages, False, 0.0)

    def _answer(
        self, hits: list[SearchHit], stages: dict[str, float], reranking: bool, alpha: float
    ) -> dict[str, Any]:
        stages["retrieve"] = max(0.0, stages["total"] - sum(v for k, v in stages.items() if k != "total"))
        self.metrics.observe_stages(stages)
        return {
            "collection": self.collection,
            "model": self.embedder.model_id,
            "reranked": reranking,
            "alpha": alpha if reranking else None,
            "hits": [{**h.to_dict(), "audio_url": f"/v1/audio/{h.id}"} for h in hits],
            "timings": stages,
        }

    # ------------------------------------------------------------------------------------------ rerank
    def judge(self) -> GuardedReranker:
        if self.reranker is None:
            raise ValueError("this service has no re-ranker: start it with --reranker to use /v1/rerank")
        return self.reranker

    def rerank_t2a(self, query: str, candidates: list[AudioItem]) -> dict[str, Any]:
        """P(Yes) of each candidate audio for the text ``query``; unreadable ones get None and a reason."""
        judge = self.judge()
        with collect() as stages:
            waves: dict[int, np.ndarray] = {}
            errors: dict[int, str] = {}
            with timed("load"):
                for i, item in enumerate(candidates):
                    try:
                        waves[i] = judge.load_candidate(item)
                    except (AurolaError, OSError) as err:  # reported per candidate, never fatal
                        errors[i] = f"{type(err).__name__}: {err}"
            order = sorted(waves)
            scores, failed = score_candidates(
                [waves[i] for i in order], lambda batch: judge.score_text_to_audio_waveforms(query, batch)
            )
        errors.update({order[j]: reason for j, reason in failed.items()})
        by_index = {order[j]: p for j, p in scores.items()}
        return self._scores("t2a", len(candidates), by_index, errors, stages)

    def rerank_a2t(self, audio: AudioItem, texts: list[str]) -> dict[str, Any]:
        """P(Yes) that each of ``texts`` describes the query ``audio``."""
        judge = self.judge()
        with collect() as stages:
            wave = judge.load_candidate(audio)
            scores, errors = score_candidates(
                texts, lambda batch: judge.score_audio_waveform_to_text(wave, batch)
            )
        return self._scores("a2t", len(texts), scores, errors, stages)

    def _scores(
        self,
        direction: str,
        n: int,
        scores: dict[int, float],
        errors: dict[int, str],
        stages: dict[str, float],
    ) -> dict[str, Any]:
        self.metrics.observe_stages(stages)
        return {
            "direction": direction,
            "alpha": self.judge().default_alpha(direction),
            "scores": [scores.get(i) for i in range(n)],
            "errors": {str(i): reason for i, reason in errors.items()},
            "timings": stages,
        }

    def candidate(self, point_id: str) -> AudioItem:
        """A stored point's segment as a re-ranking candidate (404 for an unknown id)."""
        from .inputs import point

        payload = point(self.store, point_id)
        hit = SearchHit(
            id=point_id,
            score=0.0,
            retrieval_score=0.0,
            source=payload.get("source"),
            start_s=payload.get("start_s"),
            end_s=payload.get("end_s"),
        )
        loaded = load_candidate(hit)
        if isinstance(loaded, str):
            raise ValueError(f"point {point_id!r}: {loaded}")
        return loaded

    # --------------------------------------------------------------------------------------- readiness
    def readiness(self) -> dict[str, Any]:
        """``{"ready", "checks": {models, qdrant, collection}, "detail"}``: one Qdrant try, no retries."""
        checks = {"models": True, "qdrant": False, "collection": False}
        detail = "ok"
        probe = AudioStore(
            self.client,
            self.collection,
            self.store.embedder_info,
            retry=RetryPolicy(max_attempts=1, max_delay_s=None, first_contact_s=None),
        )
        try:
            exists = probe.exists()
            checks["qdrant"] = True
            if not exists:
                detail = f"collection {self.collection!r} does not exist in {where(self.client)}"
            else:
                probe.check_query_compatible()
                checks["collection"] = True
        except Exception as err:  # any failure means not ready; the reason is reported
            detail = f"{type(err).__name__}: {err}"
        return {"ready": all(checks.values()), "checks": checks, "detail": detail}

    def describe(self) -> dict[str, Any]:
        """What the page needs: the collection, models, fusion defaults and filterable payload fields."""
        return {
            "collection": self.collection,
            "model": self.embedder.model_id,
            "vector_name": self.embedder.vector_name,
            "dim": self.embedder.dim,
            "reranker": self.reranker is not None,
            "alpha": None if self.reranker is None else self.reranker.default_alpha("t2a"),
            "points": self.store.count(),
            "fields": self.catalog.fields(),
            "max_query_chars": MAX_QUERY_CHARS,
        }
