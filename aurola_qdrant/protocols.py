"""The model contract: what search, ingest, evaluation and training need from an embedder and a re-ranker.

`AurolaEmbedder` and `AurolaReranker` satisfy these protocols, and so do the torch-free fakes in
`aurola_qdrant.testing.fakes`; code typed against them accepts either. Every array is a float32 numpy
array; audio items are paths, ``(waveform, sample_rate)`` pairs or `AudioSegment`s (`AudioItem`), and a
waveform is mono 16 kHz float32 samples (`aurola_qdrant.audio.to_waveform`).

- `Embedder`: identity + ``embed_text`` / ``embed_audio`` (search, evaluation, hard-negative mining).
- `BatchEmbedder`: an `Embedder` whose three steps can run apart (the ingest worker overlaps them):
  ``audio_prompt`` (prepare, in any thread) → ``collate`` (a batch) → ``embed_collated`` (the model);
  ``preparer()`` gives the preparation step alone, weight-free, for other processes (`AudioPreparer`).
- `Reranker`: P(Yes) of query–candidate pairs in both directions and the fusion weight of each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from .audio.items import AudioItem
    from .model.inputs import EncodedPrompt
    from .store import EmbedderInfo

__all__ = ["AudioPreparer", "BatchEmbedder", "Embedder", "Reranker", "check_reranker"]


@runtime_checkable
class Embedder(Protocol):
    """Texts and audio into one space: ``(n, dim)`` float32 rows, L2-normalised, in input order; the same
    input gives the same vector alone or in any batch."""

    @property
    def model_id(self) -> str: ...

    @property
    def revision(self) -> str: ...

    @property
    def vector_name(self) -> str:
        """The Qdrant named vector this embedder writes and queries."""
        ...

    @property
    def prompt_version(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def max_audio_seconds(self) -> float:
        """The longest clip `embed_audio` takes; longer ones raise AudioTooLongError."""
        ...

    def embedder_info(self, window_s: float | None = None, hop_s: float | None = None) -> EmbedderInfo:
        """The identity a collection records for these vectors (windowing of the stored segments)."""
        ...

    def embed_text(self, texts: str | Sequence[str]) -> np.ndarray:
        """Raises InputError for an empty text."""
        ...

    def embed_audio(self, items: AudioItem | Iterable[AudioItem]) -> np.ndarray:
        """Raises AudioDecodeError, AudioTooLongError, InputError (too short, not an audio item)."""
        ...


@runtime_checkable
class AudioPreparer(Protocol):
    """The preparation step of a `BatchEmbedder` on its own: picklable and holding no weights."""

    def audio_prompt(self, waveform: np.ndarray, source: str = "<audio>") -> EncodedPrompt:
        """As `BatchEmbedder.audio_prompt`; the prompt may carry work done ahead (e.g. audio features),
        and goes to the embedder's ``collate`` like its own prompts."""
        ...


@runtime_checkable
class BatchEmbedder(Embedder, Protocol):
    """An `Embedder` with its batch steps public; ``embed_collated(collate(ps))`` equals
    ``embed_audio`` of the same clips row for row."""

    @property
    def max_batch_tokens(self) -> int:
        """The most (padded) prompt tokens one `collate`d batch may hold."""
        ...

    def audio_prompt(self, waveform: np.ndarray, source: str = "<audio>") -> EncodedPrompt:
        """The prepared prompt of one waveform; ``len(prompt.input_ids)`` is its cost in tokens. Raises
        AudioTooLongError / InputError (``source`` names the clip in the message)."""
        ...

    def preparer(self) -> AudioPreparer:
        """`audio_prompt` as a weight-free, picklable object, for decode workers in other processes."""
        ...

    def collate(self, prompts: Sequence[EncodedPrompt]) -> Any:
        """One batch, opaque to the caller, to hand to `embed_collated` unchanged."""
        ...

    def embed_collated(self, batch: Any) -> np.ndarray:
        """``(B, dim)`` vectors of one `collate`d batch, in its row order."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """P(Yes) in [0, 1] that a candidate matches a query, ``(K,)`` float32 in candidate order.

    The ``*_waveforms`` / ``*_waveform_*`` forms take samples already checked by `load_candidate`, so
    a search decodes each candidate once and can drop the ones that fail one by one.
    """

    def default_alpha(self, direction: str) -> float:
        """Fusion weight α (``cos + α·p_yes``) for ``"t2a"`` or ``"a2t"``; ValueError for another."""
        ...

    def load_candidate(self, item: AudioItem) -> np.ndarray:
        """Decode and check one audio item; raises AudioDecodeError / AudioTooLongError / InputError."""
        ...

    def score_text_to_audio(self, text: str, audio_items: Sequence[AudioItem]) -> np.ndarray: ...

    def score_audio_to_text(self, audio_item: AudioItem, texts: Sequence[str]) -> np.ndarray: ...

    def score_text_to_audio_waveforms(self, text: str, waveforms: Sequence[np.ndarray]) -> np.ndarray: ...

    def score_audio_waveform_to_text(self, waveform: np.ndarray, texts: Sequence[str]) -> np.ndarray: ...


def check_reranker(reranker: object) -> None:
    """Raise TypeError naming the missing methods unless ``reranker`` (when given) satisfies `Reranker`;
    called once where a search is built, so a wrong object fails there rather than mid-query."""
    if reranker is None or isinstance(reranker, Reranker):
        return
    missing = [name for name in _RERANKER_METHODS if not callable(getattr(reranker, name, None))]
    raise TypeError(
        f"reranker {type(reranker).__name__} lacks {missing} of aurola_qdrant.Reranker; pass an "
        "AurolaReranker, aurola_qdrant.testing.FakeReranker or an object with those methods"
    )


_RERANKER_METHODS = (
    "default_alpha",
    "load_candidate",
    "score_text_to_audio",
    "score_audio_to_text",
    "score_text_to_audio_waveforms",
    "score_audio_waveform_to_text",
)


if TYPE_CHECKING:  # mypy proves here that the real classes and the fakes satisfy the contract
    from .embedder import AurolaEmbedder
    from .rerank import AurolaReranker
    from .testing.fakes import FakeEmbedder, FakeReranker

    def _conforms(
        e: AurolaEmbedder, fe: FakeEmbedder, r: AurolaReranker, fr: FakeReranker
    ) -> tuple[BatchEmbedder, BatchEmbedder, Reranker, Reranker]:
        return e, fe, r, fr
