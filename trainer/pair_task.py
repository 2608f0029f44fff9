"""The embedder's task for `trainer.loop.fit`: Hybrid-NCE over audio-caption (or text-text) pairs, and
validation R@k at ``eval_every`` steps (appended to ``<output>/metrics.jsonl``)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from trainer.config import TrainConfig
from trainer.distributed import distributed_hybrid_nce
from trainer.events import EvalEvent, Progress
from trainer.loop import Rates, Window
from trainer.losses import HybridNCEConfig
from trainer.manifest import ManifestItem
from trainer.modeling import validate

__all__ = ["PairTask"]

log = logging.getLogger(__name__)


class PairTask:
    """One stage's pairs (``dataset`` keyed by (epoch, index), ``collate`` a `trainer.data.PairCollator`).

    ``thinker`` is the loaded training thinker (its tokenizer and processor, for validation); ``val_items``
    empty means no validation. ``total`` is the stage's step budget: the last step's validation is the
    caller's (after the final checkpoint), not this hook's.
    """

    def __init__(
        self,
        config: TrainConfig,
        loss: HybridNCEConfig,
        dataset: Any,
        collate: Callable[[list[Any]], Any],
        *,
        thinker: Any,
        accelerator: Any,
        total: int,
        val_items: Sequence[ManifestItem] = (),
        progress: Progress | None = None,
    ) -> None:
        self.config, self.loss_config, self.dataset, self.collate = config, loss, dataset, collate
        self.thinker, self.accelerator, self.total = thinker, accelerator, total
        self.val_items, self.progress = list(val_items), progress
        self.global_batch = config.batch_size * accelerator.num_processes

    def loss(self, model: Any, batch: Any) -> tuple[torch.Tensor, Mapping[str, float]]:
        emb_a, emb_b = model(batch["a"], batch["b"])  # (b, H) each, L2-normalised
        clusters = batch["clusters"].to(emb_a.device)  # (b,)
        # Negatives: the contrastive batch gathered across ranks (never across micro-steps).
        loss = distributed_hybrid_nce(emb_a, emb_b, clusters, config=self.loss_config)
        return loss, {"loss": float(loss.detach()) / self.config.grad_accum}

    def report(self, window: Window) -> Rates:
        steps = max(1, window.micro // self.config.grad_accum)
        pairs = window.micro * self.global_batch
        elapsed = time.perf_counter() - window.started
        return Rates(window.sums.get("loss", 0.0) / steps, pairs / max(elapsed, 1e-9), "pairs")

    def after_step(self, model: Any, step: int) -> None:
        every = self.config.eval_every
        if self.val_items and every and step % every == 0 and step < self.total:
            self.validate(model, step)

    def validate(self, model: Any, step: int) -> None:
        """Validation R@k on the main process (the others wait); appended to <output>/metrics.jsonl."""
        if self.accelerator.is_main_process:
            scores = validate(self.thinker, self.accelerator.unwrap_model(model).thinker, self.val_items)
            rounded = {k: round(v, 4) for k, v in scores.items()}
            record = {"step": step, **rounded}
            log.info("validation at step %d: %s", step, record)
            with (Path(self.config.output) / "metrics.jsonl").open("a") as fh:
                fh.write(json.dumps(record) + "\n")
            if self.progress:
                self.progress(EvalEvent(step, rounded))
        self.accelerator.wait_for_everyone()
