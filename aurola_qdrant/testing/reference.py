"""The straightforward ("official-style") AuroLA computation, kept as a yardstick for tests and benchmarks.

It does what the released inference code does, without our shortcuts: render the full prompt including the
assistant's ``<emb>.<|im_end|>``, pad every clip to the feature extractor's maximum (300 s), run the whole
thinker with ``output_hidden_states=True`` (LM-head logits included) and read ``hidden_states[-1]`` just
before the first ``<emb>``. The only thing it does not do is construct ``Qwen2_5OmniProcessor``, which needs
torchvision; ``tests/reference/make_golden.py`` runs that processor where torchvision is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..prompts import EMB_TOKEN, audio_embed_messages, text_embed_messages

__all__ = ["ReferenceEmbedder"]


class ReferenceEmbedder:
    """Official-style embeddings from a full thinker (with LM head) plus tokenizer and feature extractor."""

    def __init__(self, model: Any, tokenizer: Any, feature_extractor: Any) -> None:
        self.model, self.tok, self.fe = model, tokenizer, feature_extractor

    @classmethod
    def from_pretrained(cls, path: str, dtype: Any = None) -> ReferenceEmbedder:
        import torch
        from transformers import (
            AutoTokenizer,
            Qwen2_5OmniThinkerForConditionalGeneration,
            WhisperFeatureExtractor,
        )

        model = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(path, dtype=dtype or torch.float32)
        tok = AutoTokenizer.from_pretrained(path)
        if EMB_TOKEN not in tok.get_vocab():
            tok.add_tokens([EMB_TOKEN])
            model.resize_token_embeddings(len(tok))
        return cls(model.eval(), tok, WhisperFeatureExtractor.from_pretrained(path))

    def _forward(self, messages: list[dict], audios: Sequence[np.ndarray]) -> tuple[np.ndarray, Any]:
        import torch

        text = self.tok.apply_chat_template(messages, tokenize=False)
        extra: dict[str, Any] = {}
        if audios:
            feats = self.fe(
                list(audios),
                sampling_rate=16000,
                return_attention_mask=True,
                padding="max_length",
                return_tensors="pt",
            )
            frames = feats["attention_mask"].sum(-1)
            n_tokens = (((frames - 1) // 2 + 1 - 2) // 2 + 1).tolist()
            parts = text.split("<|AUDIO|>")
            text = parts[0] + "".join(
                "<|AUDIO|>" * n + rest for n, rest in zip(n_tokens, parts[1:], strict=True)
            )
            extra = {
                "input_features": feats["input_features"],
                "feature_attention_mask": feats["attention_mask"],
            }
        enc = self.tok(text, return_tensors="pt")
        with torch.no_grad():
            out = self.model(**enc, **extra, output_hidden_states=True)
        ids = enc["input_ids"][0].tolist()
        pos = ids.index(self.tok.convert_tokens_to_ids(EMB_TOKEN)) - 1
        vec = torch.nn.functional.normalize(out.hidden_states[-1][0, pos].float(), dim=-1)
        return vec.numpy(), out

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._forward(text_embed_messages(t), [])[0] for t in texts])

    def embed_waveforms(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack([self._forward(audio_embed_messages(), [w])[0] for w in waveforms])

    # ---- batched, as the official inference code calls the processor and the thinker on a whole batch
    def _forward_batch(self, messages: Sequence[list[dict]], waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """One padded forward for a batch of prompts; ``waveforms`` holds one clip per prompt or is empty.

        Features are padded to the extractor's maximum (300 s) and the tokenizer pads on its own side; the
        read position is found per row, so the padding side does not matter. Returns ``(B, H)`` float32.
        """
        import torch

        texts = [self.tok.apply_chat_template(m, tokenize=False) for m in messages]
        extra: dict[str, Any] = {}
        if waveforms:
            feats = self.fe(
                list(waveforms),
                sampling_rate=16000,
                return_attention_mask=True,
                padding="max_length",
                return_tensors="pt",
            )
            frames = feats["attention_mask"].sum(-1)
            n_tokens = (((frames - 1) // 2 + 1 - 2) // 2 + 1).tolist()
            texts = [t.replace("<|AUDIO|>", "<|AUDIO|>" * n, 1) for t, n in zip(texts, n_tokens, strict=True)]
            extra = {
                "input_features": feats["input_features"],
                "feature_attention_mask": feats["attention_mask"],
            }
        enc = self.tok(texts, return_tensors="pt", padding=True)
        with torch.no_grad():
            out = self.model(**enc, **extra, output_hidden_states=True)
        emb_id = self.tok.convert_tokens_to_ids(EMB_TOKEN)
        pos = [row.index(emb_id) - 1 for row in enc["input_ids"].tolist()]
        last = out.hidden_states[-1][torch.arange(len(pos)), torch.tensor(pos)].float()
        return torch.nn.functional.normalize(last, dim=-1).numpy()

    def embed_text_batch(self, texts: Sequence[str]) -> np.ndarray:
        """All ``texts`` in one padded forward (the official batched path)."""
        return self._forward_batch([text_embed_messages(t) for t in texts], [])

    def embed_waveforms_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """All clips (mono 16 kHz float32) in one padded forward (the official batched path)."""
        return self._forward_batch([audio_embed_messages() for _ in waveforms], waveforms)
