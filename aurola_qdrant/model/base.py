"""`ThinkerModel`: what the embedder and the re-ranker share as Qwen2.5-Omni thinkers.

Loading (`from_pretrained`), identity (model id, revision, vector name), the audio length the feature
extractor takes and length bucketing are written here once; `AurolaEmbedder` and `AurolaReranker` add
only what their task needs (the read position and normalisation; the Yes/No head and prefix sharing).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

from .inputs import InputBuilder
from .loading import LoadedThinker, load_thinker

__all__ = ["ThinkerModel", "length_batches"]

_T = TypeVar("_T", bound="ThinkerModel")


def length_batches(
    lengths: Sequence[int], batch_size: int, max_tokens: int, prefix: int = 0
) -> list[list[int]]:
    """Indices into ``lengths`` cut into batches of at most ``batch_size`` rows and ``max_tokens`` tokens.

    Longest first, so a batch too large for the device fails on the first call rather than the last;
    consecutive lengths go together, so left padding stays small. A row costs ``prefix`` (a shared KV
    cache it attends to) plus the batch's widest length. A single row over ``max_tokens`` still forms a
    batch of its own: refusing it is the input checks' job, not the batcher's.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        width = prefix + (lengths[cur[0]] if cur else lengths[i])
        if cur and (len(cur) >= batch_size or width * (len(cur) + 1) > max_tokens):
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


class ThinkerModel:
    """A loaded thinker with its input builder, identity and batching limits.

    ``batch_size`` rows and at most ``max_batch_tokens`` (padded) tokens go through one forward pass;
    results never depend on how inputs were batched. Raises ValueError when either limit is below 1.
    """

    #: Whether `from_pretrained` keeps the language-model head (the re-ranker reads two of its rows).
    keep_lm_head: ClassVar[bool] = False

    def __init__(self, thinker: LoadedThinker, *, batch_size: int = 8, max_batch_tokens: int = 32768) -> None:
        if batch_size < 1 or max_batch_tokens < 1:
            raise ValueError(
                f"batch_size and max_batch_tokens must be >= 1, got {batch_size}, {max_batch_tokens}"
            )
        self.thinker = thinker
        self.inputs = InputBuilder(thinker.tokenizer, thinker.feature_extractor)
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens

    @classmethod
    def from_pretrained(
        cls: type[_T],
        name_or_path: str | os.PathLike[str],
        *,
        device: str | None = None,
        dtype: str | Any | None = None,
        revision: str | None = None,
        batch_size: int = 8,
        **options: Any,
    ) -> _T:
        """Load a registry name (``aurola-3b``, ``aurola-rerank-3b`` …), a hub repo id or a local folder.

        ``device`` defaults to CUDA when available; ``dtype`` to bf16 on CUDA and fp32 elsewhere (as the
        official code runs). ``options`` go to the constructor (`AurolaReranker`: ``share_prefix``).
        Raises ModelLoadError / UnknownModelError for a checkpoint that cannot be found or read.
        """
        thinker = load_thinker(
            name_or_path, device=device, dtype=dtype, revision=revision, keep_lm_head=cls.keep_lm_head
        )
        return cls(thinker, batch_size=batch_size, **options)

    # ------------------------------------------------------------ identity
    @property
    def model_id(self) -> str:
        """Hub repo id, or a local checkpoint's recorded name (else its folder name)."""
        return self.thinker.model_id

    @property
    def revision(self) -> str:
        """Hub commit, or a content fingerprint of a local folder."""
        return self.thinker.revision

    @property
    def vector_name(self) -> str:
        """The Qdrant vector name: the registry name, or the sanitised model id."""
        return self.thinker.vector_name

    @property
    def max_audio_seconds(self) -> float:
        """The longest clip the feature extractor takes (300 s for every AuroLA checkpoint)."""
        return self.inputs.max_samples / self.inputs.sample_rate

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r}, device={self.thinker.device})"

    def _batches(self, lengths: Sequence[int], prefix: int = 0) -> list[list[int]]:
        return length_batches(lengths, self.batch_size, self.max_batch_tokens, prefix)
