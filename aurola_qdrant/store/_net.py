"""The single door to the Qdrant client: every network call goes through the retry policy here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qdrant_client import QdrantClient

from ..retry import RetryPolicy

__all__ = ["Net"]


@dataclass(frozen=True)
class Net:
    """A client, a collection name and a retry policy.

    ``call("upsert", ...)`` looks the client method up at call time (so a wrapped or patched client is
    honoured), passes ``collection_name`` and runs it under the policy. All the store's writes are
    idempotent (deterministic ids, set-to-value payload updates), so retrying a write whose first try was
    applied but unacknowledged is harmless.
    """

    client: QdrantClient
    collection: str
    policy: RetryPolicy

    def call(self, method: str, /, **kwargs: Any) -> Any:
        fn = getattr(self.client, method)
        return self.policy.call(
            fn, collection_name=self.collection, operation=f"{method}({self.collection!r})", **kwargs
        )
