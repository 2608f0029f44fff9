"""`enrich_collection`: AuroLA vectors on a team's existing catalog points, in place, one point per recording.

For each point (optionally under a filter) the audio named by its payload field ``audio_field`` (a path or
URI) is embedded: up to ``window_s`` seconds as one dense vector, longer as a ``MAX_SIM`` multivector of its
windows (`aurola_qdrant.store.catalog`). Writes are ``update_vectors`` plus one namespaced payload key,
through the store's door and its retry policy; nothing else of a point changes.

Resume: a point is skipped when its marker (``aurola_<vector_name>``) records this embedder's write key
(model, revision, prompt, dim, windowing) and the audio source it now names; the marker is written after
the vectors in the same batch, so a rerun after a crash redoes only points without a current marker, and a
rerun of a finished run writes nothing. Which points are current is decided client-side from one scroll of
the two payload fields (``audio_field`` and the marker): one page read per ``batch_size`` points, no vectors.
Memory: one page of decoded audio at a time (``batch_size`` recordings).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import models

from aurola_qdrant.audio import (
    DEFAULT_MIN_LAST_S,
    AudioSegment,
    audio_info,
    iter_windows,
    load_audio,
    plan_windows,
)
from aurola_qdrant.errors import AudioDecodeError, InputError
from aurola_qdrant.protocols import Embedder
from aurola_qdrant.retry import QDRANT_RETRY, RetryPolicy
from aurola_qdrant.store import StoreConfig
from aurola_qdrant.store._net import Net
from aurola_qdrant.store.catalog import CatalogLayout, RecordingVectors, write_recordings

from .plan import Failure
from .report import FailureLog

__all__ = ["EnrichSummary", "enrich_collection"]

logger = logging.getLogger(__name__)
_EPS_S = 0.5 / 16000


@dataclass
class EnrichSummary:
    """What one enrich run did (counts of points).

    Attributes:
        points_seen: points scrolled. points_skipped: already current. points_enriched: written this run
        (points_dense + points_multivector). points_failed: see ``failures`` (left unchanged).
        windows_embedded: model outputs. audio_s: seconds embedded. elapsed_s: wall time.
    """

    collection: str
    vector_name: str
    windows_vector: str
    audio_field: str
    points_seen: int = 0
    points_skipped: int = 0
    points_enriched: int = 0
    points_dense: int = 0
    points_multivector: int = 0
    points_failed: int = 0
    windows_embedded: int = 0
    audio_s: float = 0.0
    elapsed_s: float = 0.0
    failures_path: str | None = None
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.points_failed == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "elapsed_s": round(self.elapsed_s, 3)}

    def format_text(self) -> str:
        lines = [
            f"enrich: collection {self.collection!r}, vectors {self.vector_name!r} / "
            f"{self.windows_vector!r}, audio from payload field {self.audio_field!r}",
            f"  points: {self.points_seen} seen, {self.points_skipped} already current, "
            f"{self.points_enriched} enriched ({self.points_dense} dense, {self.points_multivector} "
            f"multivector), {self.points_failed} failed",
            f"  audio: {self.audio_s / 3600:.3f} h, {self.windows_embedded} windows "
            f"in {self.elapsed_s:.1f} s",
        ]
        if self.failures:
            where = f" (details in {self.failures_path})" if self.failures_path else ""
            lines.append(f"  failures{where}:")
            lines.extend(f"    {f['path']}: {f['reason']}" for f in self.failures[:20])
        return "\n".join(lines)


def _segments(source: str, window_s: float, hop_s: float | None) -> tuple[float, list[AudioSegment]]:
    """The recording's duration and its segments: the whole clip, or its windows (`plan_windows`)."""
    duration = audio_info(source).duration_s
    if duration <= window_s + _EPS_S:
        return duration, [load_audio(source)]
    return duration, list(iter_windows(source, window_s, hop_s))


def _embed(embedder: Embedder, segments: list[AudioSegment], batch: int) -> np.ndarray:
    rows = [embedder.embed_audio(segments[i : i + batch]) for i in range(0, len(segments), batch)]
    return np.concatenate(rows).astype(np.float32, copy=False)


