"""`train` (the embedder, Hybrid-NCE) and `synth` (a synthetic dataset); ``python -m trainer.train`` and
``accelerate launch -m trainer.train`` run `train` too. Options come from `TrainConfig`'s knobs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from trainer.cli.options import config_options
from trainer.cli.progress import echo_event
from trainer.config import TINY_DEFAULTS, TrainConfig
from trainer.knobs import knob_help

__all__ = ["is_main_process", "synth", "train"]

_IN = click.Path(exists=True, dir_okay=False)
_TINY_HELP = knob_help(TrainConfig.__dataclass_fields__["tiny_config"])


def is_main_process() -> bool:
    """Under ``accelerate launch``, only rank 0 talks to the terminal."""
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


@click.command(context_settings={"show_default": True})
@config_options(TrainConfig, TINY_DEFAULTS, "--init-tiny")
@click.option(
    "--config",
    "config_file",
    type=_IN,
    default=None,
    help="JSON/YAML file of TrainConfig options; explicit options here override it.",
)
@click.option("--tiny-config", default=None, help=_TINY_HELP + ".")
@click.option("--resume", is_flag=True, help="Continue from the latest checkpoint in --output.")
def train(config_file: str | None, tiny_config: str | None, resume: bool, **options: Any) -> None:
    """Train an AuroLA embedder (Hybrid-NCE) and export a merged checkpoint to OUTPUT/final.

    Multi-GPU: accelerate launch -m trainer.train --manifest … --output … (same options).
    """
    from trainer.train import train as run_training

    try:
        config = TrainConfig.build(config_file, tiny_config=_parse_tiny(tiny_config), **options)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from exc
    if is_main_process():
        from trainer.distributed import world_size

        click.echo("config: " + json.dumps(config.to_dict(), sort_keys=True))
        n_proc = int(os.environ.get("WORLD_SIZE", world_size()))
        click.echo(config.batch_summary(n_proc))
    try:
        final = run_training(config, resume=resume, progress=echo_event)
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from exc
    if is_main_process():
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
            out_dir, n_train=n_train, n_val=n_val, n_test=n_test, seed=seed, clip_seconds=clip_seconds,
            n_captions=n_captions,
        )  # fmt: skip
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    for name, path in splits.items():
        click.echo(f"{name}: {path}")
    click.echo(f"tag vocabulary: {Path(out_dir) / 'tag_vocabulary.json'}")
