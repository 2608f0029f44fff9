"""Test seam: deterministic SIGKILL points for the crash/resume tests. Not a user feature.

Set ``AUROLA_INGEST_TEST_KILL_AFTER=<event>:<n>`` and the ingest process kills itself with SIGKILL
(no cleanup, no flush, exactly like ``kill -9``) right after the n-th occurrence of ``<event>``:

    decoded     a decoded segment arrived from a worker (before it is embedded)
    embedded    a batch of segments was embedded (before it is queued for upload)
    uploaded    a batch of segments was written to Qdrant (files in it may be incomplete)
    complete    a file's completion flag was written to Qdrant

The pipeline stages call ``testseam.checkpoint(event)``, which is a no-op function unless `arm` (called
once at the start of every run) found the variable set and put the killer in its place: production runs
pay one environment lookup per run, not per event.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

__all__ = ["ENV_VAR", "EVENTS", "arm", "checkpoint"]

ENV_VAR = "AUROLA_INGEST_TEST_KILL_AFTER"
EVENTS = frozenset({"decoded", "embedded", "uploaded", "complete"})


def _noop(event: str) -> None:
    """The checkpoint of every run without ``AUROLA_INGEST_TEST_KILL_AFTER``."""


class _KillAfter:
    """Counts ``event`` and SIGKILLs this process at its ``n``-th occurrence (other events are ignored)."""

    def __init__(self, event: str, n: int) -> None:
        self.event, self.n, self.seen = event, n, 0

    def __call__(self, event: str) -> None:
        if event != self.event:
            return
        self.seen += 1
        if self.seen >= self.n:
            os.kill(os.getpid(), signal.SIGKILL)


#: Called by the stages at each event; `arm` replaces it (look it up as ``testseam.checkpoint`` at call
#: time, never import the name, or the replacement is not seen).
checkpoint: Callable[[str], None] = _noop


def arm() -> None:
    """Install the kill point ``AUROLA_INGEST_TEST_KILL_AFTER`` names, or the no-op when it is unset.

    Raises:
        ValueError: the variable is set but is not ``<event>:<n>`` with a known event and n >= 1.
    """
    global checkpoint
    spec = os.environ.get(ENV_VAR)
    if not spec:
        checkpoint = _noop
        return
    event, _, n = spec.partition(":")
    if event not in EVENTS or not n.isdigit() or int(n) < 1:
        raise ValueError(f"{ENV_VAR}={spec!r}: expected <event>:<n> with event in {sorted(EVENTS)}, n >= 1")
    checkpoint = _KillAfter(event, int(n))