def enrich_collection(
    client: Any,
    collection: str,
    embedder: Embedder,
    *,
    audio_field: str,
    window_s: float = 30.0,
    hop_s: float | None = None,
    scroll_filter: models.Filter | None = None,
    batch_size: int = 16,
    embed_batch: int = 16,
    failures_path: str | Path | None = None,
    config: StoreConfig | None = None,
    retry: RetryPolicy | None = None,
    progress: Callable[[EnrichSummary], None] | None = None,
) -> EnrichSummary:
    """Add ``embedder``'s vectors to the existing points of ``collection`` (see the module docstring).

    Args:
        audio_field: payload field holding each recording's path or URI.
        window_s / hop_s: recordings up to ``window_s`` get one dense vector; longer ones a multivector of
            windows ``window_s`` long every ``hop_s`` (default ``window_s``) seconds.
        scroll_filter: only points matching it (the team's own fields).
        batch_size: points per scroll page and per write. embed_batch: segments per model call.
        failures_path: JSONL of points that failed (``{"path", "reason", "detail", "time"}``).
        progress: called with the running summary after every page.

    Raises:
        CollectionMismatchError: no such collection, or our vectors there were written by another
            embedder or representation.
        InputError: a window longer than the embedder takes, or a bad batch size.
        StoreUnavailableError: Qdrant stayed unreachable past the retry budget.
    """
    # a short tail is merged into the last window (`plan_windows`), which may then be this much longer
    if window_s + DEFAULT_MIN_LAST_S > embedder.max_audio_seconds:
        raise InputError(
            f"window_s={window_s!r} (+ {DEFAULT_MIN_LAST_S} s of merged tail) is longer than the embedder "
            f"takes ({embedder.max_audio_seconds} s); use a shorter --window"
        )
    if batch_size < 1 or embed_batch < 1:
        raise InputError(f"batch_size={batch_size!r} and embed_batch={embed_batch!r} must be >= 1")
    plan_windows(window_s * 2, window_s, hop_s)  # validates window/hop before anything is written
    layout = CatalogLayout(embedder.embedder_info(window_s=window_s, hop_s=hop_s or window_s))
    net = Net(client, collection, retry if retry is not None else QDRANT_RETRY)
    layout.ensure(net, config or StoreConfig(), audio_field)
    log = FailureLog(Path(failures_path) if failures_path is not None else None)
    summary = EnrichSummary(collection, layout.dense, layout.windows, audio_field)
    summary.failures_path = str(failures_path) if failures_path is not None else None
    started = time.monotonic()
    offset: Any = None
    try:
        while True:
            points, offset = net.call(
                "scroll",
                scroll_filter=scroll_filter,
                limit=batch_size,
                offset=offset,
                with_payload=[audio_field, layout.marker_key],
                with_vectors=False,
            )
            _page(points, embedder, layout, net, summary, log, window_s, hop_s, embed_batch)
            summary.elapsed_s = time.monotonic() - started
            if progress is not None:
                progress(summary)
            if offset is None:
                break
    finally:
        log.close()
        summary.failures = [f.to_dict() for f in log.records]
        summary.elapsed_s = time.monotonic() - started
    return summary


def _page(
    points: list[models.Record],
    embedder: Embedder,
    layout: CatalogLayout,
    net: Net,
    summary: EnrichSummary,
    log: FailureLog,
    window_s: float,
    hop_s: float | None,
    embed_batch: int,
) -> None:
    todo: list[tuple[Any, str, float, list[AudioSegment]]] = []
    for point in points:
        summary.points_seen += 1
        source = (point.payload or {}).get(summary.audio_field)
        if not isinstance(source, str) or not source:
            _fail(summary, log, point.id, "no-audio", f"payload field {summary.audio_field!r} is {source!r}")
            continue
        if layout.is_current(point.payload, source):
            summary.points_skipped += 1
            continue
        try:
            duration, segments = _segments(source, window_s, hop_s)
        except (AudioDecodeError, InputError, OSError) as exc:  # OSError: storage below a URI
            reason = (
                exc.reason
                if isinstance(exc, AudioDecodeError)
                else "unreadable"
                if isinstance(exc, OSError)
                else "error"
            )
            _fail(summary, log, point.id, reason, str(exc), source)
            continue
        todo.append((point.id, source, duration, segments))
    if not todo:
        return
    vectors = _embed(embedder, [s for *_, segs in todo for s in segs], embed_batch)
    recordings, row = [], 0
    for point_id, source, duration, segments in todo:
        bounds = tuple((s.start_s, s.end_s) for s in segments)
        recordings.append(
            RecordingVectors(point_id, source, duration, bounds, vectors[row : row + len(segments)])
        )
        row += len(segments)
        summary.windows_embedded += len(segments)
        summary.audio_s += duration
        if len(segments) > 1:
            summary.points_multivector += 1
        else:
            summary.points_dense += 1
    summary.points_enriched += write_recordings(net, layout, recordings)
    logger.info("enriched %d point(s) of %r", len(recordings), net.collection)


def _fail(
    summary: EnrichSummary, log: FailureLog, point_id: Any, reason: str, detail: str, source: str = ""
) -> None:
    summary.points_failed += 1
    log.add(Failure(path=source or f"point {point_id}", reason=reason, detail=f"point {point_id}: {detail}"))
