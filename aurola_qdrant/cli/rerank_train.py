"""`aurola-qdrant train-reranker`: fine-tune a thinker as the Yes/No re-ranker (`trainer.rerank_train`).

The `trainer` package is imported inside the command so `aurola-qdrant --help` stays light.
Multi-GPU: ``accelerate launch -m trainer.rerank_train --manifest … --embedder … --output …``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from ._help import DefaultsCommand, config_defaults, describe_grid, format_eta

__all__ = ["train_reranker"]

_FILE = click.Path(exists=True, dir_okay=False)


def _echo_progress(info: dict[str, Any]) -> None:
    if "note" in info:
        click.echo(info["note"])
        return
    if "alpha" in info:
        click.echo("alpha tuned on validation: " + json.dumps(info["alpha"], sort_keys=True))
        return
    if info.get("stage") == "rerank-head":  # the answer-head warm-up (LM head alone) before the main loop
        click.echo(
            "[{stage}] answer-head warm-up step {step}/{total} loss {loss:.4f}".format(**info)
            + format_eta(info)
        )
        return
    click.echo(
        "[{stage}] step {step}/{total} epoch {epoch} loss {loss:.4f} acc {accuracy:.3f} lr {lr:.2e} "
        "{prompts_per_s:.1f} prompts/s".format(**info)
        + format_eta(info)
    )


def _grid(value: str | None) -> tuple[float, ...] | None:
    if not value:
        return None
    try:
        return tuple(float(x) for x in value.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: give comma-separated numbers", param_hint="--alpha-grid"
        ) from None


def _defaults() -> dict[str, dict[str, Any]]:
    """Placeholder groups of the help: ``d`` = RerankTrainConfig's defaults, ``tiny`` = the --tiny ones."""
    from trainer.rerank_config import RERANK_ALPHA_GRID, TINY_RERANK_DEFAULTS, RerankTrainConfig

    return {
        "d": config_defaults(RerankTrainConfig),
        "tiny": TINY_RERANK_DEFAULTS,
        "grid": {"rerank": describe_grid(RERANK_ALPHA_GRID)},
    }


