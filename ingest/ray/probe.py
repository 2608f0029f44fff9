"""Planning on the Ray driver: probe every listed file (paths and URIs), drop the ones complete in Qdrant.

The same decisions as `ingest.planner.plan_files` (resume from the completion flag alone, new paths of
complete content appended to ``sources``), with a probe that also reads URIs: the content hash and size
come from `aurola_qdrant.audio.uri`, so a file gets the same point ids on a local disk, over HTTP or in S3.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from aurola_qdrant.audio.uri import display
from aurola_qdrant.store import AudioStore

from ..config import IngestConfig
from ..plan import Failure, FilePlan, probe
from ..planner import _record_sources
from ..sources import SourceFile
from ..state import RunState

__all__ = ["plan_sources", "probe_source"]

logger = logging.getLogger(__name__)


def probe_source(item: SourceFile, window_s: float, hop_s: float) -> FilePlan | Failure:
    """`ingest.plan.probe` (paths and URIs alike)."""
    return probe(item, window_s, hop_s)


def plan_sources(
    files: Sequence[SourceFile], config: IngestConfig, store: AudioStore, state: RunState
) -> Iterator[FilePlan]:
    """Plans of the files that need work, in listing order; failures and skips land in ``state``."""
    with ThreadPoolExecutor(max_workers=config.probe_threads, thread_name_prefix="ray-probe") as pool:
        for start in range(0, len(files), config.probe_chunk):
            chunk = files[start : start + config.probe_chunk]
            probed = list(pool.map(lambda f: probe_source(f, config.window_s, config.hop), chunk))
            plans = [p for p in probed if isinstance(p, FilePlan)]
            for failure in (p for p in probed if isinstance(p, Failure)):
                logger.warning("%s: %s (%s)", display(failure.path), failure.reason, failure.detail)
                state.record_failure(failure)
            done = store.completed_file_ids({p.file_id for p in plans}) if plans else set()
            complete = [p for p in plans if p.file_id in done]
            if complete:
                _record_sources(store, complete)
            with state.lock:
                state.summary.files_skipped += len(complete)
                for plan in complete:
                    state.progress.file_done(plan.size_bytes)
            yield from (p for p in plans if p.file_id not in done)
