"""`train-reranker`: fine-tune a thinker as the Yes/No re-ranker (`trainer.rerank_train`); options come from
`RerankTrainConfig`'s knobs. Multi-GPU: ``accelerate launch -m trainer.rerank_train --manifest … …``."""

from __future__ import annotations

import json
from typing import Any

import click

from trainer.cli.options import config_options, describe_grid
from trainer.cli.progress import echo_event
from trainer.cli.train import is_main_process
from trainer.knobs import knob_help
from trainer.rerank_config import TINY_RERANK_DEFAULTS, RerankTrainConfig

__all__ = ["train_reranker"]

_FILE = click.Path(exists=True, dir_okay=False)
_GRID_HELP = knob_help(RerankTrainConfig.__dataclass_fields__["alpha_grid"])


class _GridHelp(click.Command):
    """Quotes the fusion module's α grid in ``--alpha-grid``'s help when help is shown: importing it at
    startup would load qdrant-client for every command of the CLI."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from aurola_qdrant.search.fusion import ALPHA_GRID

        for param in self.params:
            if param.name == "alpha_grid" and isinstance(param, click.Option):
                param.help = f"{_GRID_HELP} [default: {describe_grid(ALPHA_GRID)}]."
        super().format_help(ctx, formatter)


def _grid(value: str | None) -> tuple[float, ...] | None:
    if not value:
        return None
    try:
        return tuple(float(x) for x in value.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: give comma-separated numbers", param_hint="--alpha-grid"
        ) from None


@click.command("train-reranker", cls=_GridHelp, context_settings={"show_default": True})
@config_options(RerankTrainConfig, TINY_RERANK_DEFAULTS, "--tiny")
@click.option("--alpha-grid", default=None, help=_GRID_HELP + " [default: the fusion grid].")
@click.option("--config", "config_file", type=_FILE, default=None, help="JSON/YAML file of options.")
@click.option("--resume", is_flag=True, help="Continue from the latest checkpoint in --output.")
def train_reranker(config_file: str | None, alpha_grid: str | None, resume: bool, **options: Any) -> None:
    """Train the AuroLA Yes/No re-ranker on hard negatives mined by EMBEDDER; export OUTPUT/final.

    Both query directions 50/50, the exact inference prompts, loss on the first answer token. With
    --val-manifest, alpha (fusion weight per direction) is tuned on it and saved in the checkpoint.
    """
    from trainer.rerank_train import train_reranker as run

    try:
        config = RerankTrainConfig.build(config_file, alpha_grid=_grid(alpha_grid), **options)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from exc
    if is_main_process():
        click.echo("config: " + json.dumps(config.to_dict(), sort_keys=True))
    try:
        final = run(config, resume=resume, progress=echo_event)
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from exc
    if is_main_process():
        click.echo(f"exported {final}")
