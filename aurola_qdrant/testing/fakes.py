"""Torch-free stand-ins for the two models, to unit-test code built on `aurola_qdrant` (like httpx's
``MockTransport``): no checkpoint, no torch, no transformers, and results that never change.

    from qdrant_client import QdrantClient
    from aurola_qdrant import AudioSearch
    from aurola_qdrant.testing import FakeEmbedder, FakeReranker

    client = QdrantClient(":memory:")
    ...  # write points with FakeEmbedder().embed_audio(...) through AudioStore, then
    search = AudioSearch(client, "sounds", FakeEmbedder(), FakeReranker())

`FakeEmbedder` satisfies `aurola_qdrant.BatchEmbedder` (so the ingest pipeline takes it too) and
`FakeReranker` satisfies `aurola_qdrant.Reranker`. By default a vector is a pseudo-random unit vector
seeded by a hash of the content (the text, or the mono 16 kHz float32 samples), and P(Yes) a number in
[0, 1) seeded by a hash of the pair: equal inputs give equal outputs, in any batch and any process.
Pass ``text_vector`` / ``audio_vector`` / ``p_yes`` to script the answers a test needs. Inputs are
checked like the real models check them (empty text, empty or overlong audio), with the same errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..audio.items import AudioItem, is_single_item, to_waveform
from ..audio.resample import SAMPLE_RATE
from ..errors import AudioTooLongError, InputError
from ..model.inputs import EncodedPrompt
from ..rerank.config import check_direction

if TYPE_CHECKING:
    from ..store import EmbedderInfo

__all__ = ["FakeEmbedder", "FakeReranker"]

_SAMPLES_PER_TOKEN = 640  # the real audio encoder's rate: 25 tokens per second of 16 kHz audio


def _seed(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha256(b"\0".join(parts)).digest()[:8], "little")


def _samples(waveform: np.ndarray) -> bytes:
    return np.ascontiguousarray(waveform, dtype=np.float32).tobytes()


def _text(text: object, what: str = "text") -> str:
    if not isinstance(text, str):
        raise InputError(f"{what} must be a str, got {type(text).__name__}")
    if not text.strip():
        raise InputError(f"{what} is empty; an AuroLA prompt needs a non-empty caption")
    return text


def _wave(waveform: np.ndarray, max_seconds: float, source: str = "<audio>") -> np.ndarray:
    n = int(np.shape(waveform)[0])
    if n > max_seconds * SAMPLE_RATE:
        raise AudioTooLongError(
            f"{source}: {n / SAMPLE_RATE:.1f} s exceeds the maximum of {max_seconds:.0f} s"
        )
    if n == 0:
        raise InputError(f"{source}: no samples to embed")
    return waveform


def _unit(vector: Any, dim: int) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    if v.shape != (dim,) or not np.isfinite(v).all() or not np.linalg.norm(v) > 0:
        raise ValueError(f"a fake vector must be {dim} finite numbers, not all zero; got shape {v.shape}")
    return (v / np.linalg.norm(v)).astype(np.float32)


class FakeEmbedder:
    """A deterministic `BatchEmbedder`: ``(n, dim)`` float32 unit rows, in input order.

    ``text_vector(text)`` / ``audio_vector(waveform)`` replace the hashed vectors (any non-zero
    ``dim``-vector; it is normalised). ``calls`` records ``(method, n_inputs)`` for assertions.
    """

    def __init__(
        self,
        dim: int = 16,
        *,
        vector_name: str = "fake",
        model_id: str = "fake-embedder",
        revision: str = "fake",
        max_audio_seconds: float = 300.0,
        max_batch_tokens: int = 32768,
        text_vector: Callable[[str], Any] | None = None,
        audio_vector: Callable[[np.ndarray], Any] | None = None,
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
        self.dim, self.vector_name, self.model_id, self.revision = dim, vector_name, model_id, revision
        self.prompt_version = "fake-v1"
        self.max_audio_seconds, self.max_batch_tokens = max_audio_seconds, max_batch_tokens
        self._text_vector, self._audio_vector = text_vector, audio_vector
        self.calls: list[tuple[str, int]] = []

    def __repr__(self) -> str:
        return f"FakeEmbedder(dim={self.dim}, vector_name={self.vector_name!r})"

    def embedder_info(self, window_s: float | None = None, hop_s: float | None = None) -> EmbedderInfo:
        from ..store import EmbedderInfo

        return EmbedderInfo(
            self.vector_name, self.model_id, self.revision, self.prompt_version, self.dim, window_s, hop_s
        )

    def text_vector(self, text: str) -> np.ndarray:
        if self._text_vector is not None:
            return _unit(self._text_vector(text), self.dim)
        return _unit(np.random.default_rng(_seed(b"text", text.encode())).standard_normal(self.dim), self.dim)

    def audio_vector(self, waveform: np.ndarray) -> np.ndarray:
        if self._audio_vector is not None:
            return _unit(self._audio_vector(waveform), self.dim)
        seed = _seed(b"audio", _samples(waveform))
        return _unit(np.random.default_rng(seed).standard_normal(self.dim), self.dim)

    def embed_text(self, texts: str | Sequence[str]) -> np.ndarray:
        items = [texts] if isinstance(texts, str) else list(texts)
        self.calls.append(("embed_text", len(items)))
        return self._stack([self.text_vector(_text(t)) for t in items])

    def embed_audio(self, items: AudioItem | Iterable[AudioItem]) -> np.ndarray:
        batch = cast(Iterable[AudioItem], [items] if is_single_item(items) else items)
        waves = [to_waveform(item, self.max_audio_seconds) for item in batch]
        self.calls.append(("embed_audio", len(waves)))
        return self._stack([self.audio_vector(_wave(w, self.max_audio_seconds, s)) for w, s in waves])

    # The batch steps: a prompt's ids only carry its length (its cost in the batcher's token budget).
    def audio_prompt(self, waveform: np.ndarray, source: str = "<audio>") -> EncodedPrompt:
        _wave(waveform, self.max_audio_seconds, source)
        return EncodedPrompt((0,) * (1 + len(waveform) // _SAMPLES_PER_TOKEN), (waveform,))

    def preparer(self) -> FakeEmbedder:
        return self  # holds no weights: it is its own preparer

    def collate(self, prompts: Sequence[EncodedPrompt]) -> list[np.ndarray]:
        return [p.audios[0] for p in prompts]

    def embed_collated(self, batch: list[np.ndarray]) -> np.ndarray:
        self.calls.append(("embed_collated", len(batch)))
        return self._stack([self.audio_vector(w) for w in batch])

    def _stack(self, rows: list[np.ndarray]) -> np.ndarray:
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)


class FakeReranker:
    """A deterministic `Reranker`: P(Yes) of a (caption, clip) pair is the same in both directions.

    ``p_yes(caption, waveform)`` replaces the hashed score (clipped to [0, 1]); ``alpha`` is the fusion
    weight, one number or ``{"t2a": ..., "a2t": ...}``. ``calls`` records ``(direction, n_candidates)``.
    """

    def __init__(
        self,
        *,
        alpha: float | Mapping[str, float] = 1.0,
        p_yes: Callable[[str, np.ndarray], float] | None = None,
        max_audio_seconds: float = 300.0,
    ) -> None:
        self.alpha = dict(alpha) if isinstance(alpha, Mapping) else {"t2a": alpha, "a2t": alpha}
        self.max_audio_seconds = max_audio_seconds
        self._p_yes = p_yes
        self.calls: list[tuple[str, int]] = []

    def __repr__(self) -> str:
        return f"FakeReranker(alpha={self.alpha})"

    def default_alpha(self, direction: str) -> float:
        return float(self.alpha[check_direction(direction)])

    def load_candidate(self, item: AudioItem) -> np.ndarray:
        wav, source = to_waveform(item, self.max_audio_seconds)
        return _wave(wav, self.max_audio_seconds, source)

    def p_yes(self, caption: str, waveform: np.ndarray) -> float:
        if self._p_yes is not None:
            return float(np.clip(self._p_yes(caption, waveform), 0.0, 1.0))
        return _seed(b"rerank", caption.encode(), _samples(waveform)) / 2.0**64

    def score_text_to_audio(self, text: str, audio_items: Sequence[AudioItem]) -> np.ndarray:
        return self.score_text_to_audio_waveforms(text, [self.load_candidate(a) for a in audio_items])

    def score_audio_to_text(self, audio_item: AudioItem, texts: Sequence[str]) -> np.ndarray:
        return self.score_audio_waveform_to_text(self.load_candidate(audio_item), texts)

    def score_text_to_audio_waveforms(self, text: str, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        caption = _text(text, "query text")
        waves = [_wave(w, self.max_audio_seconds) for w in waveforms]
        self.calls.append(("t2a", len(waves)))
        return np.array([self.p_yes(caption, w) for w in waves], dtype=np.float32)

    def score_audio_waveform_to_text(self, waveform: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        wave = _wave(waveform, self.max_audio_seconds, "query audio")
        captions = [_text(t, f"candidate caption {i}") for i, t in enumerate(texts)]
        self.calls.append(("a2t", len(captions)))
        return np.array([self.p_yes(c, wave) for c in captions], dtype=np.float32)
