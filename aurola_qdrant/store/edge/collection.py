"""`EdgeCollection`: one collection of an Edge store, its shard and its `CollectionMeta`, opened once.

Durability (what `flush` is for): Edge's ``update`` appends to its write-ahead log without fsync, so an
acknowledged write survives the process being killed but not a power loss; ``flush`` writes the segments
and fsyncs them. `dirty` records whether anything but flag fields was written since the last flush, so the
store's "flush before the completion flag" rule costs one flush per upload batch, not one per file.
"""

from __future__ import annotations

import errno
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from .meta import CollectionMeta
from .settings import edge_config

__all__ = ["MIN_FREE_BYTES", "EdgeCollection", "check_space"]

logger = logging.getLogger(__name__)
# Edge memory-maps its WAL and segments: on a full filesystem the kernel stops the process with SIGBUS
# instead of returning ENOSPC, so writes are refused while less than this is free. Edge grows in large
# steps: measured on 0.9.0, one upsert that opened a new segment took 57 MB at once (a 32 MiB payload page
# and a 32 MiB vector chunk), and the WAL preallocates 32 MiB files; 16 MiB of margin still crashed with
# 19 MiB free. 256 MiB covers a few such steps at once (tests/ingest/test_ingest_disk_full.py).
MIN_FREE_BYTES = 256 * 1024 * 1024


def check_space(folder: Path, extra: int = 0) -> None:
    """Raise ``OSError(ENOSPC)`` (the door's `StorageFullError`) when ``folder``'s filesystem has less than
    `MIN_FREE_BYTES` (plus ``extra`` bytes) free."""
    free = shutil.disk_usage(folder).free
    need = MIN_FREE_BYTES + extra
    if free < need:
        raise OSError(
            errno.ENOSPC,
            f"No space left on device: {free // 1024} KiB free under {folder}, the embedded Qdrant Edge "
            f"store needs at least {need // 2**20} MiB to write safely",
        )


def folder_bytes(folder: Path) -> int:
    """Bytes allocated under ``folder`` (what a rewrite of every segment may need again)."""
    return sum(p.stat().st_blocks * 512 for p in folder.rglob("*") if p.is_file())


class EdgeCollection:
    def __init__(self, folder: Path, meta: CollectionMeta, shard: Any) -> None:
        self.folder, self.meta, self.shard = folder, meta, shard
        self.dirty = False
        self.lock = threading.RLock()  # meta changes and flush bookkeeping (Edge itself is thread-safe)

    @property
    def meta_path(self) -> Path:
        return self.folder / "collection.json"

    @classmethod
    def create(cls, folder: Path, meta: CollectionMeta) -> EdgeCollection:
        """A new shard, then its collection.json: the file's presence is what makes the collection exist,
        so a crash in between leaves a folder that the next create replaces."""
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        check_space(folder)
        shard = edge.EdgeShard.create(str(folder / "shard"), edge_config(meta.vectors))
        shard.flush()
        meta.save(folder / "collection.json")
        return cls(folder, meta, shard)

    @classmethod
    def open(cls, folder: Path) -> EdgeCollection:
        import json

        meta = CollectionMeta.from_json(json.loads((folder / "collection.json").read_text(encoding="utf-8")))
        # the config from collection.json is the truth: storage options changed since the last open
        # (update_collection) are applied here, to the data by the next optimize
        shard = edge.EdgeShard.load(str(folder / "shard"), edge_config(meta.vectors))
        return cls(folder, meta, shard)

    @property
    def flags(self) -> frozenset[str]:
        return self.meta.flag_fields

    def save_meta(self) -> None:
        self.meta.save(self.meta_path)

    def update(self, op: Any, touches_data: bool = True) -> None:
        check_space(self.folder)
        self.shard.update(op)
        if touches_data:
            self.dirty = True

    def flush(self) -> bool:
        """Flush when something was written since the last flush; True when it flushed."""
        with self.lock:
            if not self.dirty:
                return False
            self.dirty = False
        check_space(self.folder)
        self.shard.flush()
        return True

    def add_flag_field(self, field: str) -> None:
        """Declare ``field`` a flag (bool index): convert values already stored as booleans to 0/1."""
        with self.lock:
            self.meta.payload_schema[field] = models.PayloadSchemaType.BOOL.value
            self.save_meta()
        self.shard.update(edge.UpdateOperation.create_field_index(field, edge.PayloadSchemaType.Integer))
        offset = None
        has_field = edge.Filter(must=[edge.FieldCondition(field, is_empty=False)])
        while True:
            page, offset = self.shard.scroll(
                edge.ScrollRequest(
                    offset=offset,
                    limit=1000,
                    filter=has_field,
                    with_payload=edge.PayloadSelector.Include([field]),
                    with_vector=False,
                )
            )
            for value in (True, False):
                ids = [r.id for r in page if (r.payload or {}).get(field) is value]
                if ids:
                    self.update(edge.UpdateOperation.set_payload(ids, {field: int(value)}))
            if offset is None:
                break

    def describe(self) -> models.CollectionInfo:
        info = self.shard.info()
        counts = {k: int(v.points) for k, v in info.payload_schema.items()}
        return self.meta.info(
            int(info.points_count), int(info.indexed_vectors_count), int(info.segments_count), counts
        )

    def optimize(self) -> bool:
        """Build the HNSW index and quantization of every segment (see `edge_config`); blocks."""
        with self.lock:
            # optimizing rewrites segments beside the old ones: a full disk mid-way would be SIGBUS
            check_space(self.folder, extra=folder_bytes(self.folder / "shard" / "segments"))
            self.shard.close()
            self.shard = edge.EdgeShard.load(
                str(self.folder / "shard"), edge_config(self.meta.vectors, index_everything=True)
            )
            changed = bool(self.shard.optimize())
            self.shard.flush()
            self.dirty = False
        return changed

    def close(self) -> None:
        self.shard.close()
