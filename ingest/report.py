"""The run's summary (`IngestSummary`) and the failures JSONL file."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from .plan import Failure

__all__ = ["FailureLog", "IngestSummary"]


class FailureLog:
    """Appends one JSON object per failed file to ``path`` (``{"path", "reason", "detail", "time"}``).

    Lines are flushed as they are written, so a killed run leaves every failure found so far. The file is
    opened on the first failure only: a clean run leaves no file behind. ``path=None`` keeps records in
    memory only.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.records: list[Failure] = []
        self._fh: IO[str] | None = None

    def add(self, failure: Failure) -> None:
        self.records.append(failure)
        if self.path is None:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        line = {**failure.to_dict(), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self._fh.write(json.dumps(line) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@dataclass
class IngestSummary:
    """What one run did. Counts are files or segments of this run (this shard only).

    Attributes:
        files_seen: files listed (after sharding). files_skipped: already complete in Qdrant, not decoded.
        files_ingested: embedded and marked complete in this run. files_failed: see ``failures``.
        files_duplicate: same content as another file of this run: embedded once, path added to ``sources``.
        files_embedded: files with at least one segment through the model in this run.
        segments_planned: segments of the files that needed work. segments_embedded: model outputs.
        points_written: segments stored (re-storing an existing id counts again; it adds no point).
        silent_segments: stored segments flagged ``silent: true``.
        audio_s: seconds of audio embedded. elapsed_s: wall time of the run.
        realtime_factor: audio_s / elapsed_s. segments_per_s: segments_embedded / elapsed_s.
        planned: dry run only: ``{path, file_id, segments, duration_s}`` of each file that needs work.
        peak_rss_mb: peak resident memory of the ingest process; workers_peak_rss_mb: of its largest worker.
    """

    collection: str
    vector_name: str
    shard: str = "0/1"
    dry_run: bool = False
    files_seen: int = 0
    files_skipped: int = 0
    files_ingested: int = 0
    files_failed: int = 0
    files_duplicate: int = 0
    files_embedded: int = 0
    segments_planned: int = 0
    segments_embedded: int = 0
    points_written: int = 0
    silent_segments: int = 0
    audio_s: float = 0.0
    elapsed_s: float = 0.0
    peak_rss_mb: float = 0.0
    workers_peak_rss_mb: float = 0.0
    failures_path: str | None = None
    failures: list[dict[str, str]] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed and the run was not stopped by an error."""
        return self.files_failed == 0 and self.error is None

    @property
    def audio_hours(self) -> float:
        return self.audio_s / 3600.0

    @property
    def planned_audio_hours(self) -> float:
        """Dry run: hours of audio in the files that need work."""
        return sum(float(row["duration_s"]) for row in self.planned) / 3600.0

    @property
    def realtime_factor(self) -> float:
        return self.audio_s / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def segments_per_s(self) -> float:
        return self.segments_embedded / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (what ``--json`` prints), derived figures included."""
        out = asdict(self)
        out.update(
            ok=self.ok,
            audio_hours=round(self.audio_hours, 6),
            planned_audio_hours=round(self.planned_audio_hours, 6),
            realtime_factor=round(self.realtime_factor, 3),
            segments_per_s=round(self.segments_per_s, 3),
            elapsed_s=round(self.elapsed_s, 3),
        )
        return out

    def format_text(self) -> str:
        """A few human-readable lines."""
        head = "dry run (nothing embedded or written)" if self.dry_run else "ingest"
        lines = [
            f"{head}: collection {self.collection!r}, vector {self.vector_name!r}, shard {self.shard}",
            f"  files: {self.files_seen} seen, {self.files_skipped} already complete, "
            f"{self.files_ingested} ingested, {self.files_duplicate} duplicate content, "
            f"{self.files_failed} failed",
            f"  segments: {self.segments_planned} planned, {self.segments_embedded} embedded, "
            f"{self.points_written} written ({self.silent_segments} silent)",
            f"  audio: {self.audio_hours:.3f} h in {self.elapsed_s:.1f} s "
            f"({self.realtime_factor:.1f}x real time, {self.segments_per_s:.2f} segments/s)",
        ]
        if self.dry_run:
            lines[-1] = (
                f"  would embed: {len(self.planned)} file(s), {self.planned_audio_hours:.3f} h of audio "
                f"({self.segments_planned} segments)"
            )
        if self.failures:
            where = f" (details in {self.failures_path})" if self.failures_path else ""
            lines.append(f"  failures{where}:")
            lines.extend(f"    {f['path']}: {f['reason']}" for f in self.failures[:20])
            if len(self.failures) > 20:
                lines.append(f"    ... and {len(self.failures) - 20} more")
        if self.error:
            lines.append(f"  stopped: {self.error}")
        return "\n".join(lines)
