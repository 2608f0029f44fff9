"""`aurola-qdrant search`, `describe` and `ingest-text`: the query adapter on the command line.

Model choice: ``--model`` defaults to the embedder recorded in the collection when it is a released
checkpoint or a hub repo id; a collection written by a local folder, or by several embedders, needs
``--model`` (a clear error says so). A ``--model`` other than the recorded one is refused. Re-ranking is on
when a re-ranker is known: ``--reranker``, else the registry re-ranker paired with the embedder
(``aurola-3b`` → ``aurola-rerank-3b``); ``--no-rerank`` turns it off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._output import echo_json
from ._qdrant import make_client, qdrant_options

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

    from ..search import SearchHit


# ------------------------------------------------------------------------------------------ shared options
def model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available).")(fn)
    return click.option(
        "--model", default=None, help="Query embedder (default: the one recorded in the collection)."
    )(fn)


def retry_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--retry-budget",
        type=float,
        default=120.0,
        show_default=True,
        help="Seconds a Qdrant call may retry through an outage (a server that never answered fails "
        "within 10 s).",
    )(fn)


def _retry(budget: float) -> Any:
    from ..retry import RetryPolicy

    return RetryPolicy(max_attempts=1000, max_delay_s=budget, hint="--retry-budget")


def rerank_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--alpha", type=float, default=None, help="Fusion weight: cos + alpha*P(Yes).")(fn)
    fn = click.option("--reranker", default=None, help="Re-ranker name/folder (default: paired one).")(fn)
    fn = click.option("--rerank/--no-rerank", default=None, help="Re-rank (default: when one is known).")(fn)
    fn = click.option("--candidates", default=50, show_default=True, help="Candidates re-ranked (K).")(fn)
    fn = click.option("--limit", default=10, show_default=True, help="Results returned.")(fn)
    fn = click.option("--filter", "filters", multiple=True, help="KEY=VALUE, KEY!=VALUE, KEY>=N … (repeat).")(
        fn
    )
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(fn)


def _load_models(
    client: QdrantClient,
    collection: str,
    model: str | None,
    device: str | None,
    rerank: bool | None,
    reranker: str | None,
    retry: Any = None,
) -> tuple[Any, Any]:
    from ..embedder import AurolaEmbedder
    from ..registry import get_model_spec, list_models
    from ..search.compat import recorded_query_model

    name = model if model is not None else recorded_query_model(client, collection, retry=retry)
    embedder = AurolaEmbedder.from_pretrained(name, device=device)
    if rerank is False:
        return embedder, None
    if reranker is None:
        spec = get_model_spec(name)
        paired = [
            m.name for m in list_models("reranker") if spec is not None and m.base_embedder == spec.name
        ]
        if not paired:
            if rerank:
                raise click.UsageError(f"no re-ranker is paired with {name!r}; name one with --reranker")
            return embedder, None
        reranker = paired[0]
    from ..reranker import AurolaReranker

    return embedder, AurolaReranker.from_pretrained(reranker, device=device)


# ------------------------------------------------------------------------------------------------ output
def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


def _table(hits: Sequence[SearchHit], what: str) -> str:
    if not hits:
        return "no results"
    rows = [
        f"{'#':>3}  {'score':>7}  {'cos':>7}  {'p_yes':>5}  "
        + ("time range     source" if what == "audio" else "text")
    ]
    for rank, hit in enumerate(hits, start=1):
        p = "-" if hit.rerank_score is None else f"{hit.rerank_score:.3f}"
        head = f"{rank:>3}  {hit.score:7.4f}  {hit.retrieval_score:7.4f}  {p:>5}  "
        if what == "audio":
            span = f"{_clock(hit.start_s)}-{_clock(hit.end_s)}"
            rows.append(f"{head}{span:<14} {hit.source}")
        else:
            rows.append(f"{head}{hit.text}")
        if hit.rerank_error:
            rows.append(f"{'':>5}! not re-ranked: {hit.rerank_error}")
    return "\n".join(rows)


def _fusion_header(reranking: bool, alpha: float) -> dict[str, Any]:
    return {"reranked": reranking, "alpha": alpha if reranking else None}


def _emit(hits: Sequence[SearchHit], as_json: bool, what: str, header: dict[str, Any]) -> None:
    if as_json:
        echo_json({**header, "hits": [h.to_dict() for h in hits]})
        return
    click.echo(_table(hits, what))
    if header.get("reranked") and header.get("alpha") == 0.0 and hits:
        click.echo(
            "(re-ranked with alpha = 0: the score is the cosine, so the order is the retrieval order; "
            "p_yes is shown for reference. Pass --alpha to weigh it in.)"
        )


def _fusion_queries(engine: Any, specs: tuple[str, ...]) -> dict[str, list[float]]:
    """``VECTOR=POINT_ID`` -> that point's VECTOR as the query for it (read through the store's door)."""
    out: dict[str, list[float]] = {}
    for spec in specs:
        name, sep, raw = spec.partition("=")
        if not sep or not name or not raw:
            raise click.BadParameter(
                f"{spec!r}: use VECTOR=POINT_ID, e.g. clip=1234", param_hint="--fuse-with"
            )
        point_id: int | str = int(raw) if raw.isdigit() else raw
        found = engine.store.retrieve([point_id], with_vectors=[name])
        vector = (found[0].vector or {}).get(name) if found else None
        if not isinstance(vector, list) or not vector or isinstance(vector[0], list):
            raise click.BadParameter(f"point {raw!r} has no dense vector {name!r}", param_hint="--fuse-with")
        out[name] = vector
    return out


def _check_query(
    query: str | None, audio: Path | None, rerank: bool | None, reranker: str | None, alpha: float | None
) -> None:
    """Exactly one of a text QUERY and --audio; no re-ranking flags with --audio (naming those passed)."""
    if (query is None) == (audio is None):
        raise click.UsageError(
            'give either a text QUERY or --audio FILE, e.g. search "a dog barks" --collection x'
        )
    passed = [flag for flag, on in (("--rerank", rerank), ("--reranker", reranker), ("--alpha", alpha))
              if on is not None and on is not False]  # fmt: skip
    if audio is not None and passed:
        raise click.UsageError(
            "--audio searches audio by audio, which the re-ranker has no prompt for; "
            f"drop {' and '.join(passed)}"
        )


# ---------------------------------------------------------------------------------------------- commands
@click.command()
@click.argument("query", required=False)
@click.option("--collection", required=True, help="Audio collection to search.")
@click.option(
    "--audio", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Query by example."
)
@click.option("--exclude-self", is_flag=True, help="With --audio: leave out the query's own file.")
@click.option("--group-by-file", is_flag=True, help="One hit per file (its best window).")
@click.option(
    "--points",
    type=click.Choice(["auto", "per-segment", "per-file"]),
    default="auto",
    show_default=True,
    help="How the collection's points are laid out: as recorded (auto), ingest's segments, or catalog "
    "points (one per recording, written by enrich); a collection of the other kind is refused.",
)
@click.option(
    "--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Skip this many hits."
)
@click.option("--score-threshold", type=float, default=None, help="Only hits with cosine >= this (Qdrant).")
@click.option("--fuse-with", "fuse_with", multiple=True, metavar="VECTOR=POINT_ID",
              help="Catalog points: fuse with your vector VECTOR, queried by point POINT_ID's value of it "
              "(Qdrant's fusion; repeatable; no re-ranking).")  # fmt: skip
@click.option("--fusion", type=click.Choice(["rrf", "dbsf"]), default="rrf", show_default=True,
              help="Qdrant's fusion for --fuse-with.")  # fmt: skip
@rerank_options
@model_options
@qdrant_options
@retry_option
def search(
    query: str | None,
    collection: str,
    audio: Path | None,
    exclude_self: bool,
    group_by_file: bool,
    points: str,
    offset: int,
    score_threshold: float | None,
    fuse_with: tuple[str, ...],
    fusion: str,
    as_json: bool,
    filters: tuple[str, ...],
    limit: int,
    candidates: int,
    rerank: bool | None,
    reranker: str | None,
    alpha: float | None,
    model: str | None,
    device: str | None,
    qdrant_url: str | None,
    api_key: str | None,
    qdrant_path: Path,
    retry_budget: float,
) -> None:
    """Search COLLECTION for the text QUERY (or for audio like --audio FILE).

    Text queries are limited to 2,000 characters (longer ones are refused, not truncated)."""
    from ..search import AudioSearch
    from ..search.filters import parse_filters
    from ..search.fusion import fusion_plan

    _check_query(query, audio, rerank, reranker, alpha)
    query_filter = parse_filters(filters)
    retry = _retry(retry_budget)
    client = make_client(qdrant_url, api_key, qdrant_path, create=False)
    try:
        embedder, judge = _load_models(
            client, collection, model, device, False if audio else rerank, reranker, retry
        )
        engine = AudioSearch(client, collection, embedder, judge, retry=retry, points=points)
        reranking, weight = fusion_plan(False if audio else rerank, alpha, judge, "t2a")
        paging: dict[str, Any] = {"offset": offset, "score_threshold": score_threshold}
        if audio is not None:
            hits = engine.search_by_audio(
                audio,
                **paging,
                limit=limit,
                query_filter=query_filter,
                group_by_file=group_by_file,
                exclude_self=exclude_self,
            )
        else:
            assert query is not None
            if fuse_with:
                paging.update(fuse_with=_fusion_queries(engine, fuse_with), fusion=fusion)
                rerank = reranking = False
            hits = engine.search(
                query,
                **paging,
                limit=limit,
                candidates=candidates,
                query_filter=query_filter,
                rerank=rerank,
                alpha=alpha,
                group_by_file=group_by_file,
            )
    finally:
        client.close()
    header = {
        "query": query if audio is None else str(audio),
        "collection": collection,
        "model": embedder.model_id,
        **_fusion_header(reranking, weight),
    }
    _emit(hits, as_json, "audio", header)


@click.command()
@click.argument("audio", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--collection", required=True, help="Text collection (see ingest-text).")
@rerank_options
@model_options
@qdrant_options
@retry_option
def describe(
    audio: Path,
    collection: str,
    as_json: bool,
    filters: tuple[str, ...],
    limit: int,
    candidates: int,
    rerank: bool | None,
    reranker: str | None,
    alpha: float | None,
    model: str | None,
    device: str | None,
    qdrant_url: str | None,
    api_key: str | None,
    qdrant_path: Path,
    retry_budget: float,
) -> None:
    """Rank the captions/labels of COLLECTION for the AUDIO file (audio→text)."""
    from ..search import TextSearch
    from ..search.filters import parse_filters
    from ..search.fusion import fusion_plan

    query_filter = parse_filters(filters)
    retry = _retry(retry_budget)
    client = make_client(qdrant_url, api_key, qdrant_path, create=False)
    try:
        embedder, judge = _load_models(client, collection, model, device, rerank, reranker, retry)
        reranking, weight = fusion_plan(rerank, alpha, judge, "a2t")
        hits = TextSearch(client, collection, embedder, judge, retry=retry).describe(
            audio, limit=limit, candidates=candidates, query_filter=query_filter, rerank=rerank, alpha=alpha
        )
    finally:
        client.close()
    header = {"audio": str(audio), "collection": collection, "model": embedder.model_id}
    _emit(hits, as_json, "text", {**header, **_fusion_header(reranking, weight)})


@click.command(name="ingest-text")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--collection", required=True, help="Text collection to create or extend.")
@click.option(
    "--model", default="aurola-3b", show_default=True, help="Embedder: registry name, folder or repo id."
)
@click.option("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available).")
@click.option("--batch-size", default=256, show_default=True, help="Texts embedded and written per batch.")
@qdrant_options
@retry_option
def ingest_text(
    file: Path,
    collection: str,
    model: str,
    device: str | None,
    batch_size: int,
    qdrant_url: str | None,
    api_key: str | None,
    qdrant_path: Path,
    retry_budget: float,
) -> None:
    """Store captions or labels from FILE in a text collection: one per line, or JSONL objects with a
    "text" key (other keys become payload), for `describe`."""
    from ..embedder import AurolaEmbedder
    from ..search import ingest_texts, read_text_file

    texts, metadata = read_text_file(file)
    if not texts:
        raise click.ClickException(f"{file} holds no text (blank lines are skipped)")
    embedder = AurolaEmbedder.from_pretrained(model, device=device)
    client = make_client(qdrant_url, api_key, qdrant_path)
    try:
        n = ingest_texts(
            client, collection, embedder, texts, metadata, batch_size=batch_size, retry=_retry(retry_budget)
        )
    finally:
        client.close()
    click.echo(f"stored {n} distinct text(s) from {file} in {collection!r} (vector {embedder.vector_name!r})")
