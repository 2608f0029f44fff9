"""The Qdrant storage layer: collection schema, deterministic segment points, resume state, queries.

Modules: `config` (StoreConfig, batch arithmetic), `embedder_info` (EmbedderInfo), `records`
(SegmentRecord and payload field names), `schema` (create/validate/metadata/indexes), `writes`, `reads`,
`audio_store` (the AudioStore facade), `engine` (what a backend provides), `embedded` (`open_embedded`: the
engine behind an embedded folder), `edge` (the Qdrant Edge engine, imported on first use), `transfer`
(copying a collection between engines), `notes` (what an engine cannot honour, said once).
"""

from __future__ import annotations

from .audio_store import AudioStore
from .config import StoreConfig, auto_batch_size
from .embedded import embedded_kind, open_embedded
from .embedder_info import EmbedderInfo
from .records import COMPLETE_PREFIX, RESERVED_FIELDS, SegmentRecord, complete_field

__all__ = [
    "COMPLETE_PREFIX",
    "RESERVED_FIELDS",
    "AudioStore",
    "EmbedderInfo",
    "SegmentRecord",
    "StoreConfig",
    "auto_batch_size",
    "complete_field",
    "embedded_kind",
    "open_embedded",
]
