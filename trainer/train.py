"""Train an AuroLA embedder: Hybrid-NCE on (audio, caption) pairs, optionally after a text-only warm-up.

Runs on CPU, one GPU or many (``accelerate launch -m trainer.train --manifest ... --output ...``, which is
the same as ``aurola-qdrant train``). Reads top to bottom: `train` sets up the run and chains the stages;
`run_stage` is the loop. Outputs under ``--output``:

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
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainer.checkpoint import (
    DataPosition,
    export_checkpoint,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from trainer.clock import StepClock
from trainer.config import TrainConfig
from trainer.data import (
    AudioPolicy,
    ClipDataset,
    EpochBatches,
    PairCollator,
    TextPairDataset,
    manifest_text_pairs,
    prompt_embedder,
    read_text_pairs,
)
from trainer.distributed import distributed_hybrid_nce, make_accelerator
from trainer.lora import apply_lora, freeze_for_full, merge_lora, trainable_summary
from trainer.losses import HybridNCEConfig
from trainer.manifest import load_tag_vocabulary, read_manifest
from trainer.modeling import PairEncoder, load_training_thinker, validate

__all__ = ["Stage", "run_stage", "train"]

log = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]


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
    done_marker = Path(config.output) / "checkpoints" / stage.name / "DONE"
    if done_marker.is_file():  # a resumed run whose stage already finished and exported
        return stage.export
    # --- model: a full thinker, LoRA-adapted or partly frozen -------------------------------------------
    dtype = (
        torch.bfloat16 if config.bf16 and stage.lora else torch.float32
    )  # frozen LoRA base in bf16 saves memory
    loaded = load_training_thinker(stage.source, dtype=dtype)
    thinker = loaded.thinker.model
    peft_model = None
    if stage.lora:
        peft_model, thinker = apply_lora(
            thinker,
            r=stage.lora[0],
            alpha=stage.lora[1],
            dropout=config.lora_dropout,
            audio=not stage.text_only,
        )
    else:
        freeze_for_full(thinker, audio=not stage.text_only)
    if config.grad_checkpointing:
        thinker.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    log.info("stage %s from %s: %s", stage.name, stage.source, trainable_summary(thinker))
    encoder = PairEncoder(thinker)

    # --- data: deterministic (epoch, index) batches; this rank's slice of each global batch -----------------
    prompts = prompt_embedder(loaded.thinker)
    dataset = _stage_data(config, stage, prompts)
    world, rank = accelerator.num_processes, accelerator.process_index
    global_batch = config.batch_size * world
    per_epoch = len(dataset) // global_batch
    if per_epoch == 0:
        raise ValueError(
            f"{len(dataset)} training samples cannot fill one global batch of {global_batch}; "
            "lower --batch-size or add data"
        )
    if stage.text_only:
        total = config.warmup_stage_steps
    else:
        total = config.max_steps or max(1, math.ceil(config.epochs * per_epoch / config.grad_accum))

    # --- optimiser: AdamW on trainable weights, linear warm-up then cosine decay ---------------------------
    from transformers import get_cosine_schedule_with_warmup

    params = [p for p in encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=stage.lr, weight_decay=config.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, round(config.warmup * total), total)
    # The scheduler is stepped by hand, not prepared: accelerate's wrapper would step it once per process.
    model, optimizer = accelerator.prepare(encoder, optimizer)

    ckpt_dir = Path(config.output) / "checkpoints" / stage.name
    pos = DataPosition()
    latest = latest_checkpoint(ckpt_dir) if resume else None
    if latest is not None:
        pos = load_checkpoint(latest, accelerator.unwrap_model(model), optimizer, scheduler, rank=rank)
    val_items = read_manifest(config.val_manifest) if config.val_manifest and not stage.text_only else []
    log.info(
        "stage %s: %d samples, %d batches/epoch, %d optimizer steps (from step %d)",
        stage.name,
        len(dataset),
        per_epoch,
        total,
        pos.step,
    )

    # --- the loop ------------------------------------------------------------------------------------------
    from torch.utils.data import DataLoader

    model.train()
    step, epoch, batches_done = pos.step, pos.epoch, pos.batches_done
    micro, window_loss, window_pairs, t0 = 0, 0.0, 0, time.perf_counter()
    clock = StepClock(step, total)
    while step < total:
        batches = EpochBatches(len(dataset), global_batch, config.seed, epoch, batches_done, rank, world)
        loader = DataLoader(
            dataset, batch_sampler=batches, collate_fn=PairCollator(prompts), num_workers=config.num_workers
        )
        for batch in loader:
            micro += 1
            sync = micro % config.grad_accum == 0
            # Only the last micro-batch of an accumulation group all-reduces gradients.
            with nullcontext() if sync else accelerator.no_sync(model):
                emb_a, emb_b = model(batch["a"], batch["b"])  # (b, H) each, L2-normalised
                clusters = batch["clusters"].to(emb_a.device)  # (b,)
                # Negatives: the contrastive batch gathered across ranks (never across micro-steps).
                loss = distributed_hybrid_nce(emb_a, emb_b, clusters, config=stage.loss)
                accelerator.backward(loss / config.grad_accum)
            batches_done += 1
            window_loss += float(loss.detach()) / config.grad_accum
            window_pairs += global_batch
            if not sync:
                continue
            if config.max_grad_norm:
                accelerator.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            pos = DataPosition(step, epoch, batches_done)

            if step % config.log_every == 0 or step == total:
                elapsed = time.perf_counter() - t0
                info = {
                    "stage": stage.name,
                    "step": step,
                    "total": total,
                    "epoch": epoch,
                    "loss": window_loss / max(1, window_pairs // (global_batch * config.grad_accum)),
                    "lr": scheduler.get_last_lr()[0],
                    "pairs_per_s": window_pairs / max(elapsed, 1e-9),
                    **clock.fields(step),
                }
                log.info(
                    "%(stage)s step %(step)d/%(total)d loss %(loss).4f lr %(lr).2e %(pairs_per_s).1f pairs/s",
                    info,
                )
                if progress and accelerator.is_main_process:
                    progress(info)
                window_loss, window_pairs, t0 = 0.0, 0, time.perf_counter()
            if config.save_every and step % config.save_every == 0 and step < total:
                save_checkpoint(
                    ckpt_dir,
                    accelerator,
                    accelerator.unwrap_model(model),
                    optimizer,
                    scheduler,
                    pos,
                    stage=stage.name,
                    keep=config.keep_checkpoints,
                )
            if val_items and config.eval_every and step % config.eval_every == 0 and step < total:
                _validate(config, loaded.thinker, accelerator, model, val_items, step, progress)
            if step >= total:
                break
        else:  # epoch exhausted: the next one starts at its first batch
            epoch, batches_done = epoch + 1, 0

    save_checkpoint(
        ckpt_dir,
        accelerator,
        accelerator.unwrap_model(model),
        optimizer,
        scheduler,
        pos,
        stage=stage.name,
        keep=config.keep_checkpoints,
    )
    if val_items:
        _validate(config, loaded.thinker, accelerator, model, val_items, step, progress)

    # --- export: merge adapters, write a complete checkpoint folder ---------------------------------------
    if accelerator.is_main_process:
        plain: Any = (
            merge_lora(peft_model) if peft_model is not None else accelerator.unwrap_model(model).thinker
        )
        if config.grad_checkpointing:
            plain.gradient_checkpointing_disable()
        name = config.model_name() if stage.name == "main" else f"{config.model_name()}-{stage.name}"
        export_checkpoint(
            plain, loaded.thinker.tokenizer, loaded.source, stage.export, name=name, role="embedder",
            resave_tokenizer=loaded.added_emb,
        )  # fmt: skip
        done_marker.write_text(f"{step}\n")
    accelerator.wait_for_everyone()
    return stage.export


def _validate(
    config: TrainConfig,
    thinker: Any,
    accelerator: Any,
    model: Any,
    items: list,
    step: int,
    progress: Progress | None,
) -> None:
    """Validation R@k on the main process (others wait); appended to <output>/metrics.jsonl."""
    if accelerator.is_main_process:
        scores = validate(thinker, accelerator.unwrap_model(model).thinker, items)
        record = {"step": step, **{k: round(v, 4) for k, v in scores.items()}}
        log.info("validation at step %d: %s", step, record)
        with (Path(config.output) / "metrics.jsonl").open("a") as fh:
            fh.write(json.dumps(record) + "\n")
        if progress:
            progress({"validation": record})
    accelerator.wait_for_everyone()


if __name__ == "__main__":  # `accelerate launch -m trainer.train ...` runs the CLI command
    from aurola_qdrant.cli.train import train as _cli_train

    _cli_train()
