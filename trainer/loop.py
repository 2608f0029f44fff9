"""The one training loop: accumulation, gradient sync, clipping, schedule, progress events and checkpoints.

Every training here (the embedder's stages in `trainer.train`, the re-ranker and its answer-head warm-up in
`trainer.rerank_train`, `bench/rerank_recipe.py`) runs `fit`; each supplies a `Task`: its dataset (keyed
by ``(epoch, index)``, see `trainer.data.EpochBatches`), a collate function, the loss of one micro-batch
with its metrics, how a window of metrics becomes a progress line, and a hook after each optimizer step.
Setting up the model, the optimiser (`trainer.optim`) and the export (`trainer.export`) stays with the
caller, which also resumes (`DataPosition` in, `DataPosition` out).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from trainer.checkpoint import DataPosition, save_checkpoint
from trainer.clock import StepClock
from trainer.data import EpochBatches
from trainer.events import Progress, StepEvent

__all__ = ["LoopPlan", "Rates", "Task", "Window", "fit"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopPlan:
    """How far and how to step. ``global_batch``: samples per micro-step over all ranks.

    ``num_workers=None`` collates in this process without a DataLoader (a DataLoader draws one seed from
    torch's global RNG per epoch, which the answer-head warm-up and the recipe bench never did).
    ``checkpoints``: the stage's checkpoint folder (None: no checkpoints); a checkpoint is written every
    ``save_every`` steps (0: none) before the end and always at the end.
    """

    stage: str
    total: int
    global_batch: int
    seed: int = 0
    grad_accum: int = 1
    max_grad_norm: float | None = None
    log_every: int = 10
    num_workers: int | None = 0
    checkpoints: Path | None = None
    save_every: int = 0
    keep: int = 2


@dataclass
class Window:
    """The micro-batches since the last progress event: per-metric sums, the last one's metrics, counts."""

    sums: dict[str, float] = field(default_factory=dict)
    last: Mapping[str, float] = field(default_factory=dict)
    micro: int = 0
    started: float = field(default_factory=time.perf_counter)

    def add(self, metrics: Mapping[str, float]) -> None:
        for name, value in metrics.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
        self.last, self.micro = metrics, self.micro + 1


@dataclass(frozen=True)
class Rates:
    """A task's summary of a window: the fields of a `StepEvent` that depend on the task."""

    loss: float
    rate: float
    unit: str
    accuracy: float | None = None


class Task(Protocol):
    """What a training supplies to `fit`."""

    dataset: Any  # Sized; ``dataset[(epoch, index)]`` is one sample
    collate: Callable[[list[Any]], Any]

    def loss(self, model: Any, batch: Any) -> tuple[torch.Tensor, Mapping[str, float]]:
        """Forward one micro-batch: the (unscaled) loss to back-propagate and its metrics as floats."""
        ...

    def report(self, window: Window) -> Rates:
        """The loss and throughput of a progress line from the window's metrics."""
        ...

    def after_step(self, model: Any, step: int) -> None:
        """Called after each optimizer step's progress and checkpoint (e.g. periodic validation)."""
        ...


def _batches(task: Task, plan: LoopPlan, sampler: EpochBatches) -> Iterable[Any]:
    if plan.num_workers is None:
        return (task.collate([task.dataset[key] for key in keys]) for keys in sampler)
    from torch.utils.data import DataLoader

    return DataLoader(
        task.dataset, batch_sampler=sampler, collate_fn=task.collate, num_workers=plan.num_workers
    )


def fit(
    task: Task,
    model: Any,
    optimizer: Any,
    scheduler: Any | None,
    accelerator: Any,
    plan: LoopPlan,
    *,
    params: Sequence[torch.nn.Parameter],
    start: DataPosition | None = None,
    progress: Progress | None = None,
    reduce_grads: bool = False,
) -> DataPosition:
    """Train ``model`` from ``start`` to ``plan.total`` optimizer steps; returns the final position.

    ``model`` is what ``task.loss`` runs: accelerate-prepared (DDP averages gradients, and only the last
    micro-batch of an accumulation group all-reduces), or plain with ``reduce_grads=True`` (each step
    averages ``params``' gradients over ranks itself). ``scheduler`` (stepped by hand, once per optimizer
    step on every rank: accelerate's wrapper would step it once per process) may be None for a constant
    lr. Events go to ``progress`` on the main process only. The model's train/eval mode is the caller's
    (the answer-head warm-up runs the body as loaded, in eval mode).
    """
    start = start or DataPosition()
    emit = progress if accelerator.is_main_process else None
    world, rank = accelerator.num_processes, accelerator.process_index
    step, epoch, done = start.step, start.epoch, start.batches_done
    pos, micro, window, clock = start, 0, Window(), StepClock(step, plan.total)
    while step < plan.total:
        sampler = EpochBatches(len(task.dataset), plan.global_batch, plan.seed, epoch, done, rank, world)
        for batch in _batches(task, plan, sampler):
            micro += 1
            sync = micro % plan.grad_accum == 0
            with nullcontext() if sync else accelerator.no_sync(model):
                loss, metrics = task.loss(model, batch)
                accelerator.backward(loss / plan.grad_accum)
            done += 1
            window.add(metrics)
            if not sync:
                continue
            _optimizer_step(accelerator, optimizer, scheduler, plan, params, reduce_grads and world > 1)
            step += 1
            pos = DataPosition(step, epoch, done)
            if step % plan.log_every == 0 or step == plan.total:
                event = _event(task, plan, window, step, epoch, optimizer, scheduler, clock)
                log.info(
                    "%s step %d/%d loss %.4f lr %.2e %.1f %s/s", event.stage, step, plan.total, event.loss,
                    event.lr, event.rate, event.unit,
                )  # fmt: skip
                if emit:
                    emit(event)
                window = Window()
            if plan.checkpoints and plan.save_every and step % plan.save_every == 0 and step < plan.total:
                _save(accelerator, model, optimizer, scheduler, pos, plan)
            task.after_step(model, step)
            if step >= plan.total:
                break
        else:  # epoch exhausted: the next one starts at its first batch
            epoch, done = epoch + 1, 0
    if plan.checkpoints:
        _save(accelerator, model, optimizer, scheduler, pos, plan)
    return pos


def _optimizer_step(
    accelerator: Any, optimizer: Any, scheduler: Any, plan: LoopPlan, params: Sequence[Any], reduce: bool
) -> None:
    if reduce:  # a model not wrapped by DDP: average the gradients over ranks here
        for p in params:
            p.grad = accelerator.reduce(p.grad, reduction="mean")
    if plan.max_grad_norm:
        accelerator.clip_grad_norm_(params, plan.max_grad_norm)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    optimizer.zero_grad(set_to_none=True)


def _event(
    task: Task, plan: LoopPlan, window: Window, step: int, epoch: int, optimizer: Any, scheduler: Any,
    clock: StepClock,
) -> StepEvent:  # fmt: skip
    lr = scheduler.get_last_lr()[0] if scheduler is not None else optimizer.param_groups[0]["lr"]
    rates = task.report(window)
    times = clock.fields(step)
    return StepEvent(
        plan.stage, step, plan.total, epoch, rates.loss, lr, rates.rate, rates.unit, times["elapsed_s"],
        times["eta_s"], rates.accuracy,
    )  # fmt: skip


def _save(
    accelerator: Any, model: Any, optimizer: Any, scheduler: Any, pos: DataPosition, plan: LoopPlan
) -> Path:
    assert plan.checkpoints is not None
    return save_checkpoint(
        plan.checkpoints, accelerator, accelerator.unwrap_model(model), optimizer, scheduler, pos,
        stage=plan.stage, keep=plan.keep,
    )  # fmt: skip
