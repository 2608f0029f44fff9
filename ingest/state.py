"""State shared by the pipeline's threads: per-file progress, the summary, failures, the stop signal."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from .plan import Failure, FilePlan
from .progress import Progress
from .report import FailureLog, IngestSummary

__all__ = ["FileState", "RunState", "put_until_stopped"]

_POLL_S = 0.2


@dataclass
class FileState:
    """One scheduled file: segments decoded/uploaded so far, other paths with the same content."""

    key: int
    plan: FilePlan
    extra_paths: list[str] = field(default_factory=list)
    decoded: int = 0
    uploaded: int = 0
    failed: bool = False
    finished: bool = False  # completed or failed; extra paths arriving later are handled directly


class RunState:
    """Everything the threads share; mutate counters only under ``lock``."""

    def __init__(self, summary: IngestSummary, progress: Progress, failures: FailureLog) -> None:
        self.summary = summary
        self.progress = progress
        self.failures = failures
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.files: dict[int, FileState] = {}
        self.by_file_id: dict[str, FileState] = {}
        self.sizes: dict[str, int] = {}  # listed path -> bytes, for progress
        self.embedded_keys: set[int] = set()

    def fail(self, exc: BaseException) -> None:
        """Record the first fatal error of any thread and ask every thread to stop."""
        with self.lock:
            if self.error is None:
                self.error = exc
        self.stop.set()

    def record_failure(self, failure: Failure) -> None:
        """Count and log a failed file; the caller must not hold ``lock``."""
        with self.lock:
            self.failures.add(failure)
            self.summary.files_failed += 1
            self.summary.failures.append(failure.to_dict())
            self.progress.file_done(self.sizes.get(failure.path, 0))


def put_until_stopped(q: Any, item: Any, stop: threading.Event) -> bool:
    """Blocking put that gives up (returns False) once ``stop`` is set; True when the item was queued."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False
