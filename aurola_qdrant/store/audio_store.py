"""`AudioStore`: one embedder's view of one Qdrant collection (schema, writes, resume state, queries)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from qdrant_client import QdrantClient, models

from ..retry import QDRANT_RETRY, RetryPolicy
from . import catalog_reads, reads, schema, writes
from ._net import Net, is_server
from .catalog import CatalogLayout
from .catalog_reads import CatalogPoint
from .config import StoreConfig
from .embedder_info import EmbedderInfo
from .records import SegmentRecord

__all__ = ["AudioStore"]


class Embedding(Protocol):
    """What binding a store needs of an embedder: its collection identity for a windowing."""

    def embedder_info(self, window_s: float | None = None, hop_s: float | None = None) -> EmbedderInfo: ...


class AudioStore:
    """Store and query audio segments of one embedder (``info``) in ``collection``.

    The store never builds a client: pass a ``QdrantClient`` (server or embedded). Every call to Qdrant
    runs under ``retry`` (default `aurola_qdrant.retry.QDRANT_RETRY`); when it is exhausted the call raises
    `StoreUnavailableError`. Nothing is sent on construction; call `ensure_collection` before writing.
    """

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        info: EmbedderInfo,
        config: StoreConfig | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not isinstance(collection, str) or not collection:
            raise ValueError(f"collection must be a non-empty name, got {collection!r}")
        if not isinstance(info, EmbedderInfo):
            raise TypeError(f"info must be an EmbedderInfo, got {type(info).__name__}")
        self.client = client
        self.collection = collection
        self.embedder_info = info
        self.config = config if config is not None else StoreConfig()
        self._net = Net(client, collection, retry if retry is not None else QDRANT_RETRY)

    @classmethod
    def for_embedder(
        cls,
        client: QdrantClient,
        collection: str,
        embedder: Embedding,
        *,
        window_s: float | None = None,
        hop_s: float | None = None,
        config: StoreConfig | None = None,
        retry: RetryPolicy | None = None,
    ) -> AudioStore:
        """The store of ``embedder``'s vectors in ``collection``, segments cut with ``window_s``/``hop_s``
        (None: whole clips / query side): the one place a store is bound to an embedder's identity
        (``embedder.embedder_info(window_s, hop_s)``)."""
        info = embedder.embedder_info(window_s=window_s, hop_s=hop_s)
        return cls(client, collection, info, config, retry=retry)

    @property
    def is_server(self) -> bool:
        """Whether Qdrant is a server (several writers help) rather than an embedded engine (one)."""
        return is_server(self.client)

    def __repr__(self) -> str:
        return f"AudioStore(collection={self.collection!r}, vector={self.embedder_info.vector_name!r})"

    # schema ---------------------------------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the collection exists (nothing is created)."""
        return bool(self._net.call("collection_exists"))

    def ensure_collection(self) -> models.CollectionInfo:
        """Create or validate the collection and our vector; create payload indexes (idempotent).

        See `aurola_qdrant.store.schema.ensure_collection` for what is checked and raised."""
        return schema.ensure_collection(self._net, self.embedder_info, self.config)

    def check_query_compatible(self, info: EmbedderInfo | None = None) -> None:
        """Raise CollectionMismatchError unless ``info`` (default: ours) matches the recorded embedder."""
        schema.check_query_compatible(self._net, info if info is not None else self.embedder_info)

    def payload_index_plan(self) -> dict[str, models.PayloadSchemaType]:
        """The payload indexes `ensure_collection` creates, field -> schema."""
        return schema.payload_index_plan(self.embedder_info, self.config)

    def recorded_embedders(self) -> dict[str, EmbedderInfo | dict[str, Any]]:
        """Embedders recorded in the collection metadata, by vector name."""
        return schema.recorded_embedders(self._net.call("get_collection"))

    # writes ---------------------------------------------------------------------------------------------
    def upsert_segments(self, records: Sequence[SegmentRecord], vectors: np.ndarray) -> int:
        """Store segments with their vectors (row i for records[i]); returns points written. Idempotent."""
        return writes.upsert_segments(self._net, self.embedder_info, self.config, records, vectors)

    def mark_file_complete(self, file_id: str) -> None:
        """Flag all of ``file_id``'s points ``complete_<vector_name>=true``; call after all its segments."""
        writes.mark_file_complete(self._net, self.embedder_info, file_id)

    def add_source(self, file_id: str, source: str) -> int:
        """Record another path/URI of the same content in ``sources``; returns points changed."""
        return writes.add_source(self._net, file_id, source)

    def delete_file(self, file_id: str, *, all_embedders: bool = False) -> None:
        """Remove this embedder's vectors of ``file_id`` (and points left without any vector)."""
        writes.delete_file(self._net, self.embedder_info, file_id, all_embedders=all_embedders)

    # reads ----------------------------------------------------------------------------------------------
    def completed_file_ids(self, candidates: Iterable[str] | None = None) -> set[str]:
        """File ids complete for this embedder (restricted to ``candidates`` when given)."""
        return reads.completed_file_ids(self._net, self.embedder_info, candidates)

    def count(self, file_id: str | None = None) -> int:
        """Exact number of points with this embedder's vector (of ``file_id`` when given)."""
        return reads.count(self._net, self.embedder_info, file_id)

    def info(self) -> dict[str, Any]:
        """Summary: collection, vector_name, points (all points), vectors (points with our vector),
        files (distinct contents complete for us), paths (the paths those were seen under: a rerun counts
        each as already complete), embedders (vector name -> recorded dict), dim, window_s, hop_s."""
        collection = self._net.call("get_collection")
        recorded = schema.recorded_embedders(collection)
        files, paths = reads.completed_paths(self._net, self.embedder_info)
        return {
            "collection": self.collection,
            "vector_name": self.embedder_info.vector_name,
            "points": int(collection.points_count or 0),
            "vectors": self.count(),
            "files": files,
            "paths": paths,
            "embedders": {k: v.to_dict() if isinstance(v, EmbedderInfo) else v for k, v in recorded.items()},
            "dim": self.embedder_info.dim,
            "window_s": self.embedder_info.window_s,
            "hop_s": self.embedder_info.hop_s,
        }

    def query(
        self,
        vector: np.ndarray | Sequence[float],
        *,
        limit: int = 10,
        query_filter: models.Filter | None = None,
        with_payload: bool | Sequence[str] = True,
        score_threshold: float | None = None,
        offset: int = 0,
    ) -> list[models.ScoredPoint]:
        """Nearest points to ``vector`` (shape ``(dim,)``) by our named vector, best first (cosine),
        skipping the first ``offset`` (pagination)."""
        return reads.query(
            self._net,
            self.embedder_info,
            vector,
            limit=limit,
            query_filter=query_filter,
            with_payload=with_payload,
            score_threshold=score_threshold,
            offset=offset,
        )

    def query_catalog(
        self,
        layout: CatalogLayout,
        vector: np.ndarray | Sequence[float],
        *,
        limit: int = 10,
        offset: int = 0,
        query_filter: models.Filter | None = None,
        score_threshold: float | None = None,
        fuse_with: Mapping[str, Any] | None = None,
        fusion: str = "rrf",
        candidates: int = 50,
        search_params: models.SearchParams | None = None,
    ) -> list[CatalogPoint]:
        """Catalog points (one per recording, `aurola_qdrant.store.catalog`) ranked ``offset ..
        offset + limit`` for ``vector``, each with the window that matched; ``fuse_with`` fuses with
        the team's own vectors through Qdrant (`catalog_reads.query_catalog`)."""
        return catalog_reads.query_catalog(
            self._net,
            layout,
            vector,
            limit=limit,
            offset=offset,
            query_filter=query_filter,
            score_threshold=score_threshold,
            fuse_with=fuse_with,
            fusion=fusion,
            candidates=candidates,
            search_params=search_params,
        )

    def query_groups(
        self,
        vector: np.ndarray | Sequence[float],
        *,
        group_by: str = "file_id",
        limit: int = 10,
        group_size: int = 1,
        query_filter: models.Filter | None = None,
        with_payload: bool | Sequence[str] = True,
    ) -> list[models.PointGroup]:
        """Best ``limit`` groups (default: one per file) of up to ``group_size`` points each."""
        return reads.query_groups(
            self._net,
            self.embedder_info,
            vector,
            group_by=group_by,
            limit=limit,
            group_size=group_size,
            query_filter=query_filter,
            with_payload=with_payload,
        )

    def retrieve(
        self, ids: Sequence[Any], *, with_vectors: bool | Sequence[str] = False
    ) -> list[models.Record]:
        """Points by id, with payload (and vectors when asked); missing ids are skipped."""
        return reads.retrieve(self._net, ids, with_vectors=with_vectors)
