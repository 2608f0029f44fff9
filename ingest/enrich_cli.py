"""`aurola-qdrant enrich`: AuroLA vectors on an existing catalog collection's points, in place.

Exit status: 0 every point enriched or already current; 1 some points failed (see ``--failures``; they are
left unchanged and a rerun retries only them); other failures are one ``error: ...`` line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from aurola_qdrant.cli._output import echo_json
from aurola_qdrant.cli._qdrant import make_client, qdrant_options

__all__ = ["enrich"]


@click.command()
@click.option("--collection", required=True, help="The existing collection whose points get our vectors.")
@click.option("--audio-field", required=True, help="Payload field holding each point's audio path or URI.")
@click.option("--model", default="aurola-3b", show_default=True, help="Registry name, repo id or folder.")
@click.option("--device", default=None, help="torch device (default: cuda when available, else cpu).")
@click.option(
    "--window",
    "window_s",
    type=float,
    default=30.0,
    show_default=True,
    help="Recordings up to this many seconds get one dense vector; longer ones a multivector.",
)
@click.option(
    "--hop", "hop_s", type=float, default=None, help="Seconds between window starts (default: --window)."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Points per scroll page and per write.",
)
@click.option(
    "--failures",
    "failures_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("enrich-failures.jsonl"),
    show_default=True,
    help="JSONL of points that failed.",
)
@click.option("--quantization", type=click.Choice(["scalar", "binary"]), default=None,
              help="Quantize our new vectors (searches then oversample and rescore).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--filter", "filters", multiple=True, help="Only points matching KEY=VALUE, KEY>=N … (repeat).")
@qdrant_options
def enrich(
    filters: tuple[str, ...],
    as_json: bool,
    qdrant_url: str | None,
    api_key: str | None,
    qdrant_path: Path,
    **opts: Any,
) -> None:
    """Embed the audio named by each point's --audio-field and add it to the point (nothing else changes)."""
    from aurola_qdrant import AurolaEmbedder
    from aurola_qdrant.search.filters import parse_filters
    from aurola_qdrant.store import StoreConfig

    from .enrich import enrich_collection

    embedder = AurolaEmbedder.from_pretrained(opts.pop("model"), device=opts.pop("device"))
    opts["config"] = StoreConfig(quantization=opts.pop("quantization"))
    client = make_client(qdrant_url, api_key, qdrant_path, create=False)

    def progress(s: Any) -> None:
        if not as_json:
            click.echo(
                f"\r{s.points_seen} points: {s.points_enriched} enriched, {s.points_skipped} current, "
                f"{s.points_failed} failed",
                err=True,
                nl=False,
            )

    try:
        summary = enrich_collection(
            client,
            opts.pop("collection"),
            embedder,
            scroll_filter=parse_filters(filters),
            progress=progress if sys.stderr.isatty() else None,
            **opts,
        )
    finally:
        client.close()
        if sys.stderr.isatty() and not as_json:
            click.echo("", err=True)  # end the progress line
    if as_json:
        echo_json(summary.to_dict())
    else:
        click.echo(summary.format_text())
    if not summary.ok:
        sys.exit(1)


def ingest_per_file_command(sources: tuple[str, ...], opts: dict[str, Any], config: Any) -> int:
    """``aurola-qdrant ingest --points per-file``: one catalog point per file (`ingest.enrich_files`);
    prints the summary like enrich and returns the exit status (0 ok, 1 some files failed)."""
    from aurola_qdrant import AurolaEmbedder
    from aurola_qdrant.errors import InputError

    from .enrich_files import ingest_per_file
    from .sources import iter_source_files

    if config.dry_run:
        raise InputError("--dry-run is not offered with --points per-file yet; run without it")
    embedder = AurolaEmbedder.from_pretrained(
        opts["model"], device=opts["device"], batch_size=config.batch_size
    )
    client = make_client(opts["qdrant_url"], opts["api_key"], opts["qdrant_path"])
    try:
        files = iter_source_files(sources, config.extensions, shard=config.shard)
        summary = ingest_per_file(
            files,
            client,
            opts["collection"],
            embedder,
            window_s=config.window_s,
            hop_s=config.hop_s,
            failures_path=config.failures_path,
        )
    finally:
        client.close()
    if opts["as_json"]:
        echo_json(summary.to_dict())
    else:
        click.echo(summary.format_text())
    return 0 if summary.ok else 1
