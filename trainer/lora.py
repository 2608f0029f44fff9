"""Which weights train: LoRA (peft) on every linear layer of the language model and the audio encoder, or
full fine-tuning; the vision tower and the LM head never train (neither is on the embedding's path).

LoRA layers are injected in place into the thinker's own module tree, so `aurola_qdrant.model.last_hidden`
runs the adapted model unchanged: callers keep using the plain thinker (``PeftModel.get_base_model()``).
"""

from __future__ import annotations

import logging
from typing import Any

import torch

__all__ = ["adapt", "apply_lora", "freeze_for_full", "linear_targets", "merge_lora", "trainable_summary"]

log = logging.getLogger(__name__)

LM_PREFIX = "model.language_model."
AUDIO_PREFIX = "model.audio_tower."


def linear_targets(
    model: torch.nn.Module, prefixes: tuple[str, ...] = (LM_PREFIX, AUDIO_PREFIX)
) -> list[str]:
    """Full names of every ``nn.Linear`` below ``prefixes`` (the real 3B/7B and tiny thinkers alike)."""
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name.startswith(prefixes)
    ]


def apply_lora(
    model: torch.nn.Module, *, r: int, alpha: float, dropout: float, audio: bool = True
) -> tuple[Any, torch.nn.Module]:
    """Wrap ``model`` with LoRA adapters; returns (peft model, adapted thinker sharing its modules).

    ``audio=False`` adapts the language model only (the text-only warm-up never runs the audio encoder).
    Every other weight is frozen.
    """
    from peft import LoraConfig, get_peft_model

    targets = linear_targets(model, (LM_PREFIX, AUDIO_PREFIX) if audio else (LM_PREFIX,))
    # peft annotates lora_alpha as int; the scale alpha / r is computed in float either way
    lora_kw: dict[str, Any] = {"r": r, "lora_alpha": alpha, "lora_dropout": dropout, "bias": "none"}
    config = LoraConfig(target_modules=targets, **lora_kw)
    peft_model = get_peft_model(model, config)
    log.info("LoRA r=%d alpha=%g dropout=%g on %d linear layers", r, alpha, dropout, len(targets))
    return peft_model, peft_model.get_base_model()


def merge_lora(peft_model: Any) -> torch.nn.Module:
    """Fold the adapters into the base weights and return the plain thinker (no peft wrappers left)."""
    return peft_model.merge_and_unload()


def freeze_for_full(model: torch.nn.Module, *, audio: bool = True) -> None:
    """Full fine-tuning: train the language model (and audio encoder unless ``audio=False``), nothing else."""
    prefixes = (LM_PREFIX, AUDIO_PREFIX) if audio else (LM_PREFIX,)  # embed_tokens lives in the LM
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith(prefixes))


def trainable_summary(model: torch.nn.Module) -> str:
    total = sum(p.numel() for p in model.parameters())
    train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return f"{train:,} trainable of {total:,} parameters ({100 * train / max(total, 1):.2f} %)"


def adapt(
    thinker: torch.nn.Module,
    *,
    lora: tuple[int, float] | None,
    dropout: float,
    audio: bool,
    grad_checkpointing: bool,
) -> Any:
    """Make ``thinker`` trainable in place: LoRA ``(r, alpha)`` adapters, or full fine-tuning when ``lora``
    is None (`freeze_for_full`); then gradient checkpointing if asked. Returns the peft wrapper or None."""
    peft_model = None
    if lora:
        peft_model, _ = apply_lora(thinker, r=lora[0], alpha=lora[1], dropout=dropout, audio=audio)
    else:
        freeze_for_full(thinker, audio=audio)
    if grad_checkpointing:
        model: Any = thinker  # a transformers PreTrainedModel
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return peft_model
