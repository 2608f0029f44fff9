"""The single door to the Qdrant client: every call goes through the retry policy here.

Two things are decided per client (not per collection or store), because they belong to the engine behind
it, which every `AudioStore`, text collection and query adapter sharing the client shares too:

* **Serialising engines that are not thread-safe.** qdrant-client's local mode (``QdrantClient(path=...)``)
  mutates Python dicts, numpy arrays and one SQLite connection without a lock; two threads calling it at
  once corrupt its state (an upsert racing a payload update crashed ingest with IndexError, numpy
  broadcast errors or ``sqlite3.OperationalError``). Calls to such a client run one at a time under a
  per-client lock, held for one attempt only, never across a retry's back-off. Server clients are left
  concurrent.
* **First contact.** Until a client has answered once, a call gets at most ``policy.first_contact_s`` of
  retrying: a URL that never answered is a wrong URL or a server that is not up, and waiting out an
  outage budget of minutes for it only hides the mistake. After the first answer the full budget applies
  to outages.
"""

from __future__ import annotations

import errno
import sqlite3
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from ..errors import StorageFullError
from ..retry import RetryPolicy
from .engine import OPTIONAL_METHODS, Engine

__all__ = [
    "Net",
    "call",
    "call_optional",
    "engine_state",
    "is_disk_full",
    "is_local_mode",
    "is_server",
    "is_thread_safe",
    "where",
]


@dataclass
class _EngineState:
    lock: threading.RLock | None  # None: the engine takes concurrent calls
    contacted: bool = False


_STATES: weakref.WeakKeyDictionary[Any, _EngineState] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def is_local_mode(client: Any) -> bool:
    """True for qdrant-client's local (embedded or ``:memory:``) mode."""
    from qdrant_client.local.qdrant_local import QdrantLocal

    return isinstance(getattr(client, "_client", None), QdrantLocal)


def is_server(client: Any) -> bool:
    """True for a client of a Qdrant server (REST or gRPC), which takes concurrent writers."""
    from qdrant_client.qdrant_remote import QdrantRemote

    return isinstance(getattr(client, "_client", None), QdrantRemote)


def is_thread_safe(client: Any) -> bool:
    """False for engines that must be called one thread at a time: an engine's own ``thread_safe``
    attribute when it has one (`Engine`), else False for qdrant-client's local mode only."""
    declared = getattr(client, "thread_safe", None)
    return bool(declared) if isinstance(declared, bool) else not is_local_mode(client)


def engine_state(client: Any) -> _EngineState:
    """The lock and first-contact state shared by every door to ``client``."""
    with _STATES_LOCK:
        state = _STATES.get(client)
        if state is None:
            state = _EngineState(None if is_thread_safe(client) else threading.RLock())
            _STATES[client] = state
        return state


def where(client: Any) -> str:
    """Where ``client`` points, for messages: the server URL or the embedded folder (never credentials)."""
    declared = getattr(client, "location", None)
    inner = getattr(client, "_client", None)
    location = declared if isinstance(declared, str) else None
    location = location or getattr(inner, "rest_uri", None) or getattr(inner, "location", None)
    return str(location) if location else "Qdrant"


def call(client: Engine, policy: RetryPolicy, method: str, /, operation: str = "", **kwargs: Any) -> Any:
    """``client.<method>(**kwargs)`` under ``policy``, serialised for engines that need it.

    The method is looked up at call time (so a wrapped or patched client is honoured).

    Raises:
        StoreUnavailableError: every try failed transiently until the budget (or, before the client ever
            answered, the first-contact budget) was spent.
    """
    state = engine_state(client)
    fn = getattr(client, method)
    if state.lock is not None:
        target = fn

        def fn(**kw: Any) -> Any:
            assert state.lock is not None
            with state.lock:
                return target(**kw)

    if not state.contacted:
        policy = policy.for_first_contact(where(client))
    try:
        result = policy.call(fn, operation=operation or method, **kwargs)
    except (OSError, sqlite3.OperationalError) as exc:
        if is_disk_full(exc):
            raise StorageFullError(
                f"no space left on the device under {where(client)} during {operation or method} ({exc}); "
                "what was written before is intact: free some space and rerun"
            ) from exc
        raise
    state.contacted = True
    return result


def call_optional(
    client: Engine, policy: RetryPolicy, method: str, /, operation: str = "", **kwargs: Any
) -> Any:
    """`call` for one of `OPTIONAL_METHODS`: None, without a call, when the engine does not have it (its
    guarantee then holds without it, e.g. qdrant-client's engines are durable once a write is answered)."""
    if method not in OPTIONAL_METHODS:
        raise ValueError(f"{method!r} is not an optional engine method; use call() ({OPTIONAL_METHODS})")
    if not callable(getattr(client, method, None)):
        return None
    return call(client, policy, method, operation=operation, **kwargs)


def is_disk_full(exc: BaseException) -> bool:
    """True for an out-of-space failure: ENOSPC/EDQUOT, or SQLite's "database or disk is full" (the local
    mode's storage)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)


@dataclass(frozen=True)
class Net:
    """A client, a collection name and a retry policy: `call` with ``collection_name`` filled in.

    All the store's writes are idempotent (deterministic ids, set-to-value payload updates), so retrying a
    write whose first try was applied but unacknowledged is harmless.
    """

    client: Engine
    collection: str
    policy: RetryPolicy

    def call(self, method: str, /, **kwargs: Any) -> Any:
        return call(
            self.client,
            self.policy,
            method,
            operation=f"{method}({self.collection!r})",
            collection_name=self.collection,
            **kwargs,
        )

    def call_optional(self, method: str, /, **kwargs: Any) -> Any:
        """`call_optional` with ``collection_name`` filled in."""
        return call_optional(
            self.client,
            self.policy,
            method,
            operation=f"{method}({self.collection!r})",
            collection_name=self.collection,
            **kwargs,
        )
