"""The planning stage: probe files in chunks, ask Qdrant which are already complete, and yield the rest.

Resume is decided from Qdrant alone: a file is complete when its head point carries
``complete_<vector>=true`` (`AudioStore.completed_file_ids`, one request per chunk). Complete files are
skipped without decoding; when one is listed under a path that its points do not record yet, that path is
appended to their ``sources`` (`AudioStore.add_source`), so every path of the content can be found.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from aurola_qdrant.audio.uri import display
from aurola_qdrant.store import AudioStore

from .config import IngestConfig
from .plan import Failure, FilePlan, probe
from .sources import SourceFile
from .state import RunState

__all__ = ["plan_files"]

logger = logging.getLogger(__name__)


def _record_sources(store: AudioStore, complete: list[FilePlan]) -> None:
    """Append each plan's path to ``sources`` of its (complete) file where it is not recorded yet."""
    heads = {str(p.id): (p.payload or {}) for p in store.retrieve([plan.head_id for plan in complete])}
    for plan in complete:
        known = heads.get(plan.head_id, {}).get("sources") or []
        if plan.path not in known:
            changed = store.add_source(plan.file_id, plan.path)
            logger.info(
                "%s: content already stored; path added to sources of %d point(s)", plan.path, changed
            )


def plan_files(
    files: Sequence[SourceFile],
    config: IngestConfig,
    store: AudioStore,
    state: RunState,
    *,
    write: bool = True,
    check_store: bool = True,
) -> Iterator[FilePlan]:
    """Yield the plans of the files that need work, in listing order.

    Probe failures are recorded in ``state`` and complete files counted as skipped (with their new paths
    recorded unless ``write`` is False, the dry run). ``check_store=False`` (a collection that does not
    exist yet) treats every file as new. Raises StoreUnavailableError from Qdrant calls.
    """
    with ThreadPoolExecutor(max_workers=config.probe_threads, thread_name_prefix="ingest-probe") as pool:
        for start in range(0, len(files), config.probe_chunk):
            if state.stop.is_set():
                return
            chunk = files[start : start + config.probe_chunk]
            probed = list(pool.map(lambda f: probe(f, config.window_s, config.hop), chunk))
            plans = [p for p in probed if isinstance(p, FilePlan)]
            _learn_sizes(state, plans)
            for failure in (p for p in probed if isinstance(p, Failure)):
                logger.warning("%s: %s (%s)", display(failure.path), failure.reason, failure.detail)
                state.record_failure(failure)
            done = store.completed_file_ids({p.file_id for p in plans}) if plans and check_store else set()
            complete = [p for p in plans if p.file_id in done]
            if complete and write:
                _record_sources(store, complete)
            with state.lock:
                state.summary.files_skipped += len(complete)
                for plan in complete:
                    state.progress.file_done(plan.size_bytes)
            yield from (p for p in plans if p.file_id not in done)


def _learn_sizes(state: RunState, plans: Sequence[FilePlan]) -> None:
    """Sizes the listing did not give (URIs from a manifest) join progress's total once probed."""
    with state.lock:
        for plan in plans:
            if not state.sizes.get(plan.path) and plan.size_bytes:
                state.sizes[plan.path] = plan.size_bytes
                state.progress.bytes_total += plan.size_bytes
