"""The straightforward ("official-style") re-ranker computation, the yardstick of `AurolaReranker`.

What the released inference code does, without our shortcuts: the full thinker with its whole LM head, the
fully rendered prompt (generation prompt added), every clip padded to the feature extractor's maximum
(300 s), ``generate(max_new_tokens=1, output_scores=True)``, then ``softmax`` over the Yes/No entries of
``scores[0]``. One prompt per call, no batching, no shared prefix. The only thing it does not do is build
``Qwen2_5OmniProcessor`` (it needs torchvision); ``tests/reference/`` runs that processor where
torchvision is installed and commits golden values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..prompts import rerank_a2t_messages, rerank_t2a_messages
from .reference import load_full_thinker, official_inputs

__all__ = ["ReferenceReranker"]


class ReferenceReranker:
    """Official-style P(Yes) from a full thinker (with LM head) plus tokenizer and feature extractor."""

    def __init__(self, model: Any, tokenizer: Any, feature_extractor: Any) -> None:
        self.model, self.tok, self.fe = model, tokenizer, feature_extractor
        self.yes_id = tokenizer.encode("Yes", add_special_tokens=False)[0]
        self.no_id = tokenizer.encode("No", add_special_tokens=False)[0]

    @classmethod
    def from_pretrained(cls, path: str, dtype: Any = None) -> ReferenceReranker:
        return cls(*load_full_thinker(path, dtype))

    def _p_yes(self, messages: list[dict], audios: Sequence[np.ndarray]) -> float:
        import torch

        text = self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        enc, extra = official_inputs(self.tok, self.fe, [text], audios)
        with torch.no_grad():
            out = self.model.generate(
                **enc,
                **extra,
                max_new_tokens=1,
                do_sample=False,
                output_scores=True,
                return_dict_in_generate=True,
            )
        z = out.scores[0][0, [self.yes_id, self.no_id]].float()
        return float(torch.softmax(z, dim=-1)[0])

    def score_text_to_audio(self, text: str, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """P(Yes) per clip (mono 16 kHz float32) for one caption query, float64."""
        return np.array([self._p_yes(rerank_t2a_messages(text), [w]) for w in waveforms])

    def score_audio_to_text(self, waveform: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """P(Yes) per caption for one audio query (mono 16 kHz float32), float64."""
        return np.array([self._p_yes(rerank_a2t_messages(t), [waveform]) for t in texts])
