"""Train an AuroLA embedder: Hybrid-NCE on (audio, caption) pairs, optionally after a text-only warm-up.

Runs on CPU, one GPU or many (``accelerate launch -m trainer.train --manifest ... --output ...``, which is
the same as ``aurola-qdrant train``). Reads top to bottom: `train` sets up the run and chains the stages;
`run_stage` trains one stage with the shared loop (`trainer.loop.fit`, task `trainer.pair_task.PairTask`).
Progress reaches ``progress`` as typed events (`trainer.events`). Outputs under ``--output``:

    train_config.json            the resolved TrainConfig (also copied into final/)
    init/                        the fresh tiny thinker of an --init-tiny run
    checkpoints/<stage>/step_N/  resumable checkpoints (see trainer.checkpoint)
    warmup/                      merged result of the text-only warm-up stage, if any
    final/                       merged checkpoint folder for AurolaEmbedder.from_pretrained
    metrics.jsonl                validation R@k, when --val-manifest is given
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainer.checkpoint import latest_checkpoint
from trainer.config import TrainConfig
from trainer.data import (
    AudioPolicy,
    ClipDataset,
    PairCollator,
    TextPairDataset,
    manifest_text_pairs,
    prompt_embedder,
    read_text_pairs,
)
from trainer.distributed import make_accelerator
from trainer.events import Progress
from trainer.export import export_trained
from trainer.loop import LoopPlan, fit
from trainer.lora import adapt, trainable_summary
from trainer.losses import HybridNCEConfig
from trainer.manifest import load_tag_vocabulary, read_manifest
from trainer.modeling import PairEncoder, load_training_thinker
from trainer.optim import adamw_cosine, resume_position, step_budget
from trainer.pair_task import PairTask

__all__ = ["Stage", "run_stage", "train"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    """One optimisation stage: where it starts, what trains, with which loss, and where it exports."""

    name: str  # "warmup" (text-only InfoNCE) or "main" (audio-text Hybrid-NCE)
    source: str  # model folder / name to start from
    lora: tuple[int, float] | None  # (r, alpha), or None for full fine-tuning
    lr: float
    loss: HybridNCEConfig
    text_only: bool
    export: Path


def train(config: TrainConfig, *, resume: bool = False, progress: Progress | None = None) -> Path:
    """Run every stage of ``config``; returns the final merged checkpoint folder (``<output>/final``).

    Raises FileExistsError if the output already holds checkpoints and ``resume`` is False."""
    from accelerate.utils import set_seed

    accelerator = make_accelerator(config.device, bf16=config.bf16)
    out = Path(config.output)
    if not resume and accelerator.is_main_process and any((out / "checkpoints").glob("*/step_*")):
        raise FileExistsError(f"{out} already holds checkpoints: pass --resume, or choose a new --output")
    if accelerator.is_main_process:
        config.save(out / "train_config.json")
    log.info("config: %s", json.dumps(config.to_dict(), sort_keys=True))
    log.info(config.batch_summary(accelerator.num_processes))
    set_seed(config.seed)  # same seed on every rank: DDP also broadcasts rank 0's initial weights

    source = config.model or ""
    if config.init_tiny:
        source = str(out / "init")
        if accelerator.is_main_process and not (out / "init" / "config.json").is_file():
            from aurola_qdrant.testing import build_tiny_thinker

            build_tiny_thinker(out / "init", **dict(config.tiny_config))
        accelerator.wait_for_everyone()

    main_lora = None if config.full else (config.lora_r, config.lora_alpha)
    if config.warmup_stage_steps:
        warm_lora = None if config.full else (config.warmup_lora_r, config.warmup_lora_alpha)
        warm_loss = HybridNCEConfig(alpha=1.0, lam=0.0, beta=0.0, tau=config.tau, symmetric=True)
        warm = Stage("warmup", source, warm_lora, config.warmup_lr, warm_loss, True, out / "warmup")
        source = str(run_stage(config, warm, accelerator, resume=resume, progress=progress))
    main = Stage("main", source, main_lora, config.lr, config.loss_config(), False, out / "final")
    final = run_stage(config, main, accelerator, resume=resume, progress=progress)
    if accelerator.is_main_process:
        config.save(final / "train_config.json")
    accelerator.end_training()
    return final


def _stage_data(config: TrainConfig, stage: Stage, prompts: Any) -> Any:
    items = read_manifest(config.manifest)
    if stage.text_only:
        groups = read_text_pairs(config.warmup_pairs) if config.warmup_pairs else manifest_text_pairs(items)
        return TextPairDataset(groups, prompts, seed=config.seed)
    vocab = load_tag_vocabulary(config.tag_vocab) if config.tag_vocab else {}
    if config.loss == "hybrid" and config.lam > 0 and not vocab:
        log.warning(
            "no --tag-vocab: every tag is its own cluster, so extra positives need identical tag sets"
        )
    policy = AudioPolicy(config.audio_policy, config.min_audio_s, config.max_audio_s)
    return ClipDataset(items, prompts, seed=config.seed, tag_vocab=vocab, policy=policy)


def run_stage(
    config: TrainConfig, stage: Stage, accelerator: Any, *, resume: bool, progress: Progress | None = None
) -> Path:
    """Train one stage to its step budget (resuming from its latest checkpoint) and export it merged."""
    ckpt_dir = Path(config.output) / "checkpoints" / stage.name
    if (ckpt_dir / "DONE").is_file():  # a resumed run whose stage already finished and exported
        return stage.export
    # a frozen LoRA base in bf16 saves memory; fully trained weights stay fp32 (autocast does the rest)
    loaded = load_training_thinker(
        stage.source, dtype=torch.bfloat16 if config.bf16 and stage.lora else torch.float32
    )
    thinker = loaded.thinker.model
    peft_model = adapt(
        thinker, lora=stage.lora, dropout=config.lora_dropout, audio=not stage.text_only,
        grad_checkpointing=config.grad_checkpointing,
    )  # fmt: skip
    log.info("stage %s from %s: %s", stage.name, stage.source, trainable_summary(thinker))
    encoder = PairEncoder(thinker)
    prompts = prompt_embedder(loaded.thinker)
    dataset = _stage_data(config, stage, prompts)
    global_batch = config.batch_size * accelerator.num_processes
    per_epoch, total = step_budget(
        len(dataset), global_batch, epochs=config.epochs, max_steps=config.max_steps,
        grad_accum=config.grad_accum, what="training samples",
    )  # fmt: skip
    if stage.text_only:
        total = config.warmup_stage_steps
    params = [p for p in encoder.parameters() if p.requires_grad]
    optimizer, scheduler = adamw_cosine(
        params, lr=stage.lr, weight_decay=config.weight_decay, warmup=config.warmup, total=total
    )
    model, optimizer = accelerator.prepare(encoder, optimizer)
    latest = latest_checkpoint(ckpt_dir) if resume else None
    pos = resume_position(latest, accelerator, model, optimizer, scheduler)
    val_items = read_manifest(config.val_manifest) if config.val_manifest and not stage.text_only else []
    log.info(
        "stage %s: %d samples, %d batches/epoch, %d optimizer steps (from step %d)",
        stage.name, len(dataset), per_epoch, total, pos.step,
    )  # fmt: skip
    plan = LoopPlan(
        stage.name, total, global_batch, seed=config.seed, grad_accum=config.grad_accum,
        max_grad_norm=config.max_grad_norm, log_every=config.log_every, num_workers=config.num_workers,
        checkpoints=ckpt_dir, save_every=config.save_every, keep=config.keep_checkpoints,
    )  # fmt: skip
    task = PairTask(
        config, stage.loss, dataset, PairCollator(prompts), thinker=loaded.thinker, accelerator=accelerator,
        total=total, val_items=val_items, progress=progress,
    )  # fmt: skip
    model.train()
    pos = fit(
        task, model, optimizer, scheduler, accelerator, plan, params=params, start=pos, progress=progress
    )
    if val_items:
        task.validate(model, pos.step)
    name = config.model_name() if stage.name == "main" else f"{config.model_name()}-{stage.name}"
    return export_trained(
        accelerator, model, peft_model, loaded, stage.export, name=name, role="embedder",
        grad_checkpointing=config.grad_checkpointing, done=ckpt_dir / "DONE", step=pos.step,
    )  # fmt: skip


if __name__ == "__main__":  # `accelerate launch -m trainer.train ...` runs the CLI command
    from trainer.cli.train import train as _cli_train

    _cli_train()
