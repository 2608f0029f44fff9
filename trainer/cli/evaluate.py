"""`eval` (retrieval R@1/5/10 through Qdrant, optionally re-ranked) and `build-tag-vocab`.

`eval` connects like every command (`qdrant_options`: --qdrant-url/--api-key, env QDRANT_URL and
QDRANT_API_KEY, the key masked in messages), except that without a server it runs on a private in-memory
Qdrant unless --qdrant-path is given explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from aurola_qdrant.cli._output import echo_json
from aurola_qdrant.cli._qdrant import make_client, qdrant_options, scrub
from aurola_qdrant.errors import AurolaError

__all__ = ["evaluate", "run_eval"]

_MANIFEST = click.Path(exists=True, dir_okay=False, path_type=Path)


class _EvalCommand(click.Command):
    """Quotes the fusion module's α grid in ``--tune-alpha-on``'s help when help is shown (importing it at
    startup would load qdrant-client for every command)."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from aurola_qdrant.search.fusion import ALPHA_GRID
        from trainer.cli.options import describe_grid

        for param in self.params:
            if param.name == "qdrant_path" and isinstance(param, click.Option):
                param.help = "Evaluate in this embedded Qdrant folder [default: a private in-memory Qdrant]."
                param.show_default = False
            if param.name == "tune_alpha_on" and isinstance(param, click.Option):
                param.help = (
                    "Validation manifest to choose alpha per direction on, by R@1 over the grid "
                    f"{describe_grid(ALPHA_GRID)} (train-reranker's grid; 0 = no re-ranking, and ties go to "
                    "the smaller alpha); never the test set."
                )
        super().format_help(ctx, formatter)


def _client(ctx: click.Context, url: str | None, api_key: str | None, path: Path) -> Any:
    """A server or an explicitly given embedded store; None: `trainer.evaluate` uses in-memory Qdrant."""
    explicit = ctx.get_parameter_source("qdrant_path") not in (None, click.core.ParameterSource.DEFAULT)
    if url or explicit:
        return make_client(url, api_key, path)
    return None


def _table(result: Any) -> list[str]:
    ks = list(result.t2a)
    lines = ["        " + "".join(f"{k:>8}" for k in ks)]
    for name, values in (("T2A", result.t2a), ("A2T", result.a2t)):
        lines.append(f"  {name}   " + "".join(f"{values[k]:8.2f}" for k in ks))
    lines.append(f"  mean  {result.mean:8.2f}")
    return lines


@click.command("eval", cls=_EvalCommand, context_settings={"show_default": True})
@click.option("--manifest", type=_MANIFEST, required=True, help="Test manifest (JSONL, captions per clip).")
@click.option("--model", default="aurola-3b", help="Embedder: registry name, folder or hub repo id.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available).")
@click.option("--batch-size", default=8, type=click.IntRange(min=1), help="Embedder batch size.")
@qdrant_options
@click.option("--keep-collections", is_flag=True, help="Keep the temporary collections on the server.")
@click.option("--reranker", default=None, help="Re-ranker (registry name, folder or repo id) for the top K.")
@click.option(
    "--candidates", default=50, type=click.IntRange(min=1), help="K: candidates re-ranked per query."
)
@click.option(
    "--alpha",
    type=click.FloatRange(min=0),
    default=None,
    help="Fusion weight for both directions [default: the re-ranker's own per direction].",
)
@click.option(
    "--tune-alpha-on",
    type=_MANIFEST,
    default=None,
    help="Validation manifest to choose alpha per direction on, by R@1 over the fusion grid; never the test "
    "set.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_context
def evaluate(ctx: click.Context, manifest: Path, model: str, device: str | None, batch_size: int,
             qdrant_url: str | None, api_key: str | None, qdrant_path: Path, keep_collections: bool,
             reranker: str | None, candidates: int, alpha: float | None, tune_alpha_on: Path | None,
             as_json: bool) -> None:  # fmt: skip
    """Text->audio and audio->text R@1/5/10 (in %) of MODEL on MANIFEST, searched through Qdrant.

    Every caption queries the clips (one correct audio); every clip queries the captions (best rank among
    its own). Search is exact (no HNSW approximation), so a server and the in-memory default agree.
    """
    if (alpha is not None or tune_alpha_on is not None) and reranker is None:
        raise click.UsageError("--alpha and --tune-alpha-on need --reranker")
    if alpha is not None and tune_alpha_on is not None:
        raise click.UsageError("give --alpha or --tune-alpha-on, not both")
    try:
        embedder, result = run_eval(
            _client(ctx, qdrant_url, api_key, qdrant_path), manifest, model, device, batch_size, reranker,
            candidates, alpha, tune_alpha_on, keep_collections,
        )  # fmt: skip
    except (AurolaError, ValueError, OSError) as exc:
        raise click.ClickException(scrub(str(exc), api_key)) from exc
    if as_json:
        echo_json({"model": embedder.model_id, "manifest": str(manifest), "reranker": reranker,
                   **result.to_dict()})  # fmt: skip
        return
    where = scrub(qdrant_url, api_key) if qdrant_url else "in-memory Qdrant"
    click.echo(
        f"{embedder.model_id} on {manifest}: {result.n_clips} clips, {result.n_captions} captions ({where})"
    )
    if result.retrieval is not None:
        click.echo("retrieval only:")
        for line in _table(result.retrieval):
            click.echo(line)
        click.echo(f"re-ranked top {result.candidates} with {reranker}, alpha {dict(result.alpha or {})}:")
    for line in _table(result):
        click.echo(line)


def run_eval(
    client: Any, manifest: Path, model: str, device: str | None, batch_size: int, reranker: str | None,
    candidates: int, alpha: float | None, tune_alpha_on: Path | None, keep_collections: bool,
) -> tuple[Any, Any]:  # fmt: skip
    """Load the models, tune α on ``tune_alpha_on`` if given, evaluate; ``(embedder, EvalResult)``.
    ``client`` None: a private in-memory Qdrant. The client is closed afterwards."""
    from aurola_qdrant.embedder import AurolaEmbedder
    from trainer.evaluate import evaluate as run
    from trainer.evaluate import tune_alpha
    from trainer.manifest import read_manifest

    try:
        items = read_manifest(manifest)
        embedder = AurolaEmbedder.from_pretrained(model, device=device, batch_size=batch_size)
        judge = None
        weights: Any = alpha  # one weight, or one per direction once tuned
        if reranker is not None:
            from aurola_qdrant.reranker import AurolaReranker

            judge = AurolaReranker.from_pretrained(reranker, device=device, batch_size=batch_size)
            if tune_alpha_on is not None:
                val = read_manifest(tune_alpha_on)
                weights = tune_alpha(val, embedder, judge, client=client, candidates=candidates)
        result = run(
            items, embedder, client=client, reranker=judge, candidates=candidates, alpha=weights,
            keep_collections=keep_collections,
        )  # fmt: skip
    finally:
        if client is not None:
            client.close()
    return embedder, result
