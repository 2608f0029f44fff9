"""Create or validate the collection, our named vector, its recorded embedder and the payload indexes.

The embedder behind each named vector is recorded in the collection's own metadata (qdrant-client >= 1.16,
also kept by local mode), one top-level key per vector, ``aurola_embedder:<vector_name>`` -> `EmbedderInfo`
dict. Qdrant merges metadata updates key by key, so embedders sharing a collection never overwrite each
other's record. Adding our vector to an existing collection uses ``create_vector_name`` (Qdrant's API for a
new named vector on a live collection); the collection is never recreated.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from qdrant_client import models
from qdrant_client.http.exceptions import UnexpectedResponse

from ..errors import CollectionMismatchError
from ..retry import is_transient
from ._net import Net
from .config import StoreConfig
from .embedder_info import EmbedderInfo
from .notes import note_engine
from .records import complete_field

__all__ = [
    "METADATA_PREFIX",
    "check_query_compatible",
    "ensure_collection",
    "ensure_vector",
    "multivector_config",
    "payload_index_plan",
    "recorded_embedders",
]

logger = logging.getLogger(__name__)
METADATA_PREFIX = "aurola_embedder:"


def payload_index_plan(info: EmbedderInfo, config: StoreConfig) -> dict[str, models.PayloadSchemaType]:
    """Every payload index the store creates: the fields it filters/groups on, then the user's extras."""
    kw, fl = models.PayloadSchemaType.KEYWORD, models.PayloadSchemaType.FLOAT
    plan = {"file_id": kw, "source": kw, "sources": kw, "start_s": fl, "end_s": fl, "duration_s": fl}
    plan["segment_index"] = models.PayloadSchemaType.INTEGER
    plan[complete_field(info.vector_name)] = models.PayloadSchemaType.BOOL
    return {**plan, **config.extra_indexes()}


def _vectors(collection: models.CollectionInfo) -> dict[str, models.VectorParams]:
    vectors = collection.config.params.vectors
    if isinstance(vectors, models.VectorParams):  # a collection with one unnamed vector
        return {"": vectors}
    return dict(vectors or {})


def recorded_embedders(collection: models.CollectionInfo) -> dict[str, EmbedderInfo | dict[str, Any]]:
    """Embedders recorded in the collection metadata, by vector name (raw dict when unreadable)."""
    out: dict[str, EmbedderInfo | dict[str, Any]] = {}
    for key, value in (collection.config.metadata or {}).items():
        if not key.startswith(METADATA_PREFIX):
            continue
        name = key[len(METADATA_PREFIX) :]
        try:
            out[name] = EmbedderInfo.from_dict(value)
        except (ValueError, TypeError, AttributeError):
            out[name] = dict(value) if isinstance(value, dict) else {"raw": value}
    return out


def _describe(recorded: EmbedderInfo | dict[str, Any]) -> str:
    return recorded.describe() if isinstance(recorded, EmbedderInfo) else f"unreadable record {recorded!r}"


def _has_points_with_vector(net: Net, name: str) -> bool:
    has_vector = models.Filter(must=[models.HasVectorCondition(has_vector=name)])
    points, _ = net.call("scroll", scroll_filter=has_vector, limit=1, with_payload=False, with_vectors=False)
    return bool(points)


def _create(net: Net, info: EmbedderInfo, config: StoreConfig) -> None:
    try:
        net.call(
            "create_collection",
            vectors_config={info.vector_name: config.vector_params(info.dim)},
            shard_number=config.shard_number,
            replication_factor=config.replication_factor,
            metadata={METADATA_PREFIX + info.vector_name: info.to_dict()},
        )
        logger.info("created collection %r with vector %s", net.collection, info.describe())
    except Exception as err:
        # a concurrent worker may have created it first (409 on a server, ValueError locally): validate that
        if is_transient(err) or not net.call("collection_exists"):
            raise


def multivector_config() -> models.MultiVectorConfig:
    """How a recording's window vectors are compared with a query: its best window (``MAX_SIM``)."""
    return models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)


def _is_multi(params: models.VectorParams) -> bool:
    return params.multivector_config is not None


def _add_vector(
    net: Net, info: EmbedderInfo, config: StoreConfig, recorded: Any, *, multivector: bool = False
) -> None:
    key = METADATA_PREFIX + info.vector_name
    if recorded is not None:  # a record without its vector: a crashed earlier attempt, nothing depends on it
        logger.warning("replacing orphan record %s in %r", _describe(recorded), net.collection)
    # record first: a crash after it leaves a record without vector, which the next call repairs
    net.call("update_collection", metadata={key: info.to_dict()})
    dense = models.DenseVectorConfig(
        size=info.dim,
        distance=models.Distance.COSINE,
        datatype=config.creation_datatype(),
        multivector_config=multivector_config() if multivector else None,
    )
    try:
        net.call(
            "create_vector_name",
            vector_name=info.vector_name,
            vector_name_config=models.DenseVectorNameConfig(dense=dense),
        )
    except (UnexpectedResponse, AttributeError, NotImplementedError) as err:
        net.call("update_collection", metadata={key: None})  # null removes our key again
        raise CollectionMismatchError(
            f"collection {net.collection!r} exists without the vector {info.vector_name!r} and Qdrant "
            f"refused to add it ({err}). Adding a named vector to a live collection needs a Qdrant server "
            "with the create-vector-name API (PUT /collections/{name}/vectors/{vector_name}); upgrade the "
            "server, or use a new collection name, or migrate the points to a new collection."
        ) from err
    if config.on_disk or config.hnsw_on_disk or config.quantization:  # beyond what creation infers
        net.call("update_collection", vectors_config={info.vector_name: config.vector_params_diff()})
    logger.info("added vector %s to existing collection %r", info.describe(), net.collection)


