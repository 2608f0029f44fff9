"""Progress of a run: files, segments, audio hours, throughput and ETA.

On a terminal it is one self-overwriting line on stderr (``TerminalProgress``); otherwise a log line
every ``interval_s`` seconds through the ``ingest.progress`` logger (``LogProgress``). The ETA is
remaining bytes / byte rate of the files processed so far: file size is the one measure of "work left"
known for every listed file before it is probed (audio length needs its header).
"""

from __future__ import annotations

import logging
import time
from typing import IO

from .report import IngestSummary

__all__ = ["LogProgress", "NullProgress", "Progress", "TerminalProgress", "format_duration"]

logger = logging.getLogger("ingest.progress")


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"1:02:05"``; ``"?"`` when unknown."""
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        return "?"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """Counts work done against the listed total and renders a status line; subclasses decide where to."""

    interval_s = 0.0

    def __init__(self) -> None:
        self.summary: IngestSummary | None = None
        self.files_total = 0
        self.bytes_total = 0
        self.bytes_done = 0
        self.started = time.monotonic()
        self._last = 0.0

    def start(self, summary: IngestSummary, files_total: int, bytes_total: int) -> None:
        self.summary, self.files_total, self.bytes_total = summary, files_total, bytes_total
        self.started = time.monotonic()

    def file_done(self, size_bytes: int) -> None:
        self.bytes_done += size_bytes

    def line(self) -> str:
        s = self.summary
        if s is None:
            return ""
        elapsed = time.monotonic() - self.started
        done = s.files_skipped + s.files_ingested + s.files_failed + s.files_duplicate
        rate = self.bytes_done / elapsed if elapsed > 0 else 0.0
        eta = (self.bytes_total - self.bytes_done) / rate if rate > 0 else float("nan")
        pct = 100.0 * self.bytes_done / self.bytes_total if self.bytes_total else 100.0
        return (
            f"{pct:5.1f}% files {done}/{self.files_total} (skip {s.files_skipped}, fail {s.files_failed}) "
            f"segments {s.segments_embedded} audio {s.audio_s / 3600:.2f} h "
            f"{s.audio_s / elapsed if elapsed > 0 else 0:.1f}x rt elapsed {format_duration(elapsed)} "
            f"ETA {format_duration(eta)}"
        )

    def tick(self, *, force: bool = False) -> None:
        """Show the status if ``interval_s`` passed since the last time (or ``force``)."""
        now = time.monotonic()
        if force or now - self._last >= self.interval_s:
            self._last = now
            self.show(self.line())

    def show(self, text: str) -> None:
        """Output hook; the base class shows nothing."""

    def close(self) -> None:
        self.tick(force=True)


class NullProgress(Progress):
    """Counts, shows nothing (the Python API's default)."""


class LogProgress(Progress):
    """A log line (INFO on ``ingest.progress``) every ``interval_s`` seconds."""

    def __init__(self, interval_s: float = 30.0) -> None:
        super().__init__()
        self.interval_s = interval_s

    def show(self, text: str) -> None:
        logger.info("%s", text)


class TerminalProgress(Progress):
    """One line on a terminal, rewritten in place (``\\r``) at most every ``interval_s`` seconds."""

    def __init__(self, stream: IO[str], interval_s: float = 0.5) -> None:
        super().__init__()
        self.stream = stream
        self.interval_s = interval_s
        self._width = 0

    def show(self, text: str) -> None:
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        super().close()
        self.stream.write("\n")
        self.stream.flush()
