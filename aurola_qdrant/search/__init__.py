"""The query adapter: text→audio and audio→audio search over Qdrant, audio→text over a text collection,
with AuroLA re-ranking fused as ``cosine + alpha * P(Yes)``.

Modules: `hits` (SearchHit), `fusion` (alpha, fusion, batched scoring with per-item fallback),
`candidates` (reading candidate audio), `compat` (query embedder identity), `audio_search` (AudioSearch),
`text_collection` (TextCollection, ingest_texts), `text_search` (TextSearch).
"""

from __future__ import annotations

from .audio_search import MAX_QUERY_CHARS, AudioSearch
from .compat import embedder_info
from .fusion import DEFAULT_ALPHA, resolve_alpha
from .hits import SearchHit
from .text_collection import TextCollection, ingest_texts, read_text_file, text_point_id
from .text_search import TextSearch

__all__ = [
    "DEFAULT_ALPHA",
    "MAX_QUERY_CHARS",
    "AudioSearch",
    "SearchHit",
    "TextCollection",
    "TextSearch",
    "embedder_info",
    "ingest_texts",
    "read_text_file",
    "resolve_alpha",
    "text_point_id",
]
