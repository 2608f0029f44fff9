"""Prompt builders of both model families, from a tokenizer and feature extractor alone (no weights).

The embedder, the re-ranker and the trainer all build their prompts here, so training sees exactly the
ids inference runs (never a second copy of a prompt or of the answer ids):

- `EmbedPrompts`: the embedding prompts of a caption or a clip, cut just before the assistant's
  ``<emb>`` (the read position), and their collation.
- `rerank_prompt`: the Yes/No judge's prompt of one pair, ending with the generation prompt (the part all
  candidates of one query share is planned from the same messages by `aurola_qdrant.rerank.prefix`).
- `answer_ids`: the token ids whose logits the judge compares (first token of ``Yes`` and of ``No``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..prompts import (
    RERANK_ANSWERS,
    audio_embed_messages,
    rerank_a2t_messages,
    rerank_t2a_messages,
    text_embed_messages,
)
from .inputs import EncodedPrompt, InputBuilder

__all__ = ["EmbedPrompts", "answer_ids", "rerank_prompt"]


class EmbedPrompts:
    """Embedding prompts (METHOD.md, Embedding) for one checkpoint's tokenizer and feature extractor.

    Cheap to build and to pickle (it holds no weights), so data-loader workers can get their own copy.
    With ``featurize=True`` its audio prompts carry their log-mel features instead of the waveform
    (`InputBuilder.featurize`): a worker process computes them, the model's process only collates.
    """

    def __init__(self, inputs: InputBuilder, *, featurize: bool = False) -> None:
        self.inputs = inputs
        self.featurize = featurize

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, feature_extractor: Any) -> EmbedPrompts:
        """Prompts for the checkpoint these came from (`LoadedThinker.tokenizer` / ``.feature_extractor``)."""
        return cls(InputBuilder(tokenizer, feature_extractor))

    def text_prompt(self, text: str) -> EncodedPrompt:
        """The prompt of one caption or query. Raises InputError (empty, or holding template tokens)."""
        self.inputs.check_text(text)
        return self.inputs.encode(text_embed_messages(text), cut_before_last_emb=True)

    def audio_prompt(self, waveform: np.ndarray, source: str = "<audio>") -> EncodedPrompt:
        """The prompt of one mono 16 kHz clip. Raises AudioTooLongError (> 300 s), InputError (too short);
        ``source`` names the clip in those messages."""
        self.inputs.check_audio(waveform, source)
        prompt = self.inputs.encode(audio_embed_messages(), [waveform], cut_before_last_emb=True)
        return self.inputs.featurize(prompt) if self.featurize else prompt

    def collate(self, prompts: Sequence[EncodedPrompt]) -> dict[str, Any]:
        """One left-padded model batch of ``prompts`` (see `InputBuilder.collate`)."""
        return self.inputs.collate(prompts)


def answer_ids(tokenizer: Any) -> tuple[int, int]:
    """(Yes id, No id): the first token of each answer, without special tokens (METHOD.md, Re-ranker)."""
    yes, no = (tokenizer.encode(answer, add_special_tokens=False)[0] for answer in RERANK_ANSWERS)
    return int(yes), int(no)


def rerank_prompt(inputs: InputBuilder, direction: str, text: str, waveform: np.ndarray) -> EncodedPrompt:
    """The judge's prompt of one (caption, clip) pair, ending with the generation prompt: ``t2a`` = the
    caption is the query and the clip the candidate; ``a2t`` = the clip is the query and the caption the
    candidate. The waveform is kept as given (not copied). Raises InputError for an empty caption,
    ValueError for another direction."""
    if direction == "t2a":
        messages = rerank_t2a_messages(inputs.check_text(text))
    elif direction == "a2t":
        messages = rerank_a2t_messages(inputs.check_text(text))
    else:
        raise ValueError(f"direction={direction!r}; use 't2a' or 'a2t'")
    return inputs.encode(messages, [waveform], add_generation_prompt=True)
