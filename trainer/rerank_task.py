"""The re-ranker's tasks for `trainer.loop.fit`: the Yes/No answer loss on the whole model (`YesNoTask`) and
on the LM head alone, body frozen (`HeadTask`, the answer-head warm-up)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from trainer.events import HEAD_STAGE
from trainer.loop import Rates, Window

__all__ = ["HEAD_STAGE", "HeadTask", "YesNoTask", "answer_loss"]


def answer_loss(logits: torch.Tensor, labels: torch.Tensor, answers: tuple[int, int]) -> torch.Tensor:
    """Cross-entropy over the whole vocabulary of the first answer token: ``Yes`` where ``labels`` is 1,
    ``No`` where it is 0. ``logits`` (N, V), ``labels`` (N,), ``answers`` the (Yes, No) token ids."""
    yes_id, no_id = answers
    labels = labels.to(logits.device)
    return F.cross_entropy(logits, torch.where(labels == 1, yes_id, no_id))


class YesNoTask:
    """Batches from `trainer.rerank_data.RerankCollator`; the model maps ``batch["batch"]`` to (N, V)
    next-token logits (`trainer.rerank_train.YesNoModel`). Metrics: loss, right answers, prompts."""

    def __init__(
        self, dataset: Any, collate: Callable[[list[Any]], Any], answers: tuple[int, int], world: int
    ) -> None:
        self.dataset, self.collate, self.answers, self.world = dataset, collate, answers, world

    def loss(self, model: Any, batch: Any) -> tuple[torch.Tensor, Mapping[str, float]]:
        logits = model(batch["batch"])  # (N, V)
        labels = batch["labels"].to(logits.device)  # (N,) 1 = Yes
        loss = answer_loss(logits, labels, self.answers)
        yes_id, no_id = self.answers
        with torch.no_grad():
            said_yes = logits[:, yes_id] > logits[:, no_id]  # (N,)
            right = float((said_yes == (labels == 1)).float().sum())
        return loss, {"loss": float(loss.detach()), "right": right, "n": float(labels.numel())}

    def report(self, window: Window) -> Rates:
        elapsed = max(time.perf_counter() - window.started, 1e-9)
        n = window.sums.get("n", 0.0)
        return Rates(
            window.sums.get("loss", 0.0) / max(1, window.micro),
            n * self.world / elapsed,
            "prompts",
            accuracy=window.sums.get("right", 0.0) / max(1, int(n)),
        )

    def after_step(self, model: Any, step: int) -> None:
        pass


class HeadTask(YesNoTask):
    """The answer-head warm-up: the body runs without gradients, only the LM head's logits get them. Its
    progress reports the last step's loss (not the window's mean)."""

    def loss(self, model: Any, batch: Any) -> tuple[torch.Tensor, Mapping[str, float]]:
        with torch.no_grad():
            state = model.state(batch["batch"])  # (N, H)
        labels = batch["labels"]
        loss = answer_loss(model.logits(state), labels, self.answers)
        return loss, {"loss": float(loss.detach()), "n": float(labels.numel())}

    def report(self, window: Window) -> Rates:
        rates = super().report(window)
        return Rates(window.last.get("loss", 0.0), rates.rate, rates.unit)
