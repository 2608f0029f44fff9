"""The thinker forward pass that AuroLA needs: hidden states, never the vocabulary projection.

Equivalent to ``Qwen2_5OmniThinkerForConditionalGeneration.forward`` up to the final norm (same audio
encoder call, same placeholder scatter, same rope-index function), minus the LM head.
"""

from __future__ import annotations

from typing import Any

from .._deps import require

__all__ = ["input_embeddings", "last_hidden"]


def input_embeddings(model: Any, batch: dict[str, Any]):
    """Token embeddings with the audio encoder's outputs scattered into the ``<|AUDIO|>`` slots."""
    inner = model.model
    embeds = inner.get_input_embeddings()(batch["input_ids"])
    if "input_features" in batch:
        feats = batch["input_features"].to(embeds.device, inner.audio_tower.conv1.weight.dtype)
        fmask = batch["feature_attention_mask"].to(embeds.device)
        audio = inner.get_audio_features(feats, fmask).last_hidden_state.to(embeds.dtype)
        slots = (batch["input_ids"] == model.config.audio_token_id).unsqueeze(-1).to(embeds.device)
        if int(slots.sum()) != audio.shape[0]:
            raise RuntimeError(f"{int(slots.sum())} audio slots for {audio.shape[0]} audio frames")
        embeds = embeds.masked_scatter(slots, audio)
    return embeds


def position_ids(model: Any, batch: dict[str, Any]):
    """Multimodal RoPE positions from the model's own rope-index function (padding-side independent)."""
    fmask = batch.get("feature_attention_mask")
    seqlens = fmask.sum(-1) if fmask is not None else None
    pos, _ = model.model.get_rope_index(
        batch["input_ids"], None, None, batch["attention_mask"], False, seqlens
    )
    return pos


def last_hidden(model: Any, batch: dict[str, Any]):
    """Final-norm hidden states ``(B, T, H)`` of a left-padded batch (see `InputBuilder.collate`)."""
    torch = require("torch")
    device = next(model.parameters()).device
    batch = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
    embeds = input_embeddings(model, batch)
    out = model.model.language_model(
        inputs_embeds=embeds,
        attention_mask=batch["attention_mask"],
        position_ids=position_ids(model, batch),
        use_cache=False,
    )
    return out.last_hidden_state
