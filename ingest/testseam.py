"""Test seam: deterministic SIGKILL points for the crash/resume tests. Not a user feature.

Set ``AUROLA_INGEST_TEST_KILL_AFTER=<event>:<n>`` and the ingest process kills itself with SIGKILL
(no cleanup, no flush, exactly like ``kill -9``) right after the n-th occurrence of ``<event>``:

    decoded     a decoded segment arrived from a worker (before it is embedded)
    embedded    a batch of segments was embedded (before it is queued for upload)
    uploaded    a batch of segments was written to Qdrant (files in it may be incomplete)
    complete    a file's completion flag was written to Qdrant

Unset (the normal case) it costs one dictionary lookup per event.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

__all__ = ["ENV_VAR", "EVENTS", "checkpoint"]

ENV_VAR = "AUROLA_INGEST_TEST_KILL_AFTER"
EVENTS = frozenset({"decoded", "embedded", "uploaded", "complete"})
_counts: Counter[str] = Counter()


def _target() -> tuple[str, int] | None:
    spec = os.environ.get(ENV_VAR)
    if not spec:
        return None
    event, _, n = spec.partition(":")
    if event not in EVENTS or not n.isdigit() or int(n) < 1:
        raise ValueError(f"{ENV_VAR}={spec!r}: expected <event>:<n> with event in {sorted(EVENTS)}, n >= 1")
    return event, int(n)


def checkpoint(event: str) -> None:
    """Count ``event``; SIGKILL this process when it is the configured event's n-th occurrence."""
    target = _target()
    if target is None or target[0] != event:
        return
    _counts[event] += 1
    if _counts[event] >= target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
