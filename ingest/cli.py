"""`aurola-qdrant ingest`: bulk ingestion into a Qdrant collection (mounted by the `aurola-qdrant` group).

The commands compose the library with the `ingest` package, imported when a command runs. Exit status of
``ingest``: 0 all files ingested or already complete; 1 some files failed (see ``--failures``); 2 bad
usage; 3 the run stopped (Qdrant unavailable past the retry budget, a collection of another embedder, a
bad SOURCE); rerunning the same command resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

import click

from aurola_qdrant.cli._errors import report
from aurola_qdrant.cli._fields import config_option
from aurola_qdrant.cli._output import echo_json
from aurola_qdrant.cli._qdrant import make_client, qdrant_options

from .config import IngestConfig

__all__ = ["ingest"]


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
    from .progress import LogProgress, TerminalProgress

    if enabled is None:
        enabled = sys.stderr.isatty()
    if enabled:
        return TerminalProgress(sys.stderr)
    logging.getLogger("ingest.progress").setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return LogProgress()


def _positive_seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"{value} is not a positive, finite number of seconds", ctx, param)
    return value


@click.command("ingest")
@click.argument("sources", nargs=-1, required=True)
@click.option("--collection", required=True, help="Qdrant collection to write (created if missing).")
@qdrant_options
@click.option("--model", default="aurola-3b", show_default=True, help="Registry name, repo id or folder.")
@config_option(IngestConfig, "window_s", "--window", type=float)
@config_option(IngestConfig, "hop_s", "--hop", type=float)
@config_option(IngestConfig, "batch_size", "--batch-size", type=int)
# the CLI's worker default follows the machine (the library keeps a fixed default)
@config_option(IngestConfig, "workers", "--workers", type=int, default=min(4, os.cpu_count() or 1))
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
@click.option("--engine", type=click.Choice(["inprocess", "ray"]), default="inprocess", show_default=True,
              help="inprocess: worker processes on this machine; ray: a Ray cluster (pip install "
              "'aurola-qdrant[ray]').")  # fmt: skip
@click.option("--ray-address", default=None, metavar="ADDR",
              help="With --engine ray: a running cluster ('auto', host:6379, ray://host:10001) "
              "[default: a private local Ray for this run].")  # fmt: skip
@click.option("--ray-embedders", type=click.IntRange(min=1), default=1, show_default=True,
              help="With --engine ray: embedder actors (a model each, 1 GPU each on GPU nodes).")  # fmt: skip
@click.option("--ray-stall-timeout", type=float, callback=_positive_seconds,
              default=600.0, show_default=True, metavar="SECONDS",
              help="With --engine ray: fail when no result arrives for this many seconds.")  # fmt: skip
@click.option("--ray-writers", type=click.IntRange(min=1), default=None,
              help="With --engine ray: writer threads on the driver [default: 4 for a Qdrant server, 1 for "
              "an embedded store].")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="List what would be ingested; embed and write nothing.")
@click.option("--points", type=click.Choice(["per-segment", "per-file"]), default="per-segment",
              help="One point per segment [default], or one per recording (multivector).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option("--progress/--no-progress", "show_bar", default=None, help="Progress bar [default: on a tty].")
def ingest(sources: tuple[str, ...], **opts: Any) -> None:
    """Embed the audio of SOURCE... into a Qdrant collection; rerun the same command to resume.

    SOURCE is a directory (walked recursively), a glob, a JSONL/CSV manifest (a `path` column plus
    metadata columns), an audio file, or `-` for a list of paths on stdin. Files up to --window seconds
    become one point; longer ones are cut into windows. Complete files are skipped (state lives in Qdrant).
    """
    from .config import AUDIO_EXTENSIONS, parse_shard

    try:
        index, count = parse_shard(opts["shard"])
        exts = tuple(e if e.startswith(".") else f".{e}" for e in opts["extensions"]) or AUDIO_EXTENSIONS
        default_failures = f"ingest-failures-{opts['collection']}-{index}of{count}.jsonl"
        config = IngestConfig(
            window_s=opts["window_s"],
            hop_s=opts["hop_s"],
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
    if opts["points"] == "per-file" and opts["engine"] == "ray":
        raise click.UsageError("--points per-file runs on the in-process engine only; drop --engine ray")
    if opts["points"] == "per-file":  # catalog points (ingest/enrich_files.py)
        from .enrich_cli import ingest_per_file_command

        sys.exit(ingest_per_file_command(sources, opts, config))
    summary = _run(sources, opts, config)
    if opts["as_json"]:
        echo_json(summary.to_dict())
    else:
        click.echo(summary.format_text())
        for row in summary.planned:
            click.echo(f"  would ingest {row['path']} ({row['segments']} segment(s), {row['duration_s']} s)")
    if summary.error:
        sys.exit(3)
    sys.exit(0 if summary.ok else 1)


def _run(sources: tuple[str, ...], opts: dict[str, Any], config: Any) -> Any:
    from aurola_qdrant.retry import RetryPolicy
    from aurola_qdrant.store import AudioStore

    from .report import IngestSummary
    from .run import run_ingest, store_windowing

    client = None
    collection = opts["collection"]
    ray_options = None
    if opts["engine"] == "ray":
        from .ray import RayOptions

        ray_options = RayOptions(
            address=opts["ray_address"],
            embedders=opts["ray_embedders"],
            stall_timeout_s=opts["ray_stall_timeout"],
            writers=opts["ray_writers"],
        )
    try:
        from aurola_qdrant import AurolaEmbedder

        embedder = AurolaEmbedder.from_pretrained(
            opts["model"], device=opts["device"], batch_size=config.batch_size
        )
        client = _client_for(opts, config)
        retry = RetryPolicy(max_attempts=1000, max_delay_s=opts["retry_budget"], hint="--retry-budget")
        store = AudioStore.for_embedder(client, collection, embedder, **store_windowing(config), retry=retry)
        return run_ingest(
            sources,
            store,
            embedder,
            config,
            progress=_progress(opts["show_bar"]),
            engine=opts["engine"],
            ray_options=ray_options,
        )
    except Exception as err:  # every failure: one line, the summary so far, exit 3 (a rerun resumes)
        message = report(err)
        click.echo(f"error: {message}", err=True)
        summary = getattr(err, "ingest_summary", None) or IngestSummary(collection, "?")
        summary.error = message
        return summary
    finally:
        if client is not None:
            client.close()


def _client_for(opts: dict[str, Any], config: Any) -> Any:
    """The run's client; a dry run against an embedded store that does not exist yet plans against an
    empty in-memory one, so that it creates nothing on disk."""
    from aurola_qdrant.store import embedded_kind

    if config.dry_run and not opts["qdrant_url"] and embedded_kind(opts["qdrant_path"]) is None:
        from qdrant_client import QdrantClient

        return QdrantClient(":memory:")
    return make_client(opts["qdrant_url"], opts["api_key"], opts["qdrant_path"])
