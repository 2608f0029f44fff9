"""`Engine`: what the store's door needs of a Qdrant backend, and nothing more.

Every Qdrant call of the library, ingest, search, text collections and evaluation goes through the door
(`aurola_qdrant.store._net.call`) to an engine: qdrant-client's `QdrantClient` (a server, or its local
mode for old embedded folders and ``:memory:``) or `aurola_qdrant.store.edge.EdgeEngine` (the embedded
store on Qdrant Edge). An engine provides these methods
with qdrant-client's keyword arguments and return models (``collection_name=...``, ``models.Filter``,
``models.Record``...), plus two optional attributes the door reads:

* ``thread_safe: bool``: False when calls must run one at a time (the door then serialises them); without
  it the door decides for the clients it knows (local mode is not thread-safe, a server client is);
* ``location: str``: where the engine points (a URL or a folder), for messages; never credentials.

Optional methods (`OPTIONAL_METHODS`), which the door calls through ``call_optional`` and skips when an
engine lacks them (what they ensure then holds without a call):

* ``flush(collection_name=...)``: make every acknowledged write durable against power loss. The store
  calls it before writing a completion flag (`aurola_qdrant.store.writes.mark_file_complete`). Edge needs
  it (its ``update`` appends to its WAL without fsync). qdrant-client's engines have none: local mode
  commits every write to SQLite (fsynced) before answering; a server answers a ``wait=True`` write once it
  is in its own write-ahead log, and its durability beyond that is the server's configuration.
* ``optimize(collection_name=...)``: build the vector index now (Edge indexes only when asked).

Catalog points (`aurola_qdrant.store.catalog`) need two more things of the same methods: a
``MAX_SIM`` multivector named vector (``create_vector_name`` with ``multivector_config``; row lists in
``batch_update_points``' ``UpdateVectorsOperation`` and in queries), and ``query_points`` with
``prefetch`` stages under a ``models.FusionQuery`` (RRF, DBSF). Edge 0.9.0 has both; the Edge engine
translates them.

The methods are declared with ``(*args, **kwargs)`` rather than full signatures: the door passes keyword
arguments through unchanged, and qdrant-client's own signatures (many optional parameters) are the
reference.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["ENGINE_METHODS", "OPTIONAL_METHODS", "Engine"]


@runtime_checkable
class Engine(Protocol):
    """A Qdrant backend as the store uses it (see the module docstring for the calling convention)."""

    # collections
    def collection_exists(self, *args: Any, **kwargs: Any) -> bool: ...
    def get_collection(self, *args: Any, **kwargs: Any) -> Any: ...
    def get_collections(self, *args: Any, **kwargs: Any) -> Any: ...
    def create_collection(self, *args: Any, **kwargs: Any) -> Any: ...
    def update_collection(self, *args: Any, **kwargs: Any) -> Any: ...
    def delete_collection(self, *args: Any, **kwargs: Any) -> Any: ...
    def create_vector_name(self, *args: Any, **kwargs: Any) -> Any: ...
    def create_payload_index(self, *args: Any, **kwargs: Any) -> Any: ...
    # writes
    def batch_update_points(self, *args: Any, **kwargs: Any) -> Any: ...
    def set_payload(self, *args: Any, **kwargs: Any) -> Any: ...
    def delete_payload(self, *args: Any, **kwargs: Any) -> Any: ...
    def delete_vectors(self, *args: Any, **kwargs: Any) -> Any: ...
    def delete(self, *args: Any, **kwargs: Any) -> Any: ...
    def upsert(self, *args: Any, **kwargs: Any) -> Any: ...
    # reads
    def retrieve(self, *args: Any, **kwargs: Any) -> Any: ...
    def scroll(self, *args: Any, **kwargs: Any) -> Any: ...
    def count(self, *args: Any, **kwargs: Any) -> Any: ...
    def query_points(self, *args: Any, **kwargs: Any) -> Any: ...
    def query_batch_points(self, *args: Any, **kwargs: Any) -> Any: ...
    def query_points_groups(self, *args: Any, **kwargs: Any) -> Any: ...

    def close(self) -> None: ...


#: The method names of `Engine`, in the order above (what a new engine must provide).
ENGINE_METHODS = (
    *(
        name
        for name, value in vars(Engine).items()
        if callable(value) and not name.startswith("_") and name != "close"
    ),
    "close",
)

#: Methods an engine may have; the door's ``call_optional`` skips them on engines without them.
OPTIONAL_METHODS = ("flush", "optimize")
