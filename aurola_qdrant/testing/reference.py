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

__all__ = ["ReferenceEmbedder", "load_full_thinker", "official_inputs"]


def load_full_thinker(path: str, dtype: Any = None) -> tuple[Any, Any, Any]:
    """The whole thinker (with LM head), its tokenizer (``<emb>`` added if missing), its feature extractor."""
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
    return model.eval(), tok, WhisperFeatureExtractor.from_pretrained(path)


def official_inputs(tok: Any, fe: Any, texts: Sequence[str], clips: Sequence[np.ndarray]) -> tuple[Any, dict]:
    """What the processor builds: every clip padded to the extractor's maximum (300 s), each ``<|AUDIO|>`` of
    the rendered ``texts`` (in order, across texts) expanded to its clip's token count, then tokenised with
    padding. Returns the tokenizer encoding and the audio kwargs of the thinker."""
    if not clips:
        return tok(list(texts), return_tensors="pt", padding=True), {}
    feats = fe(
        list(clips),
        sampling_rate=16000,
        return_attention_mask=True,
        padding="max_length",
        return_tensors="pt",
    )
    frames = feats["attention_mask"].sum(-1)
    counts = iter((((frames - 1) // 2 + 1 - 2) // 2 + 1).tolist())
    expanded = []
    for text in texts:
        parts = text.split("<|AUDIO|>")
        expanded.append(parts[0] + "".join("<|AUDIO|>" * next(counts) + rest for rest in parts[1:]))
    extra = {"input_features": feats["input_features"], "feature_attention_mask": feats["attention_mask"]}
    return tok(expanded, return_tensors="pt", padding=True), extra


class ReferenceEmbedder:
    """Official-style embeddings from a full thinker (with LM head) plus tokenizer and feature extractor."""

    def __init__(self, model: Any, tokenizer: Any, feature_extractor: Any) -> None:
        self.model, self.tok, self.fe = model, tokenizer, feature_extractor

    @classmethod
    def from_pretrained(cls, path: str, dtype: Any = None) -> ReferenceEmbedder:
        return cls(*load_full_thinker(path, dtype))

    def _forward_batch(self, messages: Sequence[list[dict]], waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """One padded forward for a batch of prompts; ``waveforms`` holds one clip per prompt or is empty.

        Features are padded to the extractor's maximum (300 s) and the tokenizer pads on its own side; the
        read position (just before the first ``<emb>``) is found per row, so the padding side does not
        matter. Returns ``(B, H)`` float32, L2-normalised.
        """
        import torch

        texts = [self.tok.apply_chat_template(m, tokenize=False) for m in messages]
        enc, extra = official_inputs(self.tok, self.fe, texts, waveforms)
        # As the official code: processor(...).to(model.device).to(model.dtype) (floating tensors only).
        device, dtype = self.model.device, self.model.dtype
        inputs = {
            k: v.to(device, dtype) if v.is_floating_point() else v.to(device)
            for k, v in {**enc, **extra}.items()
        }
        with torch.no_grad():
            out = self.model(**inputs, output_hidden_states=True)
        emb_id = self.tok.convert_tokens_to_ids(EMB_TOKEN)
        pos = [row.index(emb_id) - 1 for row in enc["input_ids"].tolist()]
        last = out.hidden_states[-1][torch.arange(len(pos)), torch.tensor(pos)].float()
        return torch.nn.functional.normalize(last, dim=-1).cpu().numpy()

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """One prompt per forward (no padding at all)."""
        return np.concatenate([self._forward_batch([text_embed_messages(t)], []) for t in texts])

    def embed_waveforms(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate([self._forward_batch([audio_embed_messages()], [w]) for w in waveforms])

    # ---- batched, as the official inference code calls the processor and the thinker on a whole batch
    def embed_text_batch(self, texts: Sequence[str]) -> np.ndarray:
        """All ``texts`` in one padded forward (the official batched path)."""
        return self._forward_batch([text_embed_messages(t) for t in texts], [])

    def embed_waveforms_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """All clips (mono 16 kHz float32) in one padded forward (the official batched path)."""
        return self._forward_batch([audio_embed_messages() for _ in waveforms], waveforms)
