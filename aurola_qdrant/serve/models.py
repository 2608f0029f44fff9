"""The service's views of the models: an embedder whose calls go through the micro-batcher, and a
re-ranker whose calls run one at a time and are timed.

`AudioSearch` is given these instead of the models themselves, so every search runs the library's own
code (the same results as `AudioSearch.search`) while its embedding shares a batch with other requests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..audio import SAMPLE_RATE, to_waveform
from ..audio.items import is_single_item
from .batching import MicroBatcher
from .stages import timed

if TYPE_CHECKING:
    from ..audio import AudioItem
    from ..protocols import Embedder, Reranker
    from ..store import EmbedderInfo

__all__ = ["BatchedEmbedder", "GuardedReranker"]


class BatchedEmbedder:
    """``embedder``'s identity, with `embed_text` / `embed_audio` run by a shared `MicroBatcher`.

    Audio items are decoded on the caller's thread; only model work goes to the batcher's thread."""

    def __init__(self, embedder: Embedder, batcher: MicroBatcher) -> None:
        self.inner = embedder
        self.batcher = batcher

    @staticmethod
    def runners(embedder: Embedder) -> dict[str, Any]:
        """The batcher's model calls for ``embedder``: texts, and decoded 16 kHz waveforms."""
        return {
            "text": lambda texts: embedder.embed_text(list(texts)),
            "audio": lambda waves: embedder.embed_audio([(w, SAMPLE_RATE) for w in waves]),
        }

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def revision(self) -> str:
        return self.inner.revision

    @property
    def vector_name(self) -> str:
        return self.inner.vector_name

    @property
    def prompt_version(self) -> str:
        return self.inner.prompt_version

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def max_audio_seconds(self) -> float:
        return self.inner.max_audio_seconds

    def embedder_info(self, window_s: float | None = None, hop_s: float | None = None) -> EmbedderInfo:
        return self.inner.embedder_info(window_s, hop_s)

    def embed_text(self, texts: str | Sequence[str]) -> np.ndarray:
        items = [texts] if isinstance(texts, str) else list(texts)
        return self.batcher.run("text", items).reshape(len(items), self.dim)

    def embed_audio(self, items: AudioItem | Iterable[AudioItem]) -> np.ndarray:
        batch: list[Any] = [items] if is_single_item(items) else list(items)  # type: ignore[arg-type]
        waves = [to_waveform(item, self.max_audio_seconds)[0] for item in batch]
        return self.batcher.run("audio", waves).reshape(len(waves), self.dim)


class GuardedReranker:
    """``reranker`` with its scoring calls serialised (one model, one call at a time) and timed as the
    ``rerank`` stage. Candidates' decoding (`load_candidate`) stays concurrent."""

    def __init__(self, reranker: Reranker) -> None:
        self.inner = reranker
        self._lock = threading.Lock()

    def default_alpha(self, direction: str) -> float:
        return self.inner.default_alpha(direction)

    def load_candidate(self, item: AudioItem) -> np.ndarray:
        return self.inner.load_candidate(item)

    def score_text_to_audio(self, text: str, audio_items: Sequence[AudioItem]) -> np.ndarray:
        return self.score_text_to_audio_waveforms(text, [self.load_candidate(a) for a in audio_items])

    def score_audio_to_text(self, audio_item: AudioItem, texts: Sequence[str]) -> np.ndarray:
        return self.score_audio_waveform_to_text(self.load_candidate(audio_item), texts)

    def score_text_to_audio_waveforms(self, text: str, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        with timed("rerank"), self._lock:
            return self.inner.score_text_to_audio_waveforms(text, waveforms)

    def score_audio_waveform_to_text(self, waveform: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        with timed("rerank"), self._lock:
            return self.inner.score_audio_waveform_to_text(waveform, texts)
