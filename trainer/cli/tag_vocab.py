"""`build-tag-vocab`: cluster a manifest's tags for Hybrid-NCE's extra positives."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["build_tag_vocab"]

_MANIFEST = click.Path(exists=True, dir_okay=False, path_type=Path)


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
    from aurola_qdrant.embedder import AurolaEmbedder
    from aurola_qdrant.errors import AurolaError
    from trainer.manifest import read_manifest, write_tag_vocabulary
    from trainer.tag_vocab import build_tag_vocabulary

    try:
        items = read_manifest(manifest)
        embedder = AurolaEmbedder.from_pretrained(model, device=device, batch_size=batch_size)
        vocab = build_tag_vocabulary(items, embedder, n_clusters, seed=seed)
        write_tag_vocabulary(output, vocab)
    except (AurolaError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    clusters = len(set(vocab.values()))
    click.echo(f"wrote {len(vocab)} tags in {clusters} clusters to {output}")
