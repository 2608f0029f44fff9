"""Checkpoints with exact resume, and the final export as a plain AuroLA checkpoint folder.

A checkpoint is ``<output>/checkpoints/<stage>/step_<N>/`` holding:

    trainable.safetensors  the trainable tensors only (LoRA adapters, or every trained weight with --full)
    optimizer.pt           AdamW state          scheduler.pt   LR schedule state
    rng_rank<R>.pt         python, numpy and torch (CPU + CUDA) RNG states of every rank
    state.json             {"step", "epoch", "batches_done", "stage"}: the optimizer step and data position

It is written to ``step_<N>.tmp`` and renamed when complete, so a run killed mid-save leaves the previous
checkpoint as the latest. Frozen weights are not saved: resume rebuilds them from the same starting model.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from aurola_qdrant.model.identity import write_identity
from aurola_qdrant.model.quiet import hf_progress_bars, progress_wanted

__all__ = ["DataPosition", "export_checkpoint", "latest_checkpoint", "load_checkpoint", "save_checkpoint"]

log = logging.getLogger(__name__)

# Files of a model folder that are weights (written by save_pretrained) rather than copied from the source.
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".safetensors.index.json", ".bin.index.json")


@dataclass(frozen=True)
class DataPosition:
    """Where training stands: optimizer steps done, and (epoch, global batches done within it)."""

    step: int = 0
    epoch: int = 0
    batches_done: int = 0


def _trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}


def _rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    folder: Path,
    accelerator: Any,
    model: torch.nn.Module,
    optimizer: Any,
    scheduler: Any,
    pos: DataPosition,
    *,
    stage: str,
    keep: int = 2,
) -> Path:
    """Write a checkpoint of ``model`` (the unwrapped module) at ``pos``; every rank must call this."""
    final = folder / f"step_{pos.step:08d}"
    tmp = final.with_name(final.name + ".tmp")
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file(_trainable_state(model), str(tmp / "trainable.safetensors"))
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    accelerator.wait_for_everyone()
    torch.save(_rng_state(), tmp / f"rng_rank{accelerator.process_index}.pt")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        state = {"step": pos.step, "epoch": pos.epoch, "batches_done": pos.batches_done, "stage": stage}
        (tmp / "state.json").write_text(json.dumps(state, indent=2) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        for old in sorted(folder.glob("step_*[0-9]"))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        log.info("saved checkpoint %s", final)
    accelerator.wait_for_everyone()
    return final


def latest_checkpoint(folder: Path) -> Path | None:
    """The complete checkpoint with the highest step in ``folder`` (``.tmp`` leftovers are ignored)."""
    done = [p for p in folder.glob("step_*[0-9]") if (p / "state.json").is_file()]
    return max(done, key=lambda p: int(p.name.split("_")[1]), default=None)


def load_checkpoint(
    path: Path, model: torch.nn.Module, optimizer: Any, scheduler: Any, *, rank: int = 0
) -> DataPosition:
    """Restore weights, optimizer, scheduler and this rank's RNG states; returns the data position.

    Raises ValueError if the checkpoint's tensors do not match the model's trainable parameters (a resume
    with different LoRA settings or a different starting model)."""
    tensors = load_file(str(path / "trainable.safetensors"))
    params = dict(model.named_parameters())
    expected = {n for n, p in params.items() if p.requires_grad}
    if set(tensors) != expected:
        diff = sorted(set(tensors) ^ expected)[:5]
        raise ValueError(
            f"{path}: saved tensors do not match the model's trainable ones (e.g. {diff}); "
            "resume with the same --model and LoRA/--full options"
        )
    with torch.no_grad():
        for name, value in tensors.items():
            params[name].copy_(value)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    rng = path / f"rng_rank{rank}.pt"
    if rng.is_file():
        _set_rng_state(torch.load(rng, weights_only=False))
    state = json.loads((path / "state.json").read_text())
    log.info("resumed from %s (step %d)", path, state["step"])
    return DataPosition(state["step"], state["epoch"], state["batches_done"])


def export_checkpoint(
    model: Any,
    tokenizer: Any,
    source: Path | None,
    out: Path,
    *,
    name: str,
    role: str,
    resave_tokenizer: bool = False,
) -> Path:
    """Write a complete, merged checkpoint folder that `AurolaEmbedder.from_pretrained` loads unchanged.

    Non-weight files (tokenizer, preprocessor_config.json, chat template, …) are copied from ``source`` (a
    local model folder) so they stay byte-identical; the weights and config.json come from
    ``model.save_pretrained``; the tokenizer is re-saved only when training added ``<emb>`` to it. Last,
    ``aurola_model.json`` records ``name`` (``role``: embedder or reranker) as the model id and vector name
    the export is known by in Qdrant: the folder itself is always called ``final``.
    """
    out.mkdir(parents=True, exist_ok=True)
    if source is not None and source.is_dir():
        for f in source.iterdir():
            if f.is_file() and not f.name.endswith(_WEIGHT_SUFFIXES):
                shutil.copy2(f, out / f.name)
    with hf_progress_bars(progress_wanted()):  # no "Writing model shards" bar unless logging at INFO
        model.save_pretrained(out, safe_serialization=True)
    if resave_tokenizer or not (out / "tokenizer_config.json").is_file():
        tokenizer.save_pretrained(out)
    write_identity(out, name, role=role)  # replaces the record copied from the source, if any
    log.info("exported merged checkpoint %r to %s", name, out)
    return out
