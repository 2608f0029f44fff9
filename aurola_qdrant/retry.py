"""The one retry policy for calls to Qdrant: exponential backoff with jitter, transient failures only.

What qdrant-client 1.20 raises (read from its source), and how it is classified here:

* REST transport failures (refused/reset connections, DNS, timeouts) arrive as
  ``qdrant_client.http.exceptions.ResponseHandlingException`` wrapping the ``httpx`` error in ``.source``;
  the same class also wraps pydantic ``ValidationError`` when a 2xx body cannot be parsed (not transient).
* Non-2xx answers arrive as ``UnexpectedResponse`` with ``.status_code``: 429 and 5xx (except 501/505,
  which never heal) are transient; 4xx (400 bad request, 404 missing collection, 409 conflict) are not.
* A 429 with a ``Retry-After`` header arrives as ``qdrant_client.common.client_exceptions.
  ResourceExhaustedResponse`` (``.retry_after_s``); we wait at least that long (capped by ``max_wait_s``).
* gRPC clients raise ``grpc.RpcError`` whose ``.code()`` is a ``grpc.StatusCode``; UNAVAILABLE,
  DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED are transient.
* Local (embedded) mode raises ValueError/RuntimeError/KeyError for misuse: never retried.

After the budget is spent the last error is re-raised as ``StoreUnavailableError`` (chained with ``from``).
Messages carry the operation name and the error's class and text, never client settings such as API keys.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import tenacity
from qdrant_client.common.client_exceptions import ResourceExhaustedResponse
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from .errors import StoreUnavailableError
from .redact import redact

__all__ = ["QDRANT_RETRY", "RetryPolicy", "is_transient"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

_TRANSIENT_HTTPX = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)
_TRANSIENT_GRPC_CODES = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"})
_PERMANENT_5XX = frozenset({501, 505})  # "not implemented" / "version not supported" never heal


def _is_transient_grpc(exc: BaseException) -> bool:
    # grpc is only ever raised by a client that imported it; never import it ourselves (it is heavy).
    grpc = sys.modules.get("grpc")
    if grpc is None or not isinstance(exc, grpc.RpcError):
        return False
    code = getattr(exc, "code", None)
    try:
        status = code() if callable(code) else None
    except Exception:  # a half-initialised RpcError: treat as unknown, i.e. not transient
        return False
    return getattr(status, "name", None) in _TRANSIENT_GRPC_CODES


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` is a failure that retrying the same request can cure (see the module docstring)."""
    if isinstance(exc, ResourceExhaustedResponse):
        return True
    if isinstance(exc, UnexpectedResponse):
        status = exc.status_code
        return status is not None and (
            status == 429 or (500 <= status < 600 and status not in _PERMANENT_5XX)
        )
    if isinstance(exc, ResponseHandlingException):
        source = getattr(exc, "source", None)
        return isinstance(source, BaseException) and is_transient(source)
    if isinstance(exc, _TRANSIENT_HTTPX):
        return True
    # builtin ones: refused/reset/aborted connections, socket timeouts
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    return _is_transient_grpc(exc)


