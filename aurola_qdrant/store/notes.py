"""Warnings that tell the truth: what the engine behind a store cannot honour, said once per store folder
(or server) and process, through `logging` (the CLI shows WARNING lines), never silently dropped.

* qdrant-client local mode: no payload indexes, exact search in Python, and none of the storage settings
  (on-disk, float16, quantization, HNSW); past 20,000 points it is slow to reopen and query. Its own
  ``UserWarning`` about that size is replaced by one line with the fix (migrate to Qdrant Edge).
* Qdrant Edge: no cluster layout (shard_number, replication_factor); the HNSW index and quantization
  are built only by ``aurola-qdrant collection optimize`` (search is exact until then).
"""

from __future__ import annotations

import logging
import threading
import warnings
from typing import Any

from ._net import Net, is_local_mode, where
from .config import StoreConfig

__all__ = ["LOCAL_MODE_LARGE", "note_engine", "quiet_local_mode_size_warning"]

logger = logging.getLogger(__name__)
LOCAL_MODE_LARGE = 20_000  # qdrant-client's own threshold (QdrantLocal.LARGE_DATA_THRESHOLD)
_SAID: set[tuple[str, str]] = set()
_SAID_LOCK = threading.Lock()


def _once(place: str, topic: str, message: str) -> None:
    with _SAID_LOCK:
        if (place, topic) in _SAID:
            return
        _SAID.add((place, topic))
    logger.warning("%s", message)


def quiet_local_mode_size_warning() -> None:
    """Silence qdrant-client's "Local mode is not recommended..." UserWarning; `note_engine` says it with
    the fix instead."""
    warnings.filterwarnings("ignore", message="Local mode is not recommended", category=UserWarning)


def _local_ignored(config: StoreConfig) -> list[str]:
    out = []
    if config.on_disk:
        out.append("on_disk")
    if config.datatype != "float32":
        out.append(f"datatype={config.datatype}")
    if config.quantization:
        out.append(f"quantization={config.quantization}")
    if config.hnsw_on_disk:
        out.append("hnsw_on_disk")
    return out


def note_engine(net: Net, config: StoreConfig | None, points: int) -> None:
    """Say, once, what the engine behind ``net`` will not do for this store (see the module docstring)."""
    place = where(net.client)
    if is_local_mode(net.client):
        quiet_local_mode_size_warning()
        if place != ":memory:":  # scratch/test stores: no indexes is expected there, no note
            _once(
                place,
                "indexes",
                f"note: the embedded store at {place} (qdrant-client local mode) keeps no payload indexes "
                "and scans every point per query: fine for small collections; use Qdrant Edge "
                "(aurola-qdrant collection migrate) or a Qdrant server for large ones",
            )
        ignored = _local_ignored(config) if config is not None else []
        if ignored:
            _once(
                place,
                "settings",
                f"note: qdrant-client local mode cannot honour {', '.join(ignored)}: vectors are kept in "
                f"RAM as float64 and searched exactly; convert the store (aurola-qdrant collection "
                f"migrate --qdrant-path {place}) to have them",
            )
        if points > LOCAL_MODE_LARGE:
            _once(
                place,
                f"size:{net.collection}",
                f"note: collection {net.collection!r} in the local-mode store at {place} holds {points:,} "
                f"points (over {LOCAL_MODE_LARGE:,}): local mode keeps every vector in RAM as float64 and "
                "scans them all per query, so reopening and searching get slow and memory-hungry; convert "
                f"it to Qdrant Edge: aurola-qdrant collection migrate --qdrant-path {place}",
            )
        return
    unhonoured: Any = getattr(net.client, "unhonoured", None)
    if isinstance(unhonoured, list) and unhonoured:
        _once(
            place,
            "cluster",
            f"note: the embedded Qdrant Edge store at {place} has no cluster: "
            f"{', '.join(unhonoured)} ignored (one shard, no replicas)",
        )
    if callable(getattr(net.client, "optimize", None)) and config is not None:
        pending = [
            s
            for s, on in (("quantization", config.quantization), ("hnsw_on_disk", config.hnsw_on_disk))
            if on
        ]
        if pending:
            _once(
                place,
                f"optimize:{net.collection}",
                f"note: {' and '.join(pending)} of collection {net.collection!r} take effect when its index "
                f"is built: aurola-qdrant collection optimize {net.collection} (search is exact until then)",
            )
