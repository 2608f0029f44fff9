"""`run_ingest`: the Python entry point of the ingest worker (the CLI, the benchmark and the quickstart
call it)."""

from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypedDict

from aurola_qdrant.audio.uri import is_uri
from aurola_qdrant.protocols import BatchEmbedder, Embedder
from aurola_qdrant.store import AudioStore, EmbedderInfo

from .config import IngestConfig
from .planner import plan_files
from .progress import NullProgress, Progress
from .report import FailureLog, IngestSummary
from .sources import SourceFile, iter_source_files
from .state import RunState

if TYPE_CHECKING:
    from .ray.options import RayOptions

__all__ = ["ENGINES", "embedder_info", "run_ingest", "store_windowing"]

ENGINES = ("inprocess", "ray")
"""``inprocess`` (the default: worker processes on this machine) or ``ray`` (a Ray cluster, `ingest.ray`)."""

logger = logging.getLogger(__name__)


def embedder_info(embedder: Embedder, config: IngestConfig) -> EmbedderInfo:
    """The `EmbedderInfo` a collection records for ``embedder`` with ``config``'s windowing (what
    ``AudioStore.for_embedder(client, collection, embedder, **store_windowing(config))`` binds)."""
    return embedder.embedder_info(**store_windowing(config))


class Windowing(TypedDict):
    window_s: float
    hop_s: float


def store_windowing(config: IngestConfig) -> Windowing:
    """``window_s``/``hop_s`` of ``config`` as `AudioStore.for_embedder` takes them."""
    return {"window_s": float(config.window_s), "hop_s": float(config.hop)}


def _check_compatible(store: AudioStore, embedder: BatchEmbedder, config: IngestConfig) -> None:
    want = embedder_info(embedder, config)
    if (
        store.embedder_info.write_key() != want.write_key()
        or store.embedder_info.vector_name != want.vector_name
    ):
        raise ValueError(
            f"the store was built for {store.embedder_info.describe()} but this run embeds with "
            f"{want.describe()}; build it with "
            "AudioStore(client, collection, ingest.embedder_info(embedder, config))"
        )
    longest = config.window_s + 1.0  # plan_windows merges tails under 1 s into the last window
    limit = float(embedder.max_audio_seconds)
    if longest > limit:
        raise ValueError(
            f"window_s={config.window_s} gives segments up to {longest} s; "
            f"the model takes at most {limit:.0f} s"
        )


def _size(f: SourceFile) -> int:
    """Bytes of a listed file for progress: the listing's figure, a local file's size, else 0 until
    the planner probes it (no request per URI before the run starts)."""
    if f.size is not None:
        return f.size
    if is_uri(f.path):
        return 0
    try:
        return os.path.getsize(f.path)
    except OSError:
        return 0


def _dry_run(files: list[SourceFile], store: AudioStore, config: IngestConfig, state: RunState) -> None:
    todo = list(plan_files(files, config, store, state, write=False, check_store=store.exists()))
    state.summary.segments_planned = sum(p.n_segments for p in todo)
    state.summary.planned = [
        {"path": p.path, "file_id": p.file_id, "segments": p.n_segments, "duration_s": round(p.duration_s, 3)}
        for p in todo
    ]


def run_ingest(
    sources: Iterable[str | Path | SourceFile],
    store: AudioStore,
    embedder: BatchEmbedder,
    config: IngestConfig | None = None,
    *,
    progress: Progress | None = None,
    stdin: IO[str] | None = None,
    engine: str = "inprocess",
    ray_options: RayOptions | None = None,
) -> IngestSummary:
    """Ingest every audio file named by ``sources`` (see `ingest.sources`) into ``store``.

    Files already complete in the collection are skipped without decoding; everything else is decoded,
    embedded with ``embedder`` (an `AurolaEmbedder`) and stored, each file's completion flag written after
    all its segments. Bad files are recorded in ``summary.failures`` (and ``config.failures_path``) and do
    not stop the run. Rerunning after an interruption ingests exactly what is missing.

    ``store`` must have been built with ``embedder_info(embedder, config)``; the collection is created or
    validated here (not in a dry run, which only plans and writes nothing). ``engine="ray"`` runs the
    decoding and the model on a Ray cluster (`ingest.ray`, configured by ``ray_options``) with the same
    results.

    Raises:
        InputError: a SOURCE that is no file, directory, manifest, glob or ``-``, or a bad manifest row.
        ValueError: a store built for another embedder or windowing.
        CollectionMismatchError: the collection holds another embedder's vectors under this name.
        StoreUnavailableError: Qdrant unreachable past the retry budget (a rerun resumes). The partial
            summary is attached to the exception as ``ingest_summary``.
    """
    config = config if config is not None else IngestConfig()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    progress = progress if progress is not None else NullProgress()
    _check_compatible(store, embedder, config)
    started = time.monotonic()
    files = list(iter_source_files(sources, config.extensions, shard=config.shard, stdin=stdin))
    summary = IngestSummary(
        collection=store.collection,
        vector_name=store.embedder_info.vector_name,
        shard=f"{config.shard[0]}/{config.shard[1]}",
        dry_run=config.dry_run,
        files_seen=len(files),
        failures_path=str(config.failures_path) if config.failures_path and not config.dry_run else None,
    )
    failures = FailureLog(None if config.dry_run else config.failures_path)
    state = RunState(summary, progress, failures)
    state.sizes = {f.path: _size(f) for f in files}
    progress.start(summary, len(files), sum(state.sizes.values()))
    try:
        if config.dry_run:
            _dry_run(files, store, config, state)
        else:
            store.ensure_collection()
            if engine == "ray":
                from .ray import RayOptions, run_ray_pipeline  # Ray loads only when this engine runs

                run_ray_pipeline(files, store, embedder, config, state, ray_options or RayOptions())
            else:
                from .pipeline import run_pipeline  # loads the model-side code only when something runs

                run_pipeline(files, store, embedder, config, state)
    except BaseException as exc:
        summary.error = f"{type(exc).__name__}: {exc}"
        exc.ingest_summary = summary  # type: ignore[attr-defined]
        raise
    finally:
        summary.elapsed_s = time.monotonic() - started
        summary.files_embedded = len(state.embedded_keys)
        summary.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        failures.close()
        progress.close()
    return summary
