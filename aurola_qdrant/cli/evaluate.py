"""`aurola-qdrant eval` (retrieval R@1/5/10 through Qdrant, optionally re-ranked) and `build-tag-vocab`.

Both compose the `trainer` package, imported inside the commands so the CLI stays light.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._help import DefaultsCommand, describe_grid

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

__all__ = ["build_tag_vocab", "evaluate"]

_MANIFEST = click.Path(exists=True, dir_okay=False, path_type=Path)


def _client(url: str | None, api_key: str | None) -> QdrantClient | None:
    if url is None:
        return None  # evaluate() uses a private in-memory Qdrant
    from qdrant_client import QdrantClient

    return QdrantClient(url=url, api_key=api_key)


def _table(result: Any) -> list[str]:
    ks = list(result.t2a)
    lines = ["        " + "".join(f"{k:>8}" for k in ks)]
    for name, values in (("T2A", result.t2a), ("A2T", result.a2t)):
        lines.append(f"  {name}   " + "".join(f"{values[k]:8.2f}" for k in ks))
    lines.append(f"  mean  {result.mean:8.2f}")
    return lines


def _defaults() -> dict[str, dict[str, Any]]:
    from trainer.evaluate import DEFAULT_ALPHA_GRID

    return {"grid": {"eval": describe_grid(DEFAULT_ALPHA_GRID)}}


@click.command("eval", cls=DefaultsCommand, defaults=_defaults, context_settings={"show_default": True})
@click.option("--manifest", type=_MANIFEST, required=True, help="Test manifest (JSONL, captions per clip).")
@click.option("--model", default="aurola-3b", help="Embedder: registry name, folder or hub repo id.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available).")
@click.option("--batch-size", default=8, type=click.IntRange(min=1), help="Embedder batch size.")
@click.option("--qdrant-url", default=None, help="Evaluate through this Qdrant server (default: in-memory).")
@click.option("--api-key", envvar="QDRANT_API_KEY", default=None, help="Server API key (env QDRANT_API_KEY).")
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
    help="Validation manifest to choose alpha per direction on, by R@1 over the grid {grid[eval]} "
    "(no 0, so re-ranking is always applied; train-reranker's grid starts at 0); never the test set.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def evaluate(
    manifest: Path,
    model: str,
    device: str | None,
    batch_size: int,
    qdrant_url: str | None,
    api_key: str | None,
    keep_collections: bool,
    reranker: str | None,
    candidates: int,
    alpha: float | None,
    tune_alpha_on: Path | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Text->audio and audio->text R@1/5/10 (in %) of MODEL on MANIFEST, searched through Qdrant.

    Every caption queries the clips (one correct audio); every clip queries the captions (best rank among
    its own). Search is exact (no HNSW approximation), so a server and the in-memory default agree.
    """
    from trainer.evaluate import evaluate as run_eval
    from trainer.evaluate import tune_alpha
    from trainer.manifest import read_manifest

    from ..embedder import AurolaEmbedder
    from ..errors import AurolaError

    if (alpha is not None or tune_alpha_on is not None) and reranker is None:
        raise click.UsageError("--alpha and --tune-alpha-on need --reranker")
    if alpha is not None and tune_alpha_on is not None:
        raise click.UsageError("give --alpha or --tune-alpha-on, not both")
    client = _client(qdrant_url, api_key)
    try:
        items = read_manifest(manifest)
        embedder = AurolaEmbedder.from_pretrained(model, device=device, batch_size=batch_size)
        judge = None
        weights: Any = alpha
        if reranker is not None:
            from ..reranker import AurolaReranker

            judge = AurolaReranker.from_pretrained(reranker, device=device, batch_size=batch_size)
            if tune_alpha_on is not None:
                val = read_manifest(tune_alpha_on)
                weights = tune_alpha(val, embedder, judge, client=client, candidates=candidates)
        result = run_eval(
            items, embedder, client=client, reranker=judge, candidates=candidates, alpha=weights,
            keep_collections=keep_collections,
        )  # fmt: skip
    except (AurolaError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if client is not None:
            client.close()
    info = {"model": embedder.model_id, "manifest": str(manifest), "reranker": reranker, **result.to_dict()}
    if as_json:
        click.echo(json.dumps(info))
        return
    where = qdrant_url or "in-memory Qdrant"
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


@click.command("build-tag-vocab", context_settings={"show_default": True})
@click.option("--manifest", type=_MANIFEST, required=True, help="Training manifest whose tags to cluster.")
@click.option("--model", default="aurola-3b", help="Embedder that embeds each tag (text prompt).")
@click.option(
    "--clusters",
    "n_clusters",
    type=click.IntRange(min=1),
    required=True,
    help="K; clamped to the number of distinct tags.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Vocabulary file: .json (object) or .tsv (tag<TAB>id).",
)
@click.option("--seed", default=0, help="k-means++ seed (same seed, same vocabulary).")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available).")
@click.option("--batch-size", default=8, type=click.IntRange(min=1), help="Embedder batch size.")
def build_tag_vocab(
    manifest: Path, model: str, n_clusters: int, output: Path, seed: int, device: str | None, batch_size: int
) -> None:
    """Cluster the manifest's tags into K clusters for Hybrid-NCE (AuroLA's own vocabulary is not public)."""
    from trainer.manifest import read_manifest, write_tag_vocabulary
    from trainer.tag_vocab import build_tag_vocabulary

    from ..embedder import AurolaEmbedder
    from ..errors import AurolaError

    try:
        items = read_manifest(manifest)
        embedder = AurolaEmbedder.from_pretrained(model, device=device, batch_size=batch_size)
        vocab = build_tag_vocabulary(items, embedder, n_clusters, seed=seed)
        write_tag_vocabulary(output, vocab)
    except (AurolaError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    clusters = len(set(vocab.values()))
    click.echo(f"wrote {len(vocab)} tags in {clusters} clusters to {output}")
