"""What every training sets up around `trainer.loop.fit`: the step budget, AdamW with its schedule, resume.

The schedule is the recipe's (METHOD.md): linear warm-up over a fraction of the steps, then cosine decay.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from trainer.checkpoint import DataPosition, load_checkpoint

__all__ = ["adamw_cosine", "resume_position", "step_budget"]


def step_budget(
    n_samples: int, global_batch: int, *, epochs: float, max_steps: int | None, grad_accum: int, what: str
) -> tuple[int, int]:
    """``(global batches per epoch, optimizer steps)``: ``max_steps`` if set, else ``epochs`` passes.

    Raises ValueError when ``n_samples`` (``what``: "training samples", …) cannot fill one global batch."""
    per_epoch = n_samples // global_batch
    if per_epoch == 0:
        raise ValueError(
            f"{n_samples} {what} cannot fill one global batch of {global_batch}; "
            "lower --batch-size or add data"
        )
    return per_epoch, max_steps or max(1, math.ceil(epochs * per_epoch / grad_accum))


def adamw_cosine(
    params: Sequence[torch.nn.Parameter], *, lr: float, weight_decay: float, warmup: float, total: int
) -> tuple[torch.optim.Optimizer, Any]:
    """AdamW on ``params`` and its schedule: ``round(warmup * total)`` linear warm-up steps, then cosine.

    The scheduler is stepped by hand (`trainer.loop.fit`), never prepared by accelerate."""
    from transformers import get_cosine_schedule_with_warmup

    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return optimizer, get_cosine_schedule_with_warmup(optimizer, round(warmup * total), total)


def resume_position(
    latest: Path | None, accelerator: Any, model: Any, optimizer: Any, scheduler: Any
) -> DataPosition:
    """Restore checkpoint ``latest`` (if any) into the prepared ``model``, optimiser and scheduler."""
    if latest is None:
        return DataPosition()
    unwrapped = accelerator.unwrap_model(model)
    return load_checkpoint(latest, unwrapped, optimizer, scheduler, rank=accelerator.process_index)
