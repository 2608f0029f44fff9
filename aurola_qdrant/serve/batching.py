"""Micro-batching: concurrent requests' model inputs gathered into one model call.

`MicroBatcher` owns one worker thread and a bounded queue of items (a text or a waveform, each with a
future). The worker takes the first waiting item, waits up to ``wait_s`` for more (at most ``max_batch``),
runs one model call per kind of item and hands each request its row. Requests enqueue all their items at
once or none (`QueueFullError` when they would not fit), so a full service answers 503 instead of growing
memory. Only embedding is batched here: after its row arrives, each request retrieves and re-ranks on its
own thread, so requests of one batch never wait for another's re-ranking.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .stages import add_stage

__all__ = ["MicroBatcher", "QueueFullError"]

logger = logging.getLogger(__name__)


class QueueFullError(Exception):
    """The batcher's queue cannot take a request's items now (answered 503 with Retry-After)."""


@dataclass
class _Job:
    kind: str
    item: Any
    future: Future[tuple[np.ndarray, float, float]] = field(default_factory=Future)
    enqueued: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    """Run ``runners[kind](items) -> (n, dim) rows`` over batches of concurrently submitted items.

    ``max_batch=1`` (or ``wait_s=0`` with no concurrency) is one-request-at-a-time. ``on_batch(kind, n)``
    and ``on_depth(depth)`` report batch sizes and queue depth (metrics). A batch whose call raises is
    retried item by item, so one bad input fails only its own request.
    """

    def __init__(
        self,
        runners: dict[str, Callable[[list[Any]], np.ndarray]],
        *,
        max_batch: int = 32,
        wait_s: float = 0.005,
        max_queue: int = 256,
        on_batch: Callable[[str, int], None] | None = None,
        on_depth: Callable[[int], None] | None = None,
    ) -> None:
        self.runners = runners
        self.max_batch = max_batch
        self.wait_s = wait_s
        self.max_queue = max_queue
        self._on_batch = on_batch or (lambda kind, n: None)
        self._on_depth = on_depth or (lambda depth: None)
        self._jobs: collections.deque[_Job] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="aurola-batcher", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Items waiting for the model now."""
        return len(self._jobs)

    def run(self, kind: str, items: Sequence[Any]) -> np.ndarray:
        """The rows of ``items`` (one request's), computed in shared batches; blocks until done.

        Adds the request's ``queue`` (longest wait before its batch started) and ``embed`` (model time)
        stages. Raises QueueFullError without enqueuing anything when they would not fit, or whatever the
        model raised for one of them.
        """
        if kind not in self.runners:
            raise ValueError(f"unknown item kind {kind!r}; expected one of {sorted(self.runners)}")
        jobs = [_Job(kind, item) for item in items]
        with self._cond:
            if self._closed:
                raise QueueFullError("the service is shutting down")
            if len(self._jobs) + len(jobs) > self.max_queue:
                raise QueueFullError(
                    f"{len(self._jobs)} items are waiting for the model (at most {self.max_queue}); "
                    "retry shortly"
                )
            self._jobs.extend(jobs)
            self._on_depth(len(self._jobs))
            self._cond.notify()
        rows, waited, model = [], 0.0, 0.0
        for job in jobs:
            row, queue_s, model_s = job.future.result()
            rows.append(row)
            waited, model = max(waited, queue_s), max(model, model_s)
        add_stage("queue", waited)
        add_stage("embed", model)
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def close(self) -> None:
        """Stop the worker after the items already queued."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=30)

    # ---------------------------------------------------------------------------------------- worker
    def _take(self) -> list[_Job] | None:
        with self._cond:
            while not self._jobs and not self._closed:
                self._cond.wait()
            if not self._jobs:
                return None
            batch = [self._jobs.popleft()]
            deadline = time.perf_counter() + self.wait_s
            while len(batch) < self.max_batch:
                if self._jobs:
                    batch.append(self._jobs.popleft())
                    continue
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or self._closed:
                    break
                self._cond.wait(remaining)
            self._on_depth(len(self._jobs))
            return batch

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            by_kind: dict[str, list[_Job]] = {}
            for job in batch:
                by_kind.setdefault(job.kind, []).append(job)
            for kind, jobs in by_kind.items():
                self._on_batch(kind, len(jobs))
                self._run(kind, jobs)

    def _run(self, kind: str, jobs: list[_Job]) -> None:
        start = time.perf_counter()
        try:
            rows = self.runners[kind]([j.item for j in jobs])
        except Exception as err:
            if len(jobs) == 1:
                jobs[0].future.set_exception(err)
                return
            logger.info("batch of %d %s items failed (%s); running them one by one", len(jobs), kind, err)
            for job in jobs:
                self._run(kind, [job])
            return
        model_s = time.perf_counter() - start
        for job, row in zip(jobs, rows, strict=True):
            job.future.set_result((row, start - job.enqueued, model_s))
