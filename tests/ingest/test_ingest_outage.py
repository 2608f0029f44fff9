"""Qdrant failures at the client boundary: transient ones are retried and lose nothing; past the retry
budget the run stops with StoreUnavailableError, and a rerun completes exactly."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from aurola_qdrant.errors import StoreUnavailableError
from aurola_qdrant.retry import RetryPolicy
from aurola_qdrant.store import open_embedded
from ingest import run_ingest

_REQUEST = httpx.Request("POST", "http://qdrant:6333/collections/sounds/points")
_FAST = RetryPolicy(max_attempts=3, initial_wait_s=0.0, max_wait_s=0.0, jitter_s=0.0, sleep=lambda s: None)


class FlakyClient:
    """Wraps a real client; method calls fail with what qdrant-client raises when the server is gone.

    ``every``: every n-th call fails once (transient). ``down_after``: from that call on, all fail.
    """

    def __init__(self, inner: QdrantClient, *, every: int = 0, down_after: int | None = None) -> None:
        self.inner, self.every, self.down_after = inner, every, down_after
        self.calls = self.failures = 0

    def _error(self) -> Exception:
        self.failures += 1
        if self.failures % 2:
            return ResponseHandlingException(
                httpx.ConnectError("[Errno 111] Connection refused", request=_REQUEST)
            )
        return UnexpectedResponse(503, "Service Unavailable", b"", httpx.Headers())

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.down_after is not None and self.calls >= self.down_after:
                raise self._error()
            if self.every and self.calls % self.every == 0:
                raise self._error()
            return attr(*args, **kwargs)

        return call


def test_transient_failures_are_retried_and_lose_nothing(h, tmp_path, tiny_embedder, open_store):
    files = [h.write_tone(tmp_path / "in" / f"{i}.wav", 1.0 + 2 * i, freq=300 + 100 * i) for i in range(3)]
    client = open_embedded(tmp_path / "db")
    flaky = FlakyClient(client, every=3)
    try:
        summary = run_ingest(
            [tmp_path / "in"], open_store(client=flaky, retry=_FAST), tiny_embedder, h.config()
        )
        assert flaky.failures >= 5  # the run really went through failures
        assert summary.ok and summary.files_ingested == 3
        assert {str(p.id) for p in h.all_points(client, "sounds")} == h.expected_ids(files)
    finally:
        client.close()


def test_outage_past_the_budget_stops_cleanly_and_a_rerun_completes(h, tmp_path, tiny_embedder, open_store):
    files = [h.write_tone(tmp_path / "in" / f"{i}.wav", 1.0 + 2 * i, freq=300 + 100 * i) for i in range(4)]
    client = open_embedded(tmp_path / "db")
    try:
        flaky = FlakyClient(client, down_after=14)  # collection set up, then the server goes away mid-run
        store = open_store(client=flaky, retry=_FAST)
        with pytest.raises(StoreUnavailableError, match="Qdrant unavailable") as info:
            run_ingest([tmp_path / "in"], store, tiny_embedder, h.config())
        assert info.value.ingest_summary.error.startswith("StoreUnavailableError")
        done_before = {p.payload["file_id"] for p in h.all_points(client, "sounds")}
        assert len(done_before) < len(files)
        rerun = run_ingest([tmp_path / "in"], open_store(client=client), tiny_embedder, h.config())
        assert rerun.ok
        assert {str(p.id) for p in h.all_points(client, "sounds")} == h.expected_ids(files)
        assert len(h.all_points(client, "sounds")) == len(h.expected_ids(files))
    finally:
        client.close()
