"""The Qdrant storage layer: collection schema, deterministic segment points, resume state, queries.

Modules: `config` (StoreConfig, batch arithmetic), `embedder_info` (EmbedderInfo), `records`
(SegmentRecord and payload field names), `schema` (create/validate/metadata/indexes), `writes`, `reads`,
`audio_store` (the AudioStore facade).
"""

from __future__ import annotations

from .audio_store import AudioStore
from .config import StoreConfig, auto_batch_size
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
]