def _describe(exc: BaseException) -> str:
    text = redact(str(exc).replace("\n", " "))
    if isinstance(exc, ResponseHandlingException) and isinstance(exc.source, BaseException):
        return f"{type(exc).__name__}({_describe(exc.source)})"
    return f"{type(exc).__name__}: {text[:300]}"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for transient Qdrant failures.

    Attributes:
        max_attempts: total tries per call (first try included), >= 1.
        max_delay_s: total time budget per call in seconds; no new try starts after it. None: attempts only.
        initial_wait_s: wait before the 2nd try; doubles each try (seconds, >= 0).
        max_wait_s: cap of one wait, also caps a server's Retry-After (seconds, >= initial_wait_s).
        jitter_s: uniform random extra wait in [0, jitter_s] so that many workers do not retry in lockstep.
        first_contact_s: time budget of a call to a client that has not answered yet (seconds, or None:
            the full budget). The store's door applies it (`for_first_contact`): a URL that never answered
            fails within seconds, while outages after the first answer get the full budget.
        hint: what the "raise the budget" advice names (the CLI passes its ``--retry-budget`` flag).
        sleep: how to wait (tests pass a no-op or a recorder; default ``time.sleep``).
    """

    max_attempts: int = 8
    max_delay_s: float | None = 120.0
    initial_wait_s: float = 0.5
    max_wait_s: float = 15.0
    jitter_s: float = 0.5
    first_contact_s: float | None = 10.0
    hint: str = "the retry budget (RetryPolicy.max_delay_s)"
    first_contact_of: str | None = field(default=None, repr=False)  # set by for_first_contact
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise ValueError(f"max_attempts must be an integer >= 1, got {self.max_attempts!r}")
        if self.max_delay_s is not None and not self.max_delay_s > 0:
            raise ValueError(
                f"max_delay_s must be > 0 seconds or None (no time budget), got {self.max_delay_s!r}"
            )
        if self.first_contact_s is not None and not self.first_contact_s > 0:
            raise ValueError(f"first_contact_s must be > 0 seconds or None, got {self.first_contact_s!r}")
        for name in ("initial_wait_s", "max_wait_s", "jitter_s"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not value >= 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if self.max_wait_s < self.initial_wait_s:
            raise ValueError(
                f"max_wait_s ({self.max_wait_s!r}) must be >= initial_wait_s ({self.initial_wait_s!r})"
            )

    def for_first_contact(self, where: str) -> RetryPolicy:
        """This policy for a call to ``where`` (a URL or folder) that has never answered: its time budget
        cut to ``first_contact_s``, and a message that says the server was never reached."""
        budget = self.max_delay_s
        if self.first_contact_s is not None:
            budget = self.first_contact_s if budget is None else min(budget, self.first_contact_s)
        return dataclasses.replace(self, max_delay_s=budget, first_contact_of=where)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        # computed here rather than with tenacity.wait_exponential_jitter, whose arguments changed across
        # tenacity versions; same formula: min(max, initial * 2**(n-1) + U(0, jitter))
        exponent = min(state.attempt_number - 1, 60)  # no float overflow on absurd attempt counts
        backoff = self.initial_wait_s * 2.0**exponent + random.uniform(0.0, self.jitter_s)
        backoff = min(backoff, self.max_wait_s)
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, ResourceExhaustedResponse):  # the server said how long to back off
            backoff = max(backoff, min(float(exc.retry_after_s), self.max_wait_s))
        return backoff

    def retrying(self) -> tenacity.Retrying:
        """A fresh ``tenacity.Retrying`` for this policy (re-raises non-transient errors unchanged)."""
        stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(self.max_attempts)
        if self.max_delay_s is not None:
            stop = stop | tenacity.stop_after_delay(self.max_delay_s)
        return tenacity.Retrying(
            stop=stop,
            wait=self._wait,
            retry=tenacity.retry_if_exception(is_transient),
            sleep=self.sleep,
            before_sleep=self._log_retry,
            reraise=False,
        )

    @staticmethod
    def _log_retry(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "Qdrant call failed transiently (attempt %d, %s); retrying in %.2fs",
            state.attempt_number,
            _describe(exc) if exc is not None else "?",
            wait,
        )

    def call(self, fn: Callable[..., T], *args: Any, operation: str = "", **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` under this policy.

        Raises:
            StoreUnavailableError: every try failed transiently until the budget was spent; chained from
                the last error. Non-transient errors propagate unchanged on their first occurrence.
        """
        started = time.monotonic()
        try:
            return self.retrying()(fn, *args, **kwargs)
        except tenacity.RetryError as err:
            last = err.last_attempt.exception()
            attempts = err.last_attempt.attempt_number
            what = operation or getattr(fn, "__name__", "call")
            elapsed = time.monotonic() - started
            cause = _describe(last) if last is not None else "unknown"
            if self.first_contact_of is not None:
                raise StoreUnavailableError(
                    f"Qdrant at {self.first_contact_of} did not answer: {what} failed {attempts} time(s) "
                    f"over {elapsed:.1f}s ({cause}). Check the URL and that the server is up."
                ) from last
            raise StoreUnavailableError(
                f"Qdrant unavailable: {what} failed {attempts} time(s) over {elapsed:.1f}s "
                f"(budget: {self.max_attempts} attempts, {self.max_delay_s}s); last error: {cause}. "
                f"Check that the Qdrant server is reachable and healthy, or raise {self.hint}."
            ) from last


#: The project's policy for every network call to Qdrant (AudioStore uses it unless given another).
QDRANT_RETRY = RetryPolicy()
