"""Training-side commands: `train` (embedder), `synth` (synthetic data); `eval`, `build-tag-vocab` and
`train-reranker` live here too (see the reserved section at the end).

These commands compose the `trainer` package (which imports the library, never the reverse); it is
imported inside each command so `aurola-qdrant --help` stays light.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from ._help import DefaultsCommand, config_defaults, format_eta

__all__ = ["synth", "train"]


def _is_main_process() -> bool:
    # Under `accelerate launch`, only rank 0 talks to the terminal.
    return int(os.environ.get("RANK", "0")) == 0


def _parse_tiny(value: str | None) -> dict[str, Any] | None:
    """``--tiny-config`` as JSON (``{"hidden_size": 128}``) or ``key=value,key=value``."""
    if not value:
        return None
    if value.lstrip().startswith("{"):
        return dict(json.loads(value))
    out: dict[str, Any] = {}
    for part in value.split(","):
        key, _, raw = part.partition("=")
        if not raw:
            raise click.BadParameter(
                f"{part!r}: use key=value pairs or a JSON object", param_hint="--tiny-config"
            )
        out[key.strip()] = json.loads(raw)
    return out


def _echo_progress(info: dict[str, Any]) -> None:
    if "validation" in info:
        v = info["validation"]
        click.echo(
            "validation step {step}: ".format(**v) + " ".join(f"{k}={v[k]:.3f}" for k in v if k != "step")
        )
        return
    line = "[{stage}] step {step}/{total} epoch {epoch} loss {loss:.4f} lr {lr:.2e} {pairs_per_s:.1f} pairs/s"
    click.echo(line.format(**info) + format_eta(info))


def _defaults() -> dict[str, dict[str, Any]]:
    """Placeholder groups of the help: ``d`` = TrainConfig's defaults, ``tiny`` = TINY_DEFAULTS."""
    from trainer.config import TINY_DEFAULTS, TrainConfig

    return {"d": config_defaults(TrainConfig), "tiny": TINY_DEFAULTS}


_IN = click.Path(exists=True, dir_okay=False)


