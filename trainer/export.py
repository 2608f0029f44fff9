"""The end of a training stage: merge the adapters, write the checkpoint folder, mark the stage done."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trainer.checkpoint import export_checkpoint
from trainer.lora import merge_lora

__all__ = ["export_trained"]


def export_trained(
    accelerator: Any,
    model: Any,
    peft_model: Any,
    loaded: Any,
    out: Path,
    *,
    name: str,
    role: str,
    grad_checkpointing: bool,
    done: Path,
    step: int,
    drop: Sequence[str] = (),
) -> Path:
    """Export the trained thinker of ``model`` (``.thinker``; LoRA merged when ``peft_model`` is given) to
    ``out`` as a complete checkpoint named ``name`` (`trainer.checkpoint.export_checkpoint`), delete the
    files ``drop`` copied from the source that do not describe the result, then write ``done`` (the
    stage's DONE marker, holding ``step``). The main process writes; every rank must call this."""
    if accelerator.is_main_process:
        plain: Any = (
            merge_lora(peft_model) if peft_model is not None else accelerator.unwrap_model(model).thinker
        )
        if grad_checkpointing:
            plain.gradient_checkpointing_disable()
        export_checkpoint(
            plain, loaded.thinker.tokenizer, loaded.source, out, name=name, role=role,
            resave_tokenizer=loaded.added_emb,
        )  # fmt: skip
        for file in drop:
            (out / file).unlink(missing_ok=True)
        done.write_text(f"{step}\n")
    accelerator.wait_for_everyone()
    return out
