"""`aurola-qdrant embed`: vectors for audio files or texts, printed as JSON lines or saved as .npy."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--text", "is_text", is_flag=True, help="Treat INPUTS as texts instead of audio files.")
@click.option("--model", default="aurola-3b", show_default=True, help="Registry name, folder or repo id.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available).")
@click.option("--batch-size", default=8, show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save an (n, dim) float32 .npy instead of printing JSON lines.",
)
def embed(
    inputs: tuple[str, ...],
    is_text: bool,
    model: str,
    device: str | None,
    batch_size: int,
    output: Path | None,
) -> None:
    """Embed INPUTS (audio files, or texts with --text) with an AuroLA embedder."""
    import numpy as np

    from ..embedder import AurolaEmbedder
    from ..errors import AurolaError

    try:
        embedder = AurolaEmbedder.from_pretrained(model, device=device, batch_size=batch_size)
        vectors = embedder.embed_text(list(inputs)) if is_text else embedder.embed_audio(list(inputs))
    except AurolaError as exc:
        raise click.ClickException(str(exc)) from exc
    if output is not None:
        np.save(output, vectors)
        click.echo(f"saved {vectors.shape[0]} x {vectors.shape[1]} vectors to {output}", err=True)
        return
    for item, vec in zip(inputs, vectors, strict=True):
        click.echo(json.dumps({"input": item, "model": embedder.model_id, "vector": vec.tolist()}))
