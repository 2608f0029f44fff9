"""`aurola-qdrant collection list` and `collection info`: what a Qdrant holds, read through the store's door.

Both are read-only: they never create an embedded store folder, and a server that never answered fails
within the first-contact budget (`RetryPolicy.first_contact_s`) with the URL it tried.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

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
