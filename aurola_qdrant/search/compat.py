"""Query-side identity: the `EmbedderInfo` of a query embedder, and opening a collection for querying."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import CollectionMismatchError
from ..registry import get_model_spec
from ..retry import QDRANT_RETRY, RetryPolicy
from ..store import AudioStore, EmbedderInfo, StoreConfig
from ..store._net import Net, where
from ..store.catalog import PER_FILE, PER_SEGMENT, POINTS_PREFIX, CatalogLayout, recorded_representation
from ..store.schema import recorded_embedders

if TYPE_CHECKING:
    from qdrant_client import QdrantClient
    from qdrant_client.models import SearchParams

    from ..protocols import Embedder

__all__ = [
    "POINTS_CHOICES",
    "catalog_search_params",
    "embedder_info",
    "open_catalog",
    "open_for_query",
    "recorded_query_model",
]

#: How a search may be told the collection's points are laid out ("auto": as the collection records).
POINTS_CHOICES = ("auto", PER_SEGMENT, PER_FILE)


def embedder_info(embedder: Embedder) -> EmbedderInfo:
    """The identity a collection must have recorded for ``embedder``'s queries to be comparable.

    Windowing is left unset: it shapes the stored segments, not query vectors, and
    `AudioStore.check_query_compatible` does not compare it.
    """
    return embedder.embedder_info()


def open_for_query(
    client: QdrantClient,
    collection: str,
    info: EmbedderInfo,
    *,
    config: StoreConfig | None = None,
    retry: RetryPolicy | None = None,
) -> AudioStore:
    """An `AudioStore` view of an existing ``collection``, checked to match ``info``.

    Raises:
        CollectionMismatchError: the collection does not exist, has no vector ``info.vector_name``, or
            that vector was written by another model, revision, prompt version or dimension.
        StoreUnavailableError: Qdrant stayed unreachable past the retry budget.
    """
    policy = retry if retry is not None else QDRANT_RETRY
    if not Net(client, collection, policy).call("collection_exists"):
        raise CollectionMismatchError(
            f"collection {collection!r} does not exist in {where(client)}; ingest into it first "
            f"(aurola-qdrant ingest / ingest-text --collection {collection}) or check the name"
        )
    store = AudioStore(client, collection, info, config, retry=policy)
    store.check_query_compatible()
    return store


def recorded_query_model(client: QdrantClient, collection: str, *, retry: RetryPolicy | None = None) -> str:
    """The model to load for querying ``collection``: its one recorded embedder, as a registry name when
    it is a released checkpoint, else its hub repo id.

    Raises:
        CollectionMismatchError: the collection is missing, records no or several embedders (pass the
            model explicitly then), or records a local checkpoint, whose folder cannot be found from its
            name alone.
    """
    net = Net(client, collection, retry if retry is not None else QDRANT_RETRY)
    if not net.call("collection_exists"):
        raise CollectionMismatchError(
            f"collection {collection!r} does not exist in {where(client)}; check the name "
            "(aurola-qdrant collection list)"
        )
    recorded = recorded_embedders(net.call("get_collection"))
    # a catalog's dense and windows vectors record the same model: one model to load
    infos = list({v.query_key(): v for v in recorded.values() if isinstance(v, EmbedderInfo)}.values())
    if len(infos) != 1:
        described = [v.describe() if isinstance(v, EmbedderInfo) else repr(v) for v in recorded.values()]
        raise CollectionMismatchError(
            f"collection {collection!r} records {len(infos)} readable embedders ({described or 'none'}); "
            "name the query model explicitly (--model)"
        )
    model_id = infos[0].model_id
    spec = get_model_spec(model_id)
    if spec is not None:
        return spec.name
    if model_id.count("/") == 1 and all(model_id.split("/")):
        return model_id
    raise CollectionMismatchError(
        f"collection {collection!r} was written by the local checkpoint {model_id!r} "
        f"({infos[0].describe()}); pass its folder explicitly (--model /path/to/{model_id})"
    )


def open_catalog(store: AudioStore, points: str = "auto") -> tuple[CatalogLayout, str] | None:
    """The catalog layout and audio payload field when ``store``'s vector holds per-file catalog points
    (written by enrich), None for ingest's per-segment points.

    Raises:
        CollectionMismatchError: ``points`` names the other representation than the one recorded (the
            message names both), or it is not one of `POINTS_CHOICES`.
    """
    if points not in POINTS_CHOICES:
        raise CollectionMismatchError(f"points={points!r}: use one of {POINTS_CHOICES}")
    collection = store._net.call("get_collection")
    name = store.embedder_info.vector_name
    recorded = recorded_representation(collection, name) or PER_SEGMENT
    if points != "auto" and points != recorded:
        raise CollectionMismatchError(
            f"collection {store.collection!r}, vector {name!r} holds {recorded} points"
            f"{' (written by enrich)' if recorded == PER_FILE else ' (written by ingest)'}, but {points} "
            f"points were asked for; search it with points={recorded!r} (--points {recorded}) or 'auto'"
        )
    if recorded != PER_FILE:
        return None
    info = recorded_embedders(collection).get(name)
    record = (collection.config.metadata or {}).get(POINTS_PREFIX + name) or {}
    if not isinstance(info, EmbedderInfo) or not isinstance(record.get("audio_field"), str):
        raise CollectionMismatchError(
            f"collection {store.collection!r}: unreadable catalog record for {name!r}"
        )
    return CatalogLayout(info), record["audio_field"]


def catalog_search_params(
    store: AudioStore, catalog: tuple[CatalogLayout, str] | None
) -> SearchParams | None:
    """Rescoring parameters for a quantized catalog (`catalog_reads.rescoring_params`), else None."""
    if catalog is None:
        return None
    from ..store.catalog_reads import rescoring_params

    return rescoring_params(store._net.call("get_collection"), catalog[0])
