"""`CollectionMeta`: what a collection is beyond its Edge shard, kept in ``collection.json`` beside it.

Edge 0.9.0 shards have vectors and payload indexes but no collection metadata, so the collection's
configuration as qdrant-client describes it lives here: the named vectors (`models.VectorParams`, the
truth the shard's `EdgeConfig` is built from on every open), the collection metadata (where the store
records each vector's embedder, `aurola_qdrant.store.schema`) and the payload schema. The file is
rewritten atomically (`write_json_atomic`) on every change.

Flag fields: every field with a ``bool`` payload index (the store's ``complete_<vector>``) is stored as the
integer 0/1, because Edge 0.9.0 cannot match a boolean: ``MatchValue(True)`` reaches the engine as the
integer 1 and never matches a stored ``true``. The engine encodes those fields on write, decodes them on
read and matches them as integers, so callers see booleans and their filters work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qdrant_client import models

from .layout import write_json_atomic

__all__ = ["CollectionMeta"]


@dataclass
class CollectionMeta:
    vectors: dict[str, models.VectorParams]
    metadata: dict[str, Any] = field(default_factory=dict)
    payload_schema: dict[str, str] = field(default_factory=dict)  # field -> PayloadSchemaType value

    @property
    def flag_fields(self) -> frozenset[str]:
        """Fields stored as 0/1 integers and shown as booleans (the ``bool`` payload indexes)."""
        return frozenset(
            k for k, v in self.payload_schema.items() if v == models.PayloadSchemaType.BOOL.value
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "vectors": {k: v.model_dump(mode="json", exclude_none=True) for k, v in self.vectors.items()},
            "metadata": self.metadata,
            "payload_schema": self.payload_schema,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CollectionMeta:
        vectors = {k: models.VectorParams(**v) for k, v in data.get("vectors", {}).items()}
        return cls(vectors, dict(data.get("metadata") or {}), dict(data.get("payload_schema") or {}))

    def save(self, path: Path) -> None:
        write_json_atomic(path, self.to_json())

    def merge_metadata(self, update: dict[str, Any]) -> None:
        """Qdrant's rule: keys are merged one by one, a ``None`` value removes its key."""
        for key, value in update.items():
            if value is None:
                self.metadata.pop(key, None)
            else:
                self.metadata[key] = value

    def apply_diff(self, name: str, diff: models.VectorParamsDiff) -> None:
        """Storage options changed after creation; they take effect when the shard is next opened and
        applied to the stored data by `EdgeShard.optimize`."""
        params = self.vectors[name]
        update: dict[str, Any] = {}
        if diff.on_disk is not None:
            update["on_disk"] = diff.on_disk
        if diff.quantization_config is not None:
            update["quantization_config"] = diff.quantization_config
        if diff.hnsw_config is not None:
            update["hnsw_config"] = diff.hnsw_config
        self.vectors[name] = params.model_copy(update=update)

    def info(self, points: int, indexed: int, segments: int, counts: dict[str, int]) -> models.CollectionInfo:
        """The collection as qdrant-client describes one (``counts``: points per indexed payload field)."""
        single = list(self.vectors) == [""]
        vectors: Any = self.vectors[""] if single else dict(self.vectors)
        schema = {
            k: models.PayloadIndexInfo(data_type=models.PayloadSchemaType(v), points=counts.get(k, 0))
            for k, v in self.payload_schema.items()
        }
        return models.CollectionInfo(
            status=models.CollectionStatus.GREEN,
            optimizer_status=models.OptimizersStatusOneOf.OK,
            indexed_vectors_count=indexed,
            points_count=points,
            segments_count=segments,
            payload_schema=schema,
            config=models.CollectionConfig(
                params=models.CollectionParams(vectors=vectors, shard_number=1, replication_factor=1),
                hnsw_config=models.HnswConfig(m=16, ef_construct=100, full_scan_threshold=10_000),
                optimizer_config=models.OptimizersConfig(
                    deleted_threshold=0.2,
                    vacuum_min_vector_number=1000,
                    default_segment_number=0,
                    flush_interval_sec=0,
                ),
                wal_config=models.WalConfig(wal_capacity_mb=32, wal_segments_ahead=0),
                quantization_config=None,
                metadata=dict(self.metadata),
            ),
        )