def _validate(
    net: Net, info: EmbedderInfo, params: models.VectorParams, recorded: Any, *, multivector: bool = False
) -> None:
    where = f"collection {net.collection!r}, vector {info.vector_name!r}"
    if params.size != info.dim or params.distance != models.Distance.COSINE:
        raise CollectionMismatchError(
            f"{where} has size {params.size} and distance {params.distance}, but the embedder "
            f"({info.describe()}) needs size {info.dim} and Cosine; use another vector name or collection"
        )
    if _is_multi(params) != multivector:
        have = "a multivector" if _is_multi(params) else "a single dense vector"
        want = "a multivector (MAX_SIM)" if multivector else "a single dense vector"
        raise CollectionMismatchError(
            f"{where} is {have} but {want} is needed here; use another vector name or collection"
        )
    if recorded is None:
        if _has_points_with_vector(net, info.vector_name):
            raise CollectionMismatchError(
                f"{where} already holds vectors but no embedder is recorded for it, so they cannot be "
                f"checked against the offered embedder ({info.describe()}); use another vector name"
            )
        net.call("update_collection", metadata={METADATA_PREFIX + info.vector_name: info.to_dict()})
        return
    if not isinstance(recorded, EmbedderInfo) or recorded.write_key() != info.write_key():
        raise CollectionMismatchError(
            f"{where} was written by a different embedder. Recorded: {_describe(recorded)}. "
            f"Offered: {info.describe()}. Use the recorded model/prompt/windowing, another vector name "
            "(to keep both in one collection) or another collection."
        )


def ensure_vector(
    net: Net, info: EmbedderInfo, config: StoreConfig, *, multivector: bool = False
) -> models.CollectionInfo:
    """Add or validate the named vector ``info.vector_name`` (a ``MAX_SIM`` multivector when
    ``multivector``) and its recorded embedder on an existing collection; nothing else is touched
    (no payload index, no point). Returns the collection as it was before any change.

    Raises:
        CollectionMismatchError: as `ensure_collection`, or the vector exists with the other shape
            (dense vs multivector).
    """
    collection = net.call("get_collection")
    recorded = recorded_embedders(collection).get(info.vector_name)
    params = _vectors(collection).get(info.vector_name)
    if params is None:
        _add_vector(net, info, config, recorded, multivector=multivector)
    else:
        _validate(net, info, params, recorded, multivector=multivector)
    return collection


def ensure_collection(net: Net, info: EmbedderInfo, config: StoreConfig) -> models.CollectionInfo:
    """Create or validate the collection for ``info`` and create missing payload indexes (idempotent).

    Raises:
        CollectionMismatchError: the vector exists with another size/distance or recorded embedder, or it
            is missing and the server cannot add a named vector to a live collection.
        StoreUnavailableError: Qdrant stayed unreachable past the retry budget.
    """
    if not net.call("collection_exists"):
        _create(net, info, config)
    collection = ensure_vector(net, info, config)
    existing = collection.payload_schema or {}
    with warnings.catch_warnings():  # local mode warns once per index; `note_engine` says it once
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        for field, schema in payload_index_plan(info, config).items():
            if field in existing:
                if existing[field].data_type != schema:
                    logger.warning(
                        "payload index %r is %s, expected %s", field, existing[field].data_type, schema
                    )
                continue
            net.call("create_payload_index", field_name=field, field_schema=schema, wait=True)
    described = net.call("get_collection")
    note_engine(net, config, int(described.points_count or 0))
    return described


def check_query_compatible(net: Net, info: EmbedderInfo) -> None:
    """Refuse querying ``info.vector_name`` with an embedder other than the recorded one.

    Windowing is not compared: it shapes the stored segments, not the query vectors.

    Raises:
        CollectionMismatchError: no such vector or record, or model/revision/prompt/dim differ.
    """
    collection = net.call("get_collection")
    note_engine(net, None, int(collection.points_count or 0))
    recorded = recorded_embedders(collection).get(info.vector_name)
    params = _vectors(collection).get(info.vector_name)
    where = f"collection {net.collection!r}, vector {info.vector_name!r}"
    if params is None or recorded is None:
        names = sorted(recorded_embedders(collection))
        raise CollectionMismatchError(
            f"{where}: no {'vector' if params is None else 'recorded embedder'} of that name, so the query "
            f"embedder ({info.describe()}) cannot be checked; embedders recorded here: {names}"
        )
    if (
        not isinstance(recorded, EmbedderInfo)
        or recorded.query_key() != info.query_key()
        or params.size != info.dim
    ):
        raise CollectionMismatchError(
            f"{where} holds vectors of another embedder. Recorded: {_describe(recorded)}. "
            f"Offered for querying: {info.describe()}. Load the recorded model (same revision and prompt "
            "version) to query this vector."
        )
