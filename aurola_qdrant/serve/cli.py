"""``aurola-qdrant serve``: the search service on uvicorn (needs the ``serve`` extra)."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli._qdrant import make_client, qdrant_options

__all__ = ["serve"]


@click.command()
@click.option("--collection", required=True, help="Audio collection to serve.")
@click.option("--model", default=None, help="Query embedder (default: the one recorded in the collection).")
@click.option("--reranker", default=None, help="Re-ranker name/folder (default: the paired one, if any).")
@click.option("--rerank/--no-rerank", default=None, help="Load a re-ranker (default: when one is known).")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option(
    "--api-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File whose first line is the service key (else env AUROLA_API_KEY; none: no auth).",
)
@click.option(
    "--cors-origin", "cors", multiple=True, help="Allow this browser origin (repeat); default: no CORS."
)
@click.option(
    "--audio-root",
    "roots",
    multiple=True,
    type=click.Path(file_okay=False, exists=True),
    help="Folder whose files requests may name by path, besides the collection's sources (repeat).",
)
@click.option("--max-batch", default=32, show_default=True, help="Most items per micro-batched model call.")
@click.option(
    "--batch-wait-ms", default=5.0, show_default=True, help="Wait for more requests after the first."
)
@click.option("--max-queue", default=256, show_default=True, help="Items waiting for the model before 503.")
@click.option("--no-batching", is_flag=True, help="One model call per request (for comparison).")
@click.option(
    "--retry-budget", default=5.0, show_default=True, help="Seconds a request's Qdrant call retries."
)
@qdrant_options
def serve(
    collection: str,
    model: str | None,
    reranker: str | None,
    rerank: bool | None,
    device: str | None,
    host: str,
    port: int,
    api_key_file: Path | None,
    cors: tuple[str, ...],
    roots: tuple[str, ...],
    max_batch: int,
    batch_wait_ms: float,
    max_queue: int,
    no_batching: bool,
    retry_budget: float,
    qdrant_url: str | None,
    api_key: str | None,
    qdrant_path: Path,
) -> None:
    """Serve COLLECTION over HTTP: embed, search, re-rank and play, with a web page at /.

    Endpoints and their JSON are documented at /docs. With a key (AUROLA_API_KEY or --api-key-file),
    every endpoint but /healthz needs 'Authorization: Bearer <key>'."""
    from .deps import INSTALL_HINT, missing

    absent = missing()
    if absent:
        raise click.ClickException(f"the search service needs {', '.join(absent)}: {INSTALL_HINT}")
    import uvicorn

    from ..cli.search import _load_models
    from ..retry import RetryPolicy
    from .app import create_app
    from .auth import read_api_key
    from .config import ServeConfig
    from .service import SearchService

    key = read_api_key(api_key_file)
    config = ServeConfig(
        api_key=key,
        cors_origins=cors,
        audio_roots=roots,
        max_batch=max_batch,
        batch_wait_ms=batch_wait_ms,
        max_queue=max_queue,
        batching=not no_batching,
    )
    retry = RetryPolicy(
        max_attempts=1000,
        max_delay_s=retry_budget,
        first_contact_s=min(10.0, retry_budget),
        hint="--retry-budget",
    )
    client = make_client(qdrant_url, api_key, qdrant_path, create=False)
    embedder, judge = _load_models(client, collection, model, device, rerank, reranker, retry)
    # one micro-batch is one forward pass: the model's own batching must not cut it up again
    embedder.batch_size = max(embedder.batch_size, max_batch)
    service = SearchService(client, collection, embedder, judge, config, retry=retry, secrets=[api_key])
    auth = "on" if key else "off"
    click.echo(
        f"serving {collection!r} (model {embedder.model_id}, re-ranker {'on' if judge else 'off'}, "
        f"key {auth}) on http://{host}:{port}/  (API docs at /docs)",
        err=True,
    )
    if key is None and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host} without a key: set AUROLA_API_KEY", err=True)
    try:
        uvicorn.run(
            create_app(service), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5
        )
    finally:
        client.close()
