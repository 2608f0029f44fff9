"""`aurola-qdrant collection list|info|optimize|push|pull|migrate`: what a Qdrant holds, its index, and
copies between the embedded store and a server, all through the store's door.

``list`` and ``info`` are read-only: they never create an embedded store folder, and a server that never
answered fails within the first-contact budget (`RetryPolicy.first_contact_s`) with the URL it tried.
The copies are `aurola_qdrant.store.transfer.copy_collection` (resumable, idempotent, flags last).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ._errors import remember_secret
from ._output import echo_json
from ._qdrant import make_client, qdrant_options

__all__ = ["collection"]


@click.group("collection")
def collection() -> None:
    """Inspect Qdrant collections written by aurola-qdrant."""


def _summary(client: Any, name: str) -> dict[str, Any]:
    """Points and, per recorded embedder, its identity, vectors, complete files and their paths."""
    from aurola_qdrant.retry import QDRANT_RETRY
    from aurola_qdrant.store import AudioStore, EmbedderInfo
    from aurola_qdrant.store._net import Net, where
    from aurola_qdrant.store.schema import recorded_embedders

    net = Net(client, name, QDRANT_RETRY)
    if not net.call("collection_exists"):
        raise click.ClickException(f"no collection named {name!r} in {where(client)}")
    described = net.call("get_collection")
    out: dict[str, Any] = {"collection": name, "points": int(described.points_count or 0), "embedders": {}}
    out["search"] = _search_mode(client, described)
    for vector, rec in recorded_embedders(described).items():
        if not isinstance(rec, EmbedderInfo):
            out["embedders"][vector] = {"unreadable": rec}
            continue
        info = AudioStore(client, name, rec).info()
        out["embedders"][vector] = {
            **rec.to_dict(),
            **{k: info[k] for k in ("vectors", "files", "paths")},
        }
    return out


def _search_mode(client: Any, described: Any) -> dict[str, Any]:
    """How queries are answered: exact (brute force) or through an HNSW index, and on how many vectors."""
    from aurola_qdrant.store._net import is_local_mode

    points, indexed = int(described.points_count or 0), int(described.indexed_vectors_count or 0)
    if is_local_mode(client):
        engine, mode = "qdrant-client local mode", "exact"
    else:
        engine = "Qdrant Edge" if callable(getattr(client, "optimize", None)) else "Qdrant server"
        mode = "hnsw" if indexed > 0 else "exact"
    return {"engine": engine, "mode": mode, "indexed_vectors": indexed, "points": points}


def _search_line(name: str, search: dict[str, Any]) -> str:
    if search["engine"] == "qdrant-client local mode":
        return "  search: exact (qdrant-client local mode has no index; convert it: collection migrate)"
    if search["mode"] == "hnsw":
        return f"  search: HNSW index ({search['engine']}) over {search['indexed_vectors']} vectors"
    fix = (
        f"aurola-qdrant collection optimize {name} builds one"
        if search["engine"] == "Qdrant Edge"
        else ("the server builds it past its indexing threshold")
    )
    return f"  search: exact, no HNSW index yet ({search['engine']}; {fix})"


def _embedder_line(vector: str, row: dict[str, Any]) -> str:
    if "unreadable" in row:
        return f"  vector {vector!r}: unreadable embedder record {row['unreadable']!r}"
    window = (
        "whole clips" if row.get("window_s") is None else f"window {row['window_s']} s hop {row['hop_s']} s"
    )
    paths = row.get("paths", row.get("files"))
    also = "" if paths == row.get("files") else f" (seen under {paths} paths: the same audio counts once)"
    return (
        f"  vector {vector!r}: {row.get('vectors', '?')} vectors, {row.get('files', '?')} complete files"
        f"{also}, dim {row.get('dim')}, model {row.get('model_id')!r} revision {row.get('revision')!r}, "
        f"prompt {row.get('prompt_version')!r}, {window}"
    )


@collection.command("info")
@click.argument("name")
@qdrant_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(name: str, qdrant_url: str | None, api_key: str | None, qdrant_path: Path, as_json: bool) -> None:
    """Points, files, embedders, dimension and windowing of collection NAME.

    A file is one audio content: the same audio under several paths is one file, and the number of paths
    (what a rerun of the ingest counts as already complete) is shown beside it."""
    client = make_client(qdrant_url, api_key, qdrant_path, create=False)
    try:
        data = _summary(client, name)
    finally:
        client.close()
    if as_json:
        echo_json(data)
        return
    click.echo(f"collection {name!r}: {data['points']} points")
    for vector, row in data["embedders"].items():
        click.echo(_embedder_line(vector, row))
    click.echo(_search_line(name, data["search"]))


@collection.command("list")
@qdrant_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(qdrant_url: str | None, api_key: str | None, qdrant_path: Path, as_json: bool) -> None:
    """Every collection with its point count and the embedders it records."""
    from aurola_qdrant.retry import QDRANT_RETRY
    from aurola_qdrant.store._net import call, where
    from aurola_qdrant.store.schema import recorded_embedders

    client = make_client(qdrant_url, api_key, qdrant_path, create=False)
    try:
        rows = []
        for item in call(client, QDRANT_RETRY, "get_collections").collections:
            described = call(client, QDRANT_RETRY, "get_collection", collection_name=item.name)
            rows.append(
                {
                    "collection": item.name,
                    "points": int(described.points_count or 0),
                    "vectors": sorted(recorded_embedders(described)),
                }
            )
        location = where(client)
    finally:
        client.close()
    if as_json:
        echo_json({"location": location, "collections": rows})
        return
    if not rows:
        click.echo(f"no collections in {location}")
    for row in rows:
        vectors = ", ".join(row["vectors"]) or "no aurola-qdrant embedder"
        click.echo(f"{row['collection']}: {row['points']} points ({vectors})")


@collection.command("optimize")
@click.argument("name")
@qdrant_options
def optimize(name: str, qdrant_url: str | None, api_key: str | None, qdrant_path: Path) -> None:
    """Build the HNSW index (and int8/binary quantization when configured) of embedded collection NAME.

    Until then the embedded Qdrant Edge store answers queries by exact search, which is what small and
    mid-size archives want; see BENCHMARKS.md for build times and recall. Blocks until done."""
    import threading
    import time

    from aurola_qdrant.retry import QDRANT_RETRY
    from aurola_qdrant.store._net import Net

    client = make_client(qdrant_url, api_key, qdrant_path, create=False)
    try:
        net = Net(client, name, QDRANT_RETRY)
        if not net.call("collection_exists"):
            raise click.ClickException(f"no collection named {name!r}")
        if not callable(getattr(client, "optimize", None)):
            raise click.ClickException(
                "only the embedded Qdrant Edge store is optimized on demand: a server indexes by itself, and "
                "a local-mode folder has no index (convert it first: aurola-qdrant collection migrate)"
            )
        points = int(net.call("get_collection").points_count or 0)
        done = threading.Event()
        started = time.monotonic()
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                result["changed"] = net.call_optional("optimize")
            except BaseException as err:  # re-raised in the main thread
                result["error"] = err
            finally:
                done.set()

        threading.Thread(target=work, daemon=True).start()
        while not done.wait(5.0):
            click.echo(f"optimizing {name!r} ({points} points): {time.monotonic() - started:.0f} s", err=True)
        if "error" in result:
            raise result["error"]
        indexed = int(net.call("get_collection").indexed_vectors_count or 0)
    finally:
        client.close()
    elapsed = time.monotonic() - started
    click.echo(f"optimized {name!r} in {elapsed:.1f} s: HNSW index over {indexed} of {points} vectors")


def _progress(verb: str) -> Any:
    def show(report: Any) -> None:
        click.echo(
            f"{verb} {report.collection!r}: {report.points} points read, {report.written} written", err=True
        )

    return show


def _report(report: Any, where_to: str, as_json: bool) -> None:
    from dataclasses import asdict

    if as_json:
        echo_json({**asdict(report), "to": where_to})
        return
    click.echo(
        f"copied {report.collection!r} to {report.target!r} at {where_to}: {report.points} points, "
        f"{report.written} written, {report.flags} completion flags set"
        + (" (collection created)" if report.created else "")
    )


def _open_other(location: str, api_key: str | None, *, create: bool) -> Any:
    """A server for a URL, else another embedded store folder."""
    if location.startswith(("http://", "https://")):
        return make_client(location, api_key, "unused")
    return make_client(None, None, Path(location), create=create)


@collection.command("push")
@click.argument("name")
@click.option("--to", "to", required=True, help="Server URL (or another embedded store folder) to copy into.")
@click.option(
    "--to-api-key",
    envvar="QDRANT_TO_API_KEY",
    default=None,
    callback=remember_secret,
    help="API key of the destination server (env QDRANT_TO_API_KEY); never printed.",
)
@click.option("--as", "as_name", default=None, help="Collection name at the destination (default NAME).")
@click.option(
    "--batch", default=256, show_default=True, type=click.IntRange(1, 10_000), help="Points per request."
)
@qdrant_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def push(
    name: str,
    to: str,
    to_api_key: str | None,
    as_name: str | None,
    batch: int,
    qdrant_url: str | None,
    api_key: str | None,
    qdrant_path: Path,
    as_json: bool,
) -> None:
    """Copy collection NAME (ids, vectors, payload, embedder identity, payload indexes) to a server.

    Resumable and idempotent: a rerun writes only what is missing or different; completion flags are
    copied after every point."""
    report, _ = _copy(
        lambda: make_client(qdrant_url, api_key, qdrant_path, create=False),
        lambda: _open_other(to, to_api_key, create=True),
        name, as_name, batch, "pushing",
    )  # fmt: skip
    _report(report, to, as_json)


@collection.command("pull")
@click.argument("name")
@click.option(
    "--from", "from_", required=True, help="Server URL (or another embedded store folder) to copy from."
)
@click.option(
    "--from-api-key",
    envvar="QDRANT_FROM_API_KEY",
    default=None,
    callback=remember_secret,
    help="API key of the source server (env QDRANT_FROM_API_KEY); never printed.",
)
@click.option("--as", "as_name", default=None, help="Collection name in the embedded store (default NAME).")
@click.option(
    "--batch", default=256, show_default=True, type=click.IntRange(1, 10_000), help="Points per request."
)
@qdrant_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def pull(
    name: str,
    from_: str,
    from_api_key: str | None,
    as_name: str | None,
    batch: int,
    qdrant_url: str | None,
    api_key: str | None,
    qdrant_path: Path,
    as_json: bool,
) -> None:
    """Copy collection NAME from a server into the embedded store (or the --qdrant-url destination).

    Resumable and idempotent, like push."""
    report, where_to = _copy(
        lambda: _open_other(from_, from_api_key, create=False),
        lambda: make_client(qdrant_url, api_key, qdrant_path),
        name, as_name, batch, "pulling",
    )  # fmt: skip
    _report(report, where_to, as_json)


def _copy(
    open_source: Callable[[], Any],
    open_target: Callable[[], Any],
    name: str,
    as_name: str | None,
    batch: int,
    verb: str,
) -> tuple[Any, str]:
    """`copy_collection` between two clients opened (and closed) here; returns the report and where the
    target is (`where`)."""
    from aurola_qdrant.store._net import where
    from aurola_qdrant.store.transfer import copy_collection

    source = open_source()
    try:
        target = open_target()
        try:
            report = copy_collection(
                source, target, name, to_collection=as_name, batch=batch, progress=_progress(verb)
            )
            return report, where(target)
        finally:
            target.close()
    finally:
        source.close()


@collection.command("migrate")
@click.option(
    "--qdrant-path",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("aurola_db"),
    show_default=True,
    help="The qdrant-client local-mode folder to convert.",
)
@click.option(
    "--batch", default=256, show_default=True, type=click.IntRange(1, 10_000), help="Points per request."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def migrate(qdrant_path: Path, batch: int, as_json: bool) -> None:
    """Convert a qdrant-client local-mode folder into a Qdrant Edge store, in place.

    Every collection is copied into DIR.migrating (resumable: a rerun continues), then DIR becomes
    DIR.local-mode-backup and the new store takes its place. Delete the backup once you are satisfied."""
    from aurola_qdrant.store.embedded import embedded_kind, open_embedded
    from aurola_qdrant.store.transfer import copy_collection

    from ._errors import CommandError

    folder = qdrant_path.expanduser()
    if embedded_kind(folder) != "local":
        raise CommandError(
            f"{folder.resolve()} is not a qdrant-client local-mode store (no meta.json): nothing to migrate"
        )
    staging = folder.with_name(folder.name + ".migrating")
    backup = folder.with_name(folder.name + ".local-mode-backup")
    if backup.exists():
        raise CommandError(f"{backup} exists from an earlier migration: move or delete it first")
    source = open_embedded(folder, create=False, hint=False)
    reports = []
    try:
        target = open_embedded(staging)  # a new folder: Qdrant Edge
        try:
            from aurola_qdrant.retry import QDRANT_RETRY
            from aurola_qdrant.store._net import call

            for item in call(source, QDRANT_RETRY, "get_collections").collections:
                reports.append(
                    copy_collection(source, target, item.name, batch=batch, progress=_progress("migrating"))
                )
        finally:
            target.close()
    finally:
        source.close()
    folder.rename(backup)
    staging.rename(folder)
    if as_json:
        from dataclasses import asdict

        echo_json({"store": str(folder), "backup": str(backup), "collections": [asdict(r) for r in reports]})
        return
    for r in reports:
        click.echo(f"migrated {r.collection!r}: {r.points} points, {r.flags} completion flags")
    click.echo(f"{folder} is now a Qdrant Edge store; the local-mode original is in {backup}")
