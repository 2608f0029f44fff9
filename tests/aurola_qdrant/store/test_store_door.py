"""The store's door (`aurola_qdrant.store._net`): the first-contact budget, and serialised local mode."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException

from aurola_qdrant.errors import StoreUnavailableError
from aurola_qdrant.retry import RetryPolicy
from aurola_qdrant.store._net import Net, engine_state, is_server, is_thread_safe

_REFUSED = ResponseHandlingException(
    httpx.ConnectError("[Errno 111] Connection refused", request=httpx.Request("GET", "http://q:6333/"))
)


class _Remote:
    """A stand-in for a server client: ``exists`` answers while ``up``, else the connection is refused."""

    def __init__(self, up: bool) -> None:
        self.up, self.calls = up, 0

    def collection_exists(self, collection_name: str) -> bool:
        self.calls += 1
        if not self.up:
            raise _REFUSED
        return True


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    now = {"t": 0.0}
    monkeypatch.setattr(time, "monotonic", lambda: now["t"])  # tenacity's clock follows our fake sleeps
    return now


def _policy(now: dict[str, float]) -> RetryPolicy:
    def sleep(seconds: float) -> None:
        now["t"] += seconds

    return RetryPolicy(max_attempts=1000, max_delay_s=120.0, initial_wait_s=1.0, max_wait_s=1.0,
                       jitter_s=0.0, first_contact_s=10.0, hint="--retry-budget", sleep=sleep)  # fmt: skip


def test_a_server_that_never_answered_gets_the_first_contact_budget(clock: dict[str, float]) -> None:
    client = _Remote(up=False)
    with pytest.raises(StoreUnavailableError, match="did not answer") as err:
        Net(client, "clips", _policy(clock)).call("collection_exists")  # type: ignore[arg-type]
    assert 10.0 <= clock["t"] < 12.0 and client.calls == 11  # tries at t = 0, 1, ..., 10
    assert "Check the URL" in str(err.value)


def test_after_first_contact_an_outage_gets_the_full_budget_and_names_the_flag(
    clock: dict[str, float],
) -> None:
    client = _Remote(up=True)
    net = Net(client, "clips", _policy(clock))  # type: ignore[arg-type]
    assert net.call("collection_exists") is True
    client.up = False
    with pytest.raises(StoreUnavailableError, match="Qdrant unavailable") as err:
        Net(client, "other", _policy(clock)).call("collection_exists")  # type: ignore[arg-type]
    assert 120.0 <= clock["t"] < 122.0  # contact is per client, whatever the collection
    assert "raise --retry-budget" in str(err.value)


def test_local_mode_calls_run_one_at_a_time_and_server_clients_stay_concurrent() -> None:
    local = QdrantClient(":memory:")
    assert not is_thread_safe(local) and is_thread_safe(_Remote(up=True))
    assert engine_state(local) is engine_state(local)  # one lock per client, shared by every door
    inside, most = [0], [0]
    gate = threading.Lock()

    def slow_exists(collection_name: str) -> Any:
        with gate:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.01)
        with gate:
            inside[0] -= 1
        return False

    local.collection_exists = slow_exists  # type: ignore[method-assign]
    policy = RetryPolicy()
    threads = [
        threading.Thread(target=lambda n=n: Net(local, f"c{n}", policy).call("collection_exists"))
        for n in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1
    local.close()


def test_only_a_server_client_counts_as_a_server(tmp_path) -> None:
    """The Ray engine sizes its writer pool from this: several writers for a server, one otherwise."""
    from aurola_qdrant.store import open_embedded

    server = QdrantClient(url="http://127.0.0.1:9", timeout=1)  # nothing is sent on construction
    local = QdrantClient(":memory:")
    edge = open_embedded(tmp_path / "edge")
    try:
        assert is_server(server) and not is_server(local) and not is_server(edge)
    finally:
        for c in (server, local, edge):
            c.close()


def test_the_engine_interface_is_what_the_store_calls_and_qdrant_client_provides_it() -> None:
    import ast
    from pathlib import Path

    from aurola_qdrant.store.engine import ENGINE_METHODS, Engine

    client = QdrantClient(":memory:")
    assert isinstance(client, Engine)
    # every method the packages send through the door is part of the interface
    root = Path(__file__).resolve().parents[3]
    called: set[str] = set()
    for path in (p for pkg in ("aurola_qdrant", "ingest", "trainer", "aurola_quickstart")
                 for p in (root / pkg).rglob("*.py")):  # fmt: skip
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "call"
            ):
                called |= {
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                }
    assert called and called <= set(ENGINE_METHODS), called - set(ENGINE_METHODS)
    client.close()


def test_an_engine_that_declares_itself_not_thread_safe_is_serialised() -> None:
    class Declared(_Remote):
        thread_safe = False
        location = "/data/edge"

    engine = Declared(up=True)
    assert not is_thread_safe(engine) and engine_state(engine).lock is not None
    from aurola_qdrant.store._net import where

    assert where(engine) == "/data/edge"


def test_optional_methods_are_skipped_on_engines_without_them_and_named_in_the_interface() -> None:
    import ast
    from pathlib import Path

    from aurola_qdrant.store._net import call_optional
    from aurola_qdrant.store.engine import OPTIONAL_METHODS

    client = QdrantClient(":memory:")
    assert call_optional(client, RetryPolicy(), "flush", collection_name="x") is None  # nothing to call
    with pytest.raises(ValueError, match="not an optional engine method"):
        call_optional(client, RetryPolicy(), "scroll", collection_name="x")
    client.close()
    root = Path(__file__).resolve().parents[3]
    called: set[str] = set()
    for path in (p for pkg in ("aurola_qdrant", "ingest", "trainer") for p in (root / pkg).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "call_optional":
                called |= {
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                }
    assert called and called <= set(OPTIONAL_METHODS), called - set(OPTIONAL_METHODS)
