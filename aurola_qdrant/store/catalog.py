"""Catalog points: AuroLA vectors on a team's own points, one point per recording.

A team's catalog keeps one point per recording (their ids, payload and other vectors). We add, in place:

* ``<vector_name>``: one dense vector (cosine) for a recording up to ``window_s`` seconds long;
* ``<vector_name>-windows``: a ``MAX_SIM`` multivector of its window vectors for a longer one (a query
  scores the recording by its best window);
* ``aurola_<vector_name>`` (payload, one namespaced key): the marker `CatalogMarker` — which embedder wrote
  the vectors (its write key), from which audio, and the window bounds, so a hit can say which window
  matched.

Only ``update_vectors`` and ``set_payload`` of that one key are ever sent: never an upsert, which would
replace the point's payload and other vectors. Vectors and marker go in one ``batch_update_points``, the
marker last, so a marker is never ahead of its vectors ("current" = marker's embedder and audio source
equal the offered ones; an interrupted batch is redone by the rerun, and every write is set-to-value).

The collection records the representation under ``aurola_points:<vector_name>`` in its metadata
(``{"representation": "per-file", "dense": ..., "windows": ..., "audio_field": ...}``), beside the
`EmbedderInfo` records of both vectors (`schema`), so a search can refuse a mismatched one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qdrant_client import models

from ..errors import CollectionMismatchError
from ._net import Net
from .config import StoreConfig
from .embedder_info import EmbedderInfo
from .schema import ensure_vector

__all__ = [
    "PER_FILE",
    "PER_SEGMENT",
    "POINTS_PREFIX",
    "CatalogLayout",
    "CatalogMarker",
    "RecordingVectors",
    "recorded_representation",
    "write_recordings",
]

POINTS_PREFIX = "aurola_points:"
PER_FILE = "per-file"
PER_SEGMENT = "per-segment"
WINDOWS_SUFFIX = "-windows"


def _fingerprint(info: EmbedderInfo) -> str:
    return json.dumps(list(info.write_key()))


@dataclass(frozen=True)
class CatalogLayout:
    """Names of one embedder's vectors and marker on catalog points (see the module docstring)."""

    info: EmbedderInfo

    def __post_init__(self) -> None:
        if self.info.window_s is None:
            raise ValueError("catalog points need a window length (window_s) to split long recordings")
        if len(self.info.vector_name) > 100 - len(WINDOWS_SUFFIX):
            raise ValueError(f"vector name {self.info.vector_name!r} is too long for its '-windows' twin")

    @property
    def dense(self) -> str:
        return self.info.vector_name

    @property
    def windows(self) -> str:
        return self.info.vector_name + WINDOWS_SUFFIX

    @property
    def marker_key(self) -> str:
        return f"aurola_{self.info.vector_name}"

    @property
    def windows_info(self) -> EmbedderInfo:
        return EmbedderInfo(
            self.windows,
            self.info.model_id,
            self.info.revision,
            self.info.prompt_version,
            self.info.dim,
            self.info.window_s,
            self.info.hop_s,
        )

    def record(self, audio_field: str) -> dict[str, Any]:
        return {
            "representation": PER_FILE,
            "dense": self.dense,
            "windows": self.windows,
            "audio_field": audio_field,
        }

    def ensure(self, net: Net, config: StoreConfig, audio_field: str) -> None:
        """Add (or validate) both named vectors and record the representation; nothing else changes.

        Raises:
            CollectionMismatchError: the collection does not exist, or a vector of ours exists with
                another embedder, size or shape (`schema.ensure_vector`).
        """
        if not net.call("collection_exists"):
            raise CollectionMismatchError(
                f"collection {net.collection!r} does not exist; enrich adds vectors to an existing catalog "
                "(use `aurola-qdrant ingest` to build a new collection)"
            )
        collection = ensure_vector(net, self.info, config)
        recorded = recorded_representation(collection, self.dense)
        if recorded not in (None, PER_FILE):
            raise CollectionMismatchError(
                f"collection {net.collection!r}, vector {self.dense!r} holds {recorded} points (written by "
                f"ingest), not {PER_FILE} catalog points; use another vector name to enrich it"
            )
        ensure_vector(net, self.windows_info, config, multivector=True)
        net.call("update_collection", metadata={POINTS_PREFIX + self.dense: self.record(audio_field)})

    def is_current(self, payload: Mapping[str, Any] | None, source: str) -> bool:
        """Whether ``payload``'s marker says our vectors there come from this embedder and ``source``."""
        marker = (payload or {}).get(self.marker_key)
        return (
            isinstance(marker, Mapping)
            and marker.get("embedder") == _fingerprint(self.info)
            and marker.get("source") == source
        )


