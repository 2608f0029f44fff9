"""`aurola-qdrant ingest` (bulk ingestion into a Qdrant collection) and `aurola-qdrant collection info`.

The commands compose the library with the `ingest` package, imported when a command runs. Exit status of
``ingest``: 0 all files ingested or already complete; 1 some files failed (see ``--failures``); 2 bad
usage; 3 the run stopped (Qdrant unavailable past the retry budget, a collection of another embedder, a
bad SOURCE); rerunning the same command resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from ._qdrant import make_client, qdrant_options, scrub

__all__ = ["collection", "ingest", "make_client", "scrub"]


def _metadata(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(
                f"{pair!r}: use key=value (string) or key:=JSON", param_hint="--metadata"
            )
        if key.endswith(":"):
            try:
                out[key[:-1]] = json.loads(value)
            except json.JSONDecodeError as err:
                raise click.BadParameter(
                    f"{pair!r}: value is not JSON ({err})", param_hint="--metadata"
                ) from None
        else:
            out[key] = value
    return out


def _progress(enabled: bool | None) -> Any:
    from ingest.progress import LogProgress, TerminalProgress

    if enabled is None:
        enabled = sys.stderr.isatty()
    if enabled:
        return TerminalProgress(sys.stderr)
    logging.getLogger("ingest.progress").setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return LogProgress()


@click.command("ingest")
@click.argument("sources", nargs=-1, required=True)
@click.option("--collection", required=True, help="Qdrant collection to write (created if missing).")
@qdrant_options
@click.option("--model", default="aurola-3b", show_default=True, help="Registry name, repo id or folder.")
@click.option("--window", type=float, default=30.0, show_default=True, help="Seconds per segment.")
@click.option("--hop", type=float, default=None, help="Seconds between window starts [default: --window].")
@click.option("--batch-size", type=int, default=8, show_default=True, help="Segments per model call.")
@click.option("--workers", type=int, default=min(4, os.cpu_count() or 1), show_default=True,
              help="Decode worker processes.")  # fmt: skip
@click.option("--device", default=None, help="torch device (default: cuda if available, else cpu).")
@click.option("--metadata", multiple=True, metavar="KEY=VALUE",
              help="Payload on every point; repeatable. KEY=VALUE stores a string, KEY:=JSON a typed value "
              "(e.g. year:=1999). Manifest columns override it per file.")  # fmt: skip
@click.option(
    "--ext", "extensions", multiple=True, help="Extensions collected from directories (repeatable)."
)
@click.option("--shard", default="0/1", show_default=True, help="I/N: ingest only shard I of N (0-based).")
@click.option("--failures", "failures_path", type=click.Path(dir_okay=False), default=None,
              help="Failures JSONL [default: ingest-failures-<collection>-<I>of<N>.jsonl].")  # fmt: skip
@click.option("--retry-budget", type=float, default=120.0, show_default=True,
              help="Seconds a Qdrant call may retry through an outage before the run stops.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="List what would be ingested; embed and write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option("--progress/--no-progress", "show_bar", default=None, help="Progress bar [default: on a tty].")
def ingest(sources: tuple[str, ...], **opts: Any) -> None:
    """Embed the audio of SOURCE... into a Qdrant collection; rerun the same command to resume.

    SOURCE is a directory (walked recursively), a glob, a JSONL/CSV manifest (a `path` column plus
    metadata columns), an audio file, or `-` for a list of paths on stdin. Files up to --window seconds
    become one point; longer ones are cut into windows. Complete files are skipped (state lives in Qdrant).
    """
    from ingest.config import AUDIO_EXTENSIONS, IngestConfig, parse_shard

    try:
        index, count = parse_shard(opts["shard"])
        exts = tuple(e if e.startswith(".") else f".{e}" for e in opts["extensions"]) or AUDIO_EXTENSIONS
        default_failures = f"ingest-failures-{opts['collection']}-{index}of{count}.jsonl"
        config = IngestConfig(
            window_s=opts["window"],
            hop_s=opts["hop"],
            batch_size=opts["batch_size"],
            workers=opts["workers"],
            shard=(index, count),
            metadata=_metadata(opts["metadata"]),
            dry_run=opts["dry_run"],
            extensions=exts,
            failures_path=Path(opts["failures_path"] or default_failures),
        )
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    summary = _run(sources, opts, config)
    if opts["as_json"]:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        click.echo(summary.format_text())
        for row in summary.planned:
            click.echo(f"  would ingest {row['path']} ({row['segments']} segment(s), {row['duration_s']} s)")
    if summary.error:
        sys.exit(3)
    sys.exit(0 if summary.ok else 1)


def _run(sources: tuple[str, ...], opts: dict[str, Any], config: Any) -> Any:
    from aurola_qdrant.errors import AurolaError
    from aurola_qdrant.store import AudioStore
    from ingest import embedder_info, run_ingest
    from ingest.report import IngestSummary

    client = None
    collection, api_key = opts["collection"], opts["api_key"]
    try:
        from aurola_qdrant import AurolaEmbedder

        embedder = AurolaEmbedder.from_pretrained(
            opts["model"], device=opts["device"], batch_size=config.batch_size
        )
        client = make_client(opts["qdrant_url"], api_key, opts["qdrant_path"])
        from aurola_qdrant.retry import RetryPolicy

        retry = RetryPolicy(max_attempts=1000, max_delay_s=opts["retry_budget"])
        store = AudioStore(client, collection, embedder_info(embedder, config), retry=retry)
        return run_ingest(sources, store, embedder, config, progress=_progress(opts["show_bar"]))
    except (AurolaError, ValueError, OSError, RuntimeError) as err:
        message = scrub(f"{type(err).__name__}: {err}", api_key)
        click.echo(f"error: {message}", err=True)
        summary = getattr(err, "ingest_summary", None) or IngestSummary(collection, "?")
        summary.error = message
        return summary
    finally:
        if client is not None:
            client.close()


@click.group("collection")
def collection() -> None:
    """Inspect Qdrant collections written by aurola-qdrant."""


@collection.command("info")
@click.argument("name")
@qdrant_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(name: str, qdrant_url: str | None, api_key: str | None, qdrant_path: Path, as_json: bool) -> None:
    """Points, files, embedders, dimension and windowing of collection NAME."""
    from aurola_qdrant.errors import AurolaError

    client = make_client(qdrant_url, api_key, qdrant_path)
    try:
        data = _collection_info(client, name)
    except (AurolaError, ValueError, RuntimeError, OSError) as err:
        raise click.ClickException(scrub(f"{type(err).__name__}: {err}", api_key)) from None
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"collection {name!r}: {data['points']} points")
    for vector, row in data["embedders"].items():
        window = (
            "whole clips"
            if row.get("window_s") is None
            else f"window {row['window_s']} s hop {row['hop_s']} s"
        )
        click.echo(
            f"  vector {vector!r}: {row.get('vectors', '?')} vectors, "
            f"{row.get('files', '?')} complete files, "
            f"dim {row.get('dim')}, model {row.get('model_id')!r} revision {row.get('revision')!r}, "
            f"prompt {row.get('prompt_version')!r}, {window}"
        )


def _collection_info(client: Any, name: str) -> dict[str, Any]:
    from aurola_qdrant.store import AudioStore, EmbedderInfo
    from aurola_qdrant.store.schema import recorded_embedders

    if not client.collection_exists(name):
        raise ValueError(f"no collection named {name!r}")
    recorded = recorded_embedders(client.get_collection(name))
    out: dict[str, Any] = {"collection": name, "points": int(client.get_collection(name).points_count or 0)}
    out["embedders"] = {}
    for vector, rec in recorded.items():
        if not isinstance(rec, EmbedderInfo):
            out["embedders"][vector] = {"unreadable": rec}
            continue
        summary = AudioStore(client, name, rec).info()
        out["embedders"][vector] = {**rec.to_dict(), "vectors": summary["vectors"], "files": summary["files"]}
    return out