@click.command(cls=DefaultsCommand, defaults=_defaults, context_settings={"show_default": True})
@click.option("--manifest", type=_IN, help="Training manifest (JSONL).")
@click.option("--model", default=None, help="Starting checkpoint: folder, hub repo id or registry name.")
@click.option("--output", type=click.Path(file_okay=False), help="Run folder (checkpoints, final/ export).")
@click.option(
    "--name",
    default=None,
    help="Model id and Qdrant vector name recorded in the export (final/aurola_model.json) "
    "[default: the --output folder's name].",
)
@click.option(
    "--config",
    "config_file",
    type=_IN,
    default=None,
    help="JSON/YAML file of TrainConfig options; explicit options here override it.",
)
@click.option("--init-tiny", is_flag=True, default=None, help="Train a fresh tiny thinker (no download).")
@click.option("--tiny-config", default=None, help='Tiny sizes: JSON or key=value,… e.g. "hidden_size=128".')
@click.option(
    "--val-manifest",
    type=_IN,
    default=None,
    help="Validation manifest: R@k logged at --eval-every and at the end.",
)
@click.option(
    "--tag-vocab",
    type=_IN,
    default=None,
    help="Tag -> cluster vocabulary (JSON/TSV) for Hybrid-NCE extra positives.",
)
@click.option(
    "--epochs",
    type=float,
    default=None,
    help="Passes over the manifest [default: {d[epochs]}; {tiny[epochs]} with --init-tiny].",
)
@click.option("--max-steps", type=int, default=None, help="Optimizer steps; overrides --epochs.")
@click.option(
    "--batch-size",
    type=int,
    default=None,
    help="Pairs per device per micro-step [default: {d[batch_size]}; {tiny[batch_size]} with --init-tiny].",
)
@click.option(
    "--grad-accum",
    type=int,
    default=None,
    help="Micro-steps per optimizer step (more pairs per step, NOT more negatives) "
    "[default: {d[grad_accum]}].",
)
@click.option(
    "--lr",
    type=float,
    default=None,
    help="Peak learning rate [default: {d[lr]}; {tiny[lr]} with --init-tiny].",
)
@click.option(
    "--warmup",
    type=float,
    default=None,
    help="LR warm-up as a fraction of all steps [default: {d[warmup]}; {tiny[warmup]} with --init-tiny].",
)
@click.option(
    "--weight-decay", type=float, default=None, help="AdamW weight decay [default: {d[weight_decay]}]."
)
@click.option(
    "--full",
    is_flag=True,
    default=None,
    help="Full fine-tuning instead of LoRA [default: {d[full]}; {tiny[full]} with --init-tiny].",
)
@click.option("--lora-r", type=int, default=None, help="LoRA rank [default: {d[lora_r]}].")
@click.option(
    "--lora-alpha",
    type=float,
    default=None,
    help="LoRA scale (not the loss's --alpha) [default: {d[lora_alpha]}].",
)
@click.option("--lora-dropout", type=float, default=None, help="LoRA dropout [default: {d[lora_dropout]}].")
@click.option(
    "--loss",
    type=click.Choice(["hybrid", "infonce"]),
    default=None,
    help="hybrid = Hybrid-NCE; infonce = plain InfoNCE (--alpha 1, --lam 0, --beta 0) [default: {d[loss]}].",
)
@click.option(
    "--tau", type=float, default=None, help="Temperature dividing the cosines (> 0) [default: {d[tau]}]."
)
@click.option(
    "--lam",
    type=float,
    default=None,
    help="Hybrid-NCE λ: weight of the extra positives, clips sharing a tag cluster (>= 0; 0 ignores them) "
    "[default: {d[lam]}].",
)
@click.option(
    "--beta",
    type=float,
    default=None,
    help="Hybrid-NCE β: hard-negative sharpness (>= 0; 0 weights all negatives equally) "
    "[default: {d[beta]}].",
)
@click.option(
    "--alpha",
    type=float,
    default=None,
    help="Hybrid-NCE α: weight of the positive mass in the denominator (> 0; 1 = the usual softmax) "
    "[default: {d[alpha]}].",
)
@click.option(
    "--symmetric",
    is_flag=True,
    default=None,
    help="Add the text-anchored direction [default: {d[symmetric]}].",
)
@click.option(
    "--warmup-stage-steps",
    type=int,
    default=None,
    help="Text-only InfoNCE warm-up steps before the main stage (0 = none) "
    "[default: {d[warmup_stage_steps]}].",
)
@click.option(
    "--warmup-pairs",
    type=_IN,
    default=None,
    help='JSONL of {"a","b"} text pairs for the warm-up (default: pairs of a clip\'s captions).',
)
@click.option(
    "--audio-policy/--no-audio-policy",
    default=None,
    help="Pad clips < 2 s with zeros and crop > 30 s (METHOD.md) [default: {d[audio_policy]}; "
    "{tiny[audio_policy]} with --init-tiny].",
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
    "--eval-every",
    type=int,
    default=None,
    help="Validation every N steps (0 = at the end only) [default: {d[eval_every]}].",
)
@click.option(
    "--log-every", type=int, default=None, help="Progress line every N steps [default: {d[log_every]}]."
)
@click.option("--resume", is_flag=True, help="Continue from the latest checkpoint in --output.")
@click.option("--seed", type=int, default=None, help="Data order and init seed [default: {d[seed]}].")
@click.option(
    "--num-workers",
    type=int,
    default=None,
    help="DataLoader workers decoding audio [default: {d[num_workers]}].",
)
@click.option("--device", default=None, help="'cpu' forces CPU; default: what accelerate finds.")
def train(config_file: str | None, tiny_config: str | None, resume: bool, **options: Any) -> None:
    """Train an AuroLA embedder (Hybrid-NCE) and export a merged checkpoint to OUTPUT/final.

    Multi-GPU: accelerate launch -m trainer.train --manifest … --output … (same options).
    """
    from trainer.config import TrainConfig
    from trainer.train import train as run_training

    try:
        config = TrainConfig.build(config_file, tiny_config=_parse_tiny(tiny_config), **options)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from exc
    if _is_main_process():
        from trainer.distributed import world_size

        click.echo("config: " + json.dumps(config.to_dict(), sort_keys=True))
        n_proc = int(os.environ.get("WORLD_SIZE", world_size()))
        click.echo(config.batch_summary(n_proc))
    try:
        final = run_training(config, resume=resume, progress=_echo_progress)
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from exc
    if _is_main_process():
        click.echo(f"exported {final}")


@click.command(context_settings={"show_default": True})
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--train", "n_train", type=int, default=2000, help="Training clips.")
@click.option("--val", "n_val", type=int, default=200, help="Validation clips (0 = none).")
@click.option("--test", "n_test", type=int, default=200, help="Test clips (0 = none).")
@click.option("--seed", type=int, default=0)
@click.option("--clip-seconds", type=(float, float), default=(1.0, 2.0), help="Min and max clip length.")
@click.option("--n-captions", type=int, default=5, help="Long-caption paraphrases per clip.")
def synth(
    out_dir: Path,
    n_train: int,
    n_val: int,
    n_test: int,
    seed: int,
    clip_seconds: tuple[float, float],
    n_captions: int,
) -> None:
    """Write a deterministic synthetic dataset (WAVs, train/validation/test manifests, tag vocabulary)."""
    from trainer.synthetic import generate_splits

    try:
        splits = generate_splits(
            out_dir,
            n_train=n_train,
            n_val=n_val,
            n_test=n_test,
            seed=seed,
            clip_seconds=clip_seconds,
            n_captions=n_captions,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    for name, path in splits.items():
        click.echo(f"{name}: {path}")
    click.echo(f"tag vocabulary: {Path(out_dir) / 'tag_vocabulary.json'}")