@dataclass(frozen=True)
class CatalogMarker:
    """The payload under ``aurola_<vector_name>``: what wrote our vectors and the window bounds."""

    embedder: str
    source: str
    duration_s: float
    vector: str
    windows: tuple[tuple[float, float], ...]

    def to_payload(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder,
            "source": self.source,
            "duration_s": self.duration_s,
            "vector": self.vector,
            "windows": [list(w) for w in self.windows],
        }

    @classmethod
    def from_payload(cls, value: Any) -> CatalogMarker | None:
        """The marker in a payload value, None when absent or unreadable."""
        if not isinstance(value, Mapping):
            return None
        try:
            windows = tuple((float(s), float(e)) for s, e in value.get("windows") or ())
            return cls(
                str(value["embedder"]),
                str(value["source"]),
                float(value["duration_s"]),
                str(value["vector"]),
                windows,
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class RecordingVectors:
    """One recording's vectors for one catalog point: ``vectors`` is ``(n_windows, dim)`` float32, one row
    per window of ``bounds``; a single row up to the window length is stored as the dense vector."""

    point_id: Any
    source: str
    duration_s: float
    bounds: tuple[tuple[float, float], ...]
    vectors: np.ndarray

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.bounds) or not len(self.bounds):
            raise ValueError(
                f"vectors {self.vectors.shape} must have one row per window ({len(self.bounds)})"
            )
        if not np.isfinite(self.vectors).all():
            raise ValueError(f"vectors of {self.source!r} are not finite")


def write_recordings(net: Net, layout: CatalogLayout, recordings: Sequence[RecordingVectors]) -> int:
    """Write our vectors and markers on existing points in one ``batch_update_points``; returns points
    written. Only our named vectors and our marker key change; ids, payload and other vectors stay."""
    if not recordings:
        return 0
    point_vectors: list[models.PointVectors] = []
    ops: list[Any] = []
    drop_dense: list[Any] = []
    drop_windows: list[Any] = []
    for r in recordings:
        multi = len(r.bounds) > 1
        name = layout.windows if multi else layout.dense
        value: Any = (
            r.vectors.astype(np.float32).tolist() if multi else r.vectors[0].astype(np.float32).tolist()
        )
        point_vectors.append(models.PointVectors(id=r.point_id, vector={name: value}))
        (drop_dense if multi else drop_windows).append(r.point_id)
        marker = CatalogMarker(_fingerprint(layout.info), r.source, r.duration_s, name, tuple(r.bounds))
        ops.append(
            models.SetPayloadOperation(
                set_payload=models.SetPayload(
                    payload={layout.marker_key: marker.to_payload()}, points=[r.point_id]
                )
            )
        )
    # a recording that changed length since it was last enriched must not keep its other-shaped vector
    drops: list[Any] = [
        models.DeleteVectorsOperation(delete_vectors=models.DeleteVectors(points=ids, vector=[name]))
        for ids, name in ((drop_dense, layout.dense), (drop_windows, layout.windows))
        if ids
    ]
    update = models.UpdateVectorsOperation(update_vectors=models.UpdateVectors(points=point_vectors))
    net.call("batch_update_points", update_operations=[*drops, update, *ops], wait=True)
    return len(recordings)


def recorded_representation(collection: models.CollectionInfo, vector_name: str) -> str | None:
    """``"per-file"`` when ``vector_name`` was written by enrich (catalog points), ``"per-segment"`` when it
    has an embedder record but no representation record (ingest's points), None when neither."""
    metadata = collection.config.metadata or {}
    record = metadata.get(POINTS_PREFIX + vector_name)
    if isinstance(record, Mapping):
        return str(record.get("representation", PER_FILE))
    from .schema import METADATA_PREFIX

    return PER_SEGMENT if METADATA_PREFIX + vector_name in metadata else None
