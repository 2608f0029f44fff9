"""aurola-qdrant: semantic audio search for Qdrant with AuroLA embeddings and re-ranking.

Importing this package is cheap: torch and transformers load on first use of a model class.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AudioDecodeError,
    AudioTooLongError,
    AurolaError,
    CollectionMismatchError,
    InputError,
    ModelLoadError,
    StoreUnavailableError,
    UnknownModelError,
)
from .registry import ModelSpec, get_model_spec, list_models, resolve_model

__version__ = "0.1.0"

# name -> submodule that defines it; resolved lazily so that `import aurola_qdrant` never pulls torch.
_LAZY = {
    "AurolaEmbedder": ".embedder",
    "AurolaReranker": ".rerank",
    "Embedder": ".protocols",
    "BatchEmbedder": ".protocols",
    "Reranker": ".protocols",
    "AudioItem": ".audio",
    "AudioStore": ".store",
    "StoreConfig": ".store",
    "AudioSearch": ".search",
    "SearchHit": ".search",
    "AudioSegment": ".audio",
    "load_audio": ".audio",
    "iter_windows": ".audio",
    "audio_info": ".audio",
}

if TYPE_CHECKING:  # pragma: no cover
    from .audio import AudioItem, AudioSegment, audio_info, iter_windows, load_audio
    from .embedder import AurolaEmbedder
    from .protocols import BatchEmbedder, Embedder, Reranker
    from .rerank import AurolaReranker
    from .search import AudioSearch, SearchHit
    from .store import AudioStore, StoreConfig


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aurola_qdrant' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "AudioDecodeError",
    "AudioItem",
    "AudioSearch",
    "AudioSegment",
    "AudioStore",
    "AudioTooLongError",
    "AurolaEmbedder",
    "AurolaError",
    "AurolaReranker",
    "BatchEmbedder",
    "CollectionMismatchError",
    "Embedder",
    "InputError",
    "ModelLoadError",
    "ModelSpec",
    "Reranker",
    "SearchHit",
    "StoreConfig",
    "StoreUnavailableError",
    "UnknownModelError",
    "audio_info",
    "get_model_spec",
    "iter_windows",
    "list_models",
    "load_audio",
    "resolve_model",
]
