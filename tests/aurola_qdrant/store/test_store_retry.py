from __future__ import annotations

import time
from typing import Any

import grpc
import httpx
import pydantic
import pytest
from qdrant_client import QdrantClient
from qdrant_client.common.client_exceptions import ResourceExhaustedResponse
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from aurola_qdrant.errors import StoreUnavailableError
from aurola_qdrant.retry import QDRANT_RETRY, RetryPolicy, is_transient
from aurola_qdrant.store import AudioStore, EmbedderInfo

_REQUEST = httpx.Request("POST", "http://qdrant:6333/collections/clips/points")


def _status(code: int) -> UnexpectedResponse:
    return UnexpectedResponse(code, "", b'{"status":{"error":"x"}}', httpx.Headers())


class _Rpc(grpc.RpcError):
    """An RpcError as grpc's channel raises them: the status is exposed through ``code()``."""

    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


def _validation_error() -> pydantic.ValidationError:
    class M(pydantic.BaseModel):
        x: int

    try:
        M(x="nope")  # type: ignore[arg-type]
    except pydantic.ValidationError as err:
        return err
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "exc",
    [
        ResponseHandlingException(httpx.ConnectError("[Errno 111] Connection refused", request=_REQUEST)),
        ResponseHandlingException(httpx.ReadTimeout("timed out", request=_REQUEST)),
        ResponseHandlingException(httpx.RemoteProtocolError("peer closed connection", request=_REQUEST)),
        ResponseHandlingException(ConnectionResetError(104, "Connection reset by peer")),
        _status(503),
        _status(502),
        _status(500),
        _status(429),
        ResourceExhaustedResponse("rate limited", 2),
        httpx.ConnectTimeout("connect timeout", request=_REQUEST),
        ConnectionRefusedError(111, "refused"),
        TimeoutError("socket timeout"),
        _Rpc(grpc.StatusCode.UNAVAILABLE),
        _Rpc(grpc.StatusCode.DEADLINE_EXCEEDED),
        _Rpc(grpc.StatusCode.RESOURCE_EXHAUSTED),
    ],
    ids=repr,
)
def test_transient_failures(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        _status(400),
        _status(404),
        _status(409),
        _status(401),
        _status(501),
        UnexpectedResponse(None, "", b"", httpx.Headers()),
        ResponseHandlingException(_validation_error()),  # an unparseable 2xx body: retrying won't fix it
        _validation_error(),
        ValueError("Collection clips not found"),  # what local mode raises
        RuntimeError("Storage folder is already accessed by another instance"),
        KeyError("x"),
        _Rpc(grpc.StatusCode.INVALID_ARGUMENT),
        _Rpc(grpc.StatusCode.NOT_FOUND),
    ],
    ids=repr,
)
def test_permanent_failures(exc: BaseException) -> None:
    assert not is_transient(exc)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_delay_s": 0}, "max_delay_s"),
        ({"initial_wait_s": -1}, "initial_wait_s"),
        ({"initial_wait_s": 5.0, "max_wait_s": 1.0}, "max_wait_s"),
    ],
)
def test_policy_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RetryPolicy(**kwargs)
    assert QDRANT_RETRY.max_attempts >= 3 and QDRANT_RETRY.max_delay_s


def _flaky(real: Any, errors: list[BaseException], seen: list[str]) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        seen.append("try")
        if errors:
            raise errors.pop(0)
        return real(*args, **kwargs)

    return call


@pytest.fixture
def info() -> EmbedderInfo:
    return EmbedderInfo("aurola-3b", "m", None, "p1", 8)


def test_transient_errors_are_retried_and_nothing_is_lost(
    client: QdrantClient,
    info: EmbedderInfo,
    fast_retry: RetryPolicy,
    records: Any,
    rows: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    policy = RetryPolicy(
        max_attempts=5, initial_wait_s=0.01, max_wait_s=0.05, jitter_s=0.0, sleep=waits.append
    )
    store = AudioStore(client, "clips", info, retry=policy)
    store.ensure_collection()
    seen: list[str] = []
    errors: list[BaseException] = [
        ResponseHandlingException(httpx.ConnectError("refused", request=_REQUEST)),
        _status(503),
        ResponseHandlingException(httpx.ReadTimeout("timed out", request=_REQUEST)),
    ]
    monkeypatch.setattr(client, "batch_update_points", _flaky(client.batch_update_points, errors, seen))
    recs = records("f1", "/a.wav", 4)
    assert store.upsert_segments(recs, rows(4, 8)) == 4
    assert len(seen) == 4 and store.count() == 4  # 3 failures, then success; all segments stored
    assert waits == [0.01, 0.02, 0.04]  # exponential backoff, no real sleeping
    assert {str(p.id) for p in store.retrieve([r.point_id for r in recs])} == {r.point_id for r in recs}


def test_retry_after_is_honoured(
    client: QdrantClient, info: EmbedderInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    policy = RetryPolicy(
        max_attempts=3, initial_wait_s=0.01, max_wait_s=5.0, jitter_s=0.0, sleep=waits.append
    )
    store = AudioStore(client, "clips", info, retry=policy)
    monkeypatch.setattr(
        client,
        "collection_exists",
        _flaky(client.collection_exists, [ResourceExhaustedResponse("slow down", 3)], []),
    )
    store.ensure_collection()
    assert waits == [3.0]


def test_bad_request_is_not_retried(
    client: QdrantClient,
    info: EmbedderInfo,
    fast_retry: RetryPolicy,
    records: Any,
    rows: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = AudioStore(client, "clips", info, retry=fast_retry)
    store.ensure_collection()
    seen: list[str] = []
    monkeypatch.setattr(
        client, "batch_update_points", _flaky(client.batch_update_points, [_status(400)], seen)
    )
    with pytest.raises(UnexpectedResponse) as err:
        store.upsert_segments(records("f1", "/a.wav", 2), rows(2, 8))
    assert err.value.status_code == 400 and seen == ["try"]


def test_exhausted_budget_raises_store_unavailable_without_secrets(
    info: EmbedderInfo, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = QdrantClient(":memory:")
    seen: list[str] = []
    secret = "s3cr3t-key"
    failure = ResponseHandlingException(httpx.ConnectError(f"refused (api-key: {secret})", request=_REQUEST))
    monkeypatch.setattr(client, "collection_exists", _flaky(client.collection_exists, [failure] * 10, seen))
    store = AudioStore(client, "clips", info, retry=fast_retry)
    with pytest.raises(StoreUnavailableError) as err:
        store.ensure_collection()
    assert len(seen) == fast_retry.max_attempts
    message = str(err.value)
    assert "collection_exists('clips')" in message and "ConnectError" in message and "4 time(s)" in message
    assert secret not in message
    assert err.value.__cause__ is failure
    client.close()


def test_time_budget_stops_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"t": 0.0}

    def fake_sleep(seconds: float) -> None:
        clock["t"] += seconds

    # tenacity measures elapsed time with time.monotonic: let our fake sleeps advance it
    monkeypatch.setattr(time, "monotonic", lambda: clock["t"])
    policy = RetryPolicy(
        max_attempts=100, max_delay_s=1.0, initial_wait_s=0.4, max_wait_s=0.4, jitter_s=0.0, sleep=fake_sleep
    )
    tries: list[int] = []

    def down() -> None:
        tries.append(1)
        raise _status(503)

    with pytest.raises(StoreUnavailableError, match="503"):
        policy.call(down, operation="health")
    assert len(tries) == 4  # tries at t = 0, 0.4, 0.8, 1.2 -> the budget of 1 s is spent
