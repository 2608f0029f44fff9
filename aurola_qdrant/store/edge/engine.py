"""`EdgeEngine`: an embedded store on Qdrant Edge that speaks qdrant-client's API (`aurola_qdrant.store.
engine.Engine`): one Edge shard per collection under one folder (`layout`), the collection's
configuration and metadata beside it (`meta`), qdrant-client's models in and out (`filters`, `points`,
`updates`, `queries`).

Beyond qdrant-client's methods it has the two optional ones the door calls when an engine has them:
``flush(collection_name)`` (make what was written durable: see `collection`) and
``optimize(collection_name)`` (build the HNSW index and quantization; search is exact until then).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import qdrant_edge as edge
from qdrant_client import models
from qdrant_client.http import models as rest

from .collection import EdgeCollection
from .errors import edge_errors
from .layout import StoreLayout
from .meta import CollectionMeta
from .points import record, scored_point
from .points import with_payload as payload_selector
from .points import with_vector as vector_selector
from .queries import groups, request
from .settings import edge_multivector, unhonoured
from .updates import delete_payload, delete_points, delete_vectors, operations, selection, set_payload

__all__ = ["EDGE_VERSION", "EdgeEngine"]

logger = logging.getLogger(__name__)
EDGE_VERSION = "0.9.0"
_DONE = models.UpdateResult(operation_id=0, status=models.UpdateStatus.COMPLETED)
_SCHEMA = {t.value: getattr(edge.PayloadSchemaType, t.value.capitalize()) for t in models.PayloadSchemaType}


class EdgeEngine:
    """The collections of the Edge store at ``path`` (created when missing), held by this process.

    Raises:
        StoreLockedError: another process (or another engine in this one) has the store open.
    """

    thread_safe = True  # Edge's shards lock internally; our own state has its own lock

    def __init__(self, path: str | Path) -> None:
        self._layout = StoreLayout(path)
        self._layout.create(EDGE_VERSION)
        self._layout.lock()
        self.location = str(self._layout.root)
        self._open: dict[str, EdgeCollection] = {}
        self._lock = threading.RLock()
        self.unhonoured: list[str] = []  # settings of created collections Edge could not honour

    def __repr__(self) -> str:
        return f"EdgeEngine({self.location!r})"

    # collections --------------------------------------------------------------------------------------
    def _get(self, name: str) -> EdgeCollection:
        with self._lock:
            c = self._open.get(name)
            if c is not None:
                return c
            folder = self._layout.collection_dir(name)
            if not (folder / "collection.json").is_file():
                raise ValueError(f"Collection {name} not found")
            with edge_errors(f"opening {folder}"):
                c = self._open[name] = EdgeCollection.open(folder)
            return c

    def collection_exists(self, collection_name: str, **_: Any) -> bool:
        with self._lock:
            if collection_name in self._open:
                return True
            return (self._layout.collection_dir(collection_name) / "collection.json").is_file()

    def get_collections(self, **_: Any) -> models.CollectionsResponse:
        names = self._layout.names()
        return models.CollectionsResponse(collections=[models.CollectionDescription(name=n) for n in names])

    def get_collection(self, collection_name: str, **_: Any) -> models.CollectionInfo:
        c = self._get(collection_name)
        with edge_errors(collection_name):
            return c.describe()

    def create_collection(
        self,
        collection_name: str,
        vectors_config: Any = None,
        *,
        shard_number: int | None = None,
        replication_factor: int | None = None,
        metadata: dict[str, Any] | None = None,
        **_: Any,
    ) -> bool:
        with self._lock:
            if self.collection_exists(collection_name):
                raise ValueError(f"Collection {collection_name} already exists")
            if isinstance(vectors_config, models.VectorParams):
                vectors_config = {"": vectors_config}
            meta = CollectionMeta(dict(vectors_config or {}), dict(metadata or {}))
            folder = self._layout.collection_dir(collection_name)
            with edge_errors(f"creating {folder}"):
                self._open[collection_name] = EdgeCollection.create(folder, meta)
        skipped = unhonoured(shard_number, replication_factor)
        self.unhonoured.extend(s for s in skipped if s not in self.unhonoured)
        return True

    def update_collection(
        self,
        collection_name: str,
        *,
        vectors_config: Any = None,
        metadata: dict[str, Any] | None = None,
        **_: Any,
    ) -> bool:
        c = self._get(collection_name)
        with c.lock:
            if metadata:
                c.meta.merge_metadata(metadata)
            for name, diff in (vectors_config or {}).items():
                c.meta.apply_diff(name, diff)
            c.save_meta()
        return True

    def delete_collection(self, collection_name: str, **_: Any) -> bool:
        with self._lock:
            c = self._open.pop(collection_name, None)
            if c is not None:
                with edge_errors(collection_name):
                    c.close()
            existed = self.collection_exists(collection_name)
            self._layout.remove(collection_name)
        return existed

    def create_vector_name(
        self, collection_name: str, vector_name: str, vector_name_config: Any, **_: Any
    ) -> bool:
        c = self._get(collection_name)
        dense = vector_name_config.dense
        datatype = getattr(dense.datatype, "value", dense.datatype) or "float32"
        multi = dense.multivector_config
        params = models.VectorParams(
            size=dense.size,
            distance=dense.distance,
            datatype=models.Datatype(datatype),
            multivector_config=multi,
        )
        edge_type = {"float16": edge.VectorStorageDatatype.Float16}.get(datatype)
        distance = {
            models.Distance.COSINE: edge.Distance.Cosine,
            models.Distance.DOT: edge.Distance.Dot,
            models.Distance.EUCLID: edge.Distance.Euclid,
        }[dense.distance]
        with c.lock, edge_errors(collection_name):
            c.update(
                edge.UpdateOperation.create_dense_vector(
                    vector_name,
                    dense.size,
                    distance,
                    multivector_config=edge_multivector(multi),
                    datatype=edge_type,
                )
            )
            c.meta.vectors[vector_name] = params
            c.save_meta()
        return True

    def create_payload_index(
        self, collection_name: str, field_name: str, field_schema: Any = None, **_: Any
    ) -> models.UpdateResult:
        c = self._get(collection_name)
        kind = str(getattr(field_schema, "value", field_schema) or "keyword")
        with edge_errors(collection_name):
            if kind == models.PayloadSchemaType.BOOL.value:
                c.add_flag_field(field_name)  # stored as 0/1 (see meta): an integer index
            else:
                c.update(edge.UpdateOperation.create_field_index(field_name, _SCHEMA[kind]))
                with c.lock:
                    c.meta.payload_schema[field_name] = kind
                    c.save_meta()
        return _DONE

    # optional engine methods (the door calls them through `call_optional`) -----------------------------
    def flush(self, collection_name: str, **_: Any) -> bool:
        """Make everything written to ``collection_name`` durable (segments written and fsynced); a no-op
        when only flag fields were written since the last flush. True when it flushed."""
        c = self._get(collection_name)
        with edge_errors(collection_name):
            return c.flush()

    def optimize(self, collection_name: str, **_: Any) -> bool:
        """Build the HNSW index (and quantization, when configured) of ``collection_name``; blocks until
        done. True when anything was optimized."""
        c = self._get(collection_name)
        with edge_errors(collection_name):
            return c.optimize()

    def close(self, **_: Any) -> None:
        with self._lock:
            for c in self._open.values():
                with edge_errors(str(c.folder)):
                    c.close()
            self._open.clear()
            self._layout.unlock()

    # writes -------------------------------------------------------------------------------------------
    def _apply(self, collection_name: str, ops: list[Any]) -> EdgeCollection:
        c = self._get(collection_name)
        with edge_errors(collection_name):
            for op, touches_data in operations(ops, c.flags):
                c.update(op, touches_data)
        return c

    def batch_update_points(self, collection_name: str, update_operations: list[Any], **_: Any) -> list[Any]:
        self._apply(collection_name, list(update_operations))
        return [_DONE for _ in update_operations]

    def upsert(self, collection_name: str, points: Any, **_: Any) -> models.UpdateResult:
        batch = (
            models.PointsBatch(batch=points)
            if isinstance(points, models.Batch)
            else models.PointsList(points=list(points))
        )
        self._apply(collection_name, [models.UpsertOperation(upsert=batch)])
        return _DONE

    def set_payload(
        self, collection_name: str, payload: dict[str, Any], points: Any, key: str | None = None, **_: Any
    ) -> models.UpdateResult:
        c = self._get(collection_name)
        with edge_errors(collection_name):
            c.update(
                set_payload(payload, selection(points, c.flags), c.flags, key), not payload.keys() <= c.flags
            )
        return _DONE

    def delete_payload(
        self, collection_name: str, keys: list[str], points: Any, **_: Any
    ) -> models.UpdateResult:
        c = self._get(collection_name)
        with edge_errors(collection_name):
            c.update(delete_payload(keys, selection(points, c.flags)))
        return _DONE

    def delete_vectors(
        self, collection_name: str, vectors: list[str], points: Any, **_: Any
    ) -> models.UpdateResult:
        c = self._get(collection_name)
        with edge_errors(collection_name):
            c.update(delete_vectors(vectors, selection(points, c.flags)))
        return _DONE

    def delete(self, collection_name: str, points_selector: Any, **_: Any) -> models.UpdateResult:
        c = self._get(collection_name)
        with edge_errors(collection_name):
            c.update(delete_points(selection(points_selector, c.flags)))
        return _DONE

    # reads --------------------------------------------------------------------------------------------
    def retrieve(
        self,
        collection_name: str,
        ids: list[Any],
        with_payload: Any = True,
        with_vectors: Any = False,
        **_: Any,
    ) -> list[models.Record]:
        c = self._get(collection_name)
        sel = selection(list(ids), c.flags)
        with edge_errors(collection_name):
            found = c.shard.retrieve(sel.ids, payload_selector(with_payload), vector_selector(with_vectors))
        return [record(r, c.flags) for r in found]

    def scroll(
        self,
        collection_name: str,
        scroll_filter: models.Filter | None = None,
        limit: int = 10,
        offset: Any = None,
        with_payload: Any = True,
        with_vectors: Any = False,
        **_: Any,
    ) -> tuple[list[models.Record], Any]:
        from .filters import edge_filter, edge_id

        c = self._get(collection_name)
        req = edge.ScrollRequest(
            offset=None if offset is None else edge_id(offset),
            limit=limit,
            filter=edge_filter(scroll_filter, c.flags),
            with_payload=payload_selector(with_payload),
            with_vector=vector_selector(with_vectors),
        )
        with edge_errors(collection_name):
            page, next_offset = c.shard.scroll(req)
        return [record(r, c.flags) for r in page], record_id(next_offset)

    def count(
        self, collection_name: str, count_filter: models.Filter | None = None, exact: bool = True, **_: Any
    ) -> models.CountResult:
        from .filters import edge_filter

        c = self._get(collection_name)
        with edge_errors(collection_name):
            n = c.shard.count(edge.CountRequest(exact=exact, filter=edge_filter(count_filter, c.flags)))
        return models.CountResult(count=int(n))

    def query_points(self, collection_name: str, query: Any = None, **kw: Any) -> rest.QueryResponse:
        c = self._get(collection_name)
        with edge_errors(collection_name):
            found = c.shard.query(request(c.flags, query=query, **kw))
        return rest.QueryResponse(points=[scored_point(p, c.flags) for p in found])

    def query_batch_points(
        self, collection_name: str, requests: list[models.QueryRequest], **_: Any
    ) -> list[rest.QueryResponse]:
        c = self._get(collection_name)
        batch = [request(c.flags, **_query_kwargs(r)) for r in requests]
        with edge_errors(collection_name):
            found = c.shard.query_batch(edge.QueryBatchRequest(batch))
        return [rest.QueryResponse(points=[scored_point(p, c.flags) for p in ps]) for ps in found]

    def query_points_groups(
        self, collection_name: str, group_by: str, query: Any = None, **kw: Any
    ) -> models.GroupsResult:
        c = self._get(collection_name)
        with edge_errors(collection_name):
            return groups(c.shard, c.flags, group_by=group_by, query=query, **kw)


def record_id(point_id: Any) -> Any:
    from .points import client_id

    return None if point_id is None else client_id(point_id)


def _query_kwargs(r: models.QueryRequest) -> dict[str, Any]:
    """A batch entry as ``query_points`` keyword arguments (`QueryRequest` says ``with_vector``)."""
    kw: dict[str, Any] = {"query": r.query, "using": r.using, "query_filter": r.filter, "params": r.params}
    kw.update(limit=r.limit or 10, offset=r.offset, score_threshold=r.score_threshold)
    kw.update(with_payload=r.with_payload if r.with_payload is not None else False)
    kw.update(with_vectors=r.with_vector if r.with_vector is not None else False)
    return kw
