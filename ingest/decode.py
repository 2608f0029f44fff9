"""Decode worker processes: file -> 16 kHz mono windows, sent one by one through a bounded queue.

Runs in processes started with the ``spawn`` context and imports only numpy/soundfile/soxr (through
`aurola_qdrant.audio`), never torch. Each task is ``(key, path, bounds, window_s, hop_s)``; for each
window the worker puts ``("seg", key, index, waveform, peak)`` and finally ``("done", key, peak_rss_mb)``, or
``("fail", key, reason, detail)`` at the first problem (windows before it may already have been sent).
A put blocks while the queue is full: that is the backpressure that keeps decoding at most a few
batches ahead of the model. A worker whose parent died (even by SIGKILL) notices within a second and
exits instead of blocking forever.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from typing import Any

import numpy as np

from aurola_qdrant.audio import iter_windows
from aurola_qdrant.errors import AudioDecodeError, InputError

__all__ = ["decode_file", "worker_main"]

_POLL_S = 1.0


class _ParentGone(Exception):
    pass


def _put(out: Any, message: tuple[Any, ...], parent: int) -> None:
    while True:
        try:
            out.put(message, timeout=_POLL_S)
            return
        except queue.Full:
            if os.getppid() != parent:
                raise _ParentGone from None


def decode_file(
    key: int, path: str, bounds: tuple[tuple[float, float], ...], window_s: float, hop_s: float
) -> Any:
    """Yield the worker's messages for one file (see the module docstring); never raises for bad audio."""
    index = -1
    try:
        for index, segment in enumerate(iter_windows(path, window_s, hop_s)):
            expected = bounds[index] if index < len(bounds) else None
            if (
                expected is None
                or abs(segment.start_s - expected[0]) > 1e-3
                or abs(segment.end_s - expected[1]) > 1e-3
            ):
                yield ("fail", key, "changed", f"segment {index} is {segment.start_s}-{segment.end_s}s, "
                       f"planned {expected}; the file changed after it was hashed")  # fmt: skip
                return
            peak = float(np.max(np.abs(segment.waveform))) if segment.waveform.size else 0.0
            yield ("seg", key, index, segment.waveform, peak)
    except AudioDecodeError as err:
        yield ("fail", key, err.reason, err.detail)
        return
    except InputError as err:
        yield ("fail", key, "corrupt", str(err))
        return
    except OSError as err:
        yield ("fail", key, "unreadable", str(err))
        return
    except Exception as err:  # a decoder bug must become a record, never a silent hole
        yield ("fail", key, "error", f"{type(err).__name__}: {err}")
        return
    if index + 1 != len(bounds):
        yield ("fail", key, "changed", f"decoded {index + 1} segments, planned {len(bounds)}")
        return
    yield ("done", key, peak_rss_mb())


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident memory of process ``pid`` in MiB (``VmHWM``; 0.0 where /proc or the process is gone).

    A decode worker reports its own: RUSAGE_CHILDREN in the parent would also count the parent's pages
    copied at fork, before the worker's exec. The benchmarks read it too (their own and the workers')."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(_POLL_S)
        if os.getppid() != parent:
            os._exit(0)


def worker_main(tasks: Any, results: Any, parent: int) -> None:
    """Process entry point: run tasks until the ``None`` sentinel or until the parent is gone.

    A watchdog thread ends the process within a second of the parent's death wherever the main thread
    is: even a normal exit waits for the results queue's feeder thread, which blocks forever writing to
    a full pipe once the reader is gone (a parent killed with SIGKILL).
    """
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watchdog", daemon=True).start()
    try:
        while True:
            try:
                task = tasks.get(timeout=_POLL_S)
            except queue.Empty:
                if os.getppid() != parent:
                    raise _ParentGone from None
                continue
            if task is None:
                return
            if os.getppid() != parent:
                raise _ParentGone
            for message in decode_file(*task):
                _put(results, message, parent)
    except (_ParentGone, KeyboardInterrupt):
        # exit at once: a normal exit would wait for the queue's feeder thread, which may be blocked
        # forever writing to a pipe that nobody reads any more
        os._exit(0)