@click.command(
    "train-reranker", cls=DefaultsCommand, defaults=_defaults, context_settings={"show_default": True}
)
@click.option("--manifest", type=_FILE, help="Training manifest (JSONL).")
@click.option("--embedder", default=None, help="Trained embedder (folder/name) that mines hard negatives.")
@click.option("--model", default=None, help="Starting thinker [default: the embedder's weights].")
@click.option("--output", type=click.Path(file_okay=False), help="Run folder (checkpoints, final/ export).")
@click.option(
    "--name",
    default=None,
    help="Model id recorded in the export (final/aurola_model.json) [default: the --output folder's name].",
)
@click.option("--config", "config_file", type=_FILE, default=None, help="JSON/YAML file of options.")
@click.option(
    "--val-manifest",
    type=_FILE,
    default=None,
    help="Validation manifest: after training, alpha per direction is tuned on it (never the test set) and "
    "saved in final/aurola_reranker.json.",
)
@click.option("--tiny", is_flag=True, default=None, help="Tiny from-scratch model: use TINY_RERANK_DEFAULTS.")
@click.option("--negatives", type=int, default=None, help="Negatives per query [default: {d[negatives]}].")
@click.option(
    "--hard-negatives",
    type=int,
    default=None,
    help="How many of them are mined hard ones, the rest random [default: all; {tiny[hard_negatives]} with "
    "--tiny].",
)
@click.option(
    "--mine-pool", type=int, default=None, help="Ranking depth negatives come from [default: {d[mine_pool]}]."
)
@click.option(
    "--mine-keep", type=int, default=None, help="Hard negatives kept per query [default: {d[mine_keep]}]."
)
@click.option(
    "--mine-margin",
    type=float,
    default=None,
    help="Skip candidates above positive cos - margin [default: {d[mine_margin]}].",
)
@click.option(
    "--mine-ceiling",
    type=float,
    default=None,
    help="Skip candidates above this cosine (likely unlabelled matches) [default: {d[mine_ceiling]}].",
)
@click.option("--group-key", default=None, help="Metadata field marking clips that match each other.")
@click.option("--epochs", type=float, default=None, help="Passes over the manifest [default: {d[epochs]}].")
@click.option("--max-steps", type=int, default=None, help="Optimizer steps; overrides --epochs.")
@click.option(
    "--batch-size",
    type=int,
    default=None,
    help="Queries per device per micro-step [default: {d[batch_size]}; {tiny[batch_size]} with --tiny].",
)
@click.option(
    "--grad-accum",
    type=int,
    default=None,
    help="Micro-steps per optimizer step [default: {d[grad_accum]}].",
)
@click.option(
    "--lr",
    type=float,
    default=None,
    help="Peak learning rate [default: {d[lr]}; {tiny[lr]} with --tiny].",
)
@click.option(
    "--warmup",
    type=float,
    default=None,
    help="LR warm-up as a fraction of all steps [default: {d[warmup]}; {tiny[warmup]} with --tiny].",
)
@click.option(
    "--weight-decay", type=float, default=None, help="AdamW weight decay [default: {d[weight_decay]}]."
)
@click.option(
    "--full",
    is_flag=True,
    default=None,
    help="Full fine-tuning instead of LoRA [default: {d[full]}; {tiny[full]} with --tiny].",
)
@click.option(
    "--train-head",
    is_flag=True,
    default=None,
    help="Also train the LM head [default: {d[train_head]}; {tiny[train_head]} with --tiny].",
)
@click.option(
    "--head-warmup-steps",
    type=int,
    default=None,
    help="Steps training the LM head alone first [default: {d[head_warmup_steps]}; "
    "{tiny[head_warmup_steps]} with --tiny].",
)
@click.option(
    "--head-lr",
    type=float,
    default=None,
    help="LR of the head warm-up [default: {d[head_lr]}; {tiny[head_lr]} with --tiny].",
)
@click.option("--lora-r", type=int, default=None, help="LoRA rank [default: {d[lora_r]}].")
@click.option("--lora-alpha", type=float, default=None, help="LoRA scale [default: {d[lora_alpha]}].")
@click.option("--lora-dropout", type=float, default=None, help="LoRA dropout [default: {d[lora_dropout]}].")
@click.option(
    "--candidates",
    type=int,
    default=None,
    help="K re-ranked per query when tuning alpha [default: {d[candidates]}].",
)
@click.option(
    "--alpha-grid",
    default=None,
    help="Comma-separated alpha values tried on validation [default: {grid[rerank]}].",
)
@click.option("--bf16", is_flag=True, default=None, help="bf16 mixed precision.")
@click.option(
    "--grad-checkpointing", is_flag=True, default=None, help="Recompute activations: less memory, slower."
)
@click.option(
    "--save-every",
    type=int,
    default=None,
    help="Checkpoint every N optimizer steps (0 = only at the end) [default: {d[save_every]}].",
)
@click.option(
    "--log-every", type=int, default=None, help="Progress line every N steps [default: {d[log_every]}]."
)
@click.option(
    "--num-workers",
    type=int,
    default=None,
    help="DataLoader workers decoding audio [default: {d[num_workers]}].",
)
@click.option("--seed", type=int, default=None, help="Data order and sampling seed [default: {d[seed]}].")
@click.option("--device", default=None, help="'cpu' forces CPU; default: what accelerate finds.")
@click.option("--resume", is_flag=True, help="Continue from the latest checkpoint in --output.")
def train_reranker(config_file: str | None, alpha_grid: str | None, resume: bool, **options: Any) -> None:
    """Train the AuroLA Yes/No re-ranker on hard negatives mined by EMBEDDER; export OUTPUT/final.

    Both query directions 50/50, the exact inference prompts, loss on the first answer token. With
    --val-manifest, alpha (fusion weight per direction) is tuned on it and saved in the checkpoint.
    """
    from trainer.rerank_config import RerankTrainConfig
    from trainer.rerank_train import train_reranker as run

    try:
        config = RerankTrainConfig.build(config_file, alpha_grid=_grid(alpha_grid), **options)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from exc
    main = int(os.environ.get("RANK", "0")) == 0
    if main:
        click.echo("config: " + json.dumps(config.to_dict(), sort_keys=True))
    try:
        final = run(config, resume=resume, progress=_echo_progress)
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from exc
    if main:
        click.echo(f"exported {final}")
