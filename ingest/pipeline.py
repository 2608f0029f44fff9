"""The ingest pipeline: planner thread -> decode processes -> feature thread -> model -> upload thread.

    planner (thread)      probe + resume check, one decode task per file that needs work
      | tasks: bounded multiprocessing queue (2 per worker)
    decode workers (N spawn processes, torch-free): decode + resample, one window at a time
      | results: bounded multiprocessing queue (IngestConfig.segment_queue_size segments)
    batcher (thread)      similar-length batches, prompts, log-mel features
      | bounded queue (2 batches)
    model (this thread)   forward pass, L2-normalised vectors
      | bounded queue (IngestConfig.upload_queue_batches)
    uploader (thread)     upserts, completion flags, clean-up of failed files

Every queue is bounded, so a slow stage stalls the ones before it instead of growing memory: at most
about ``2 * segment_queue_size + 3 * batch_size + upload_queue_batches * batch_size`` windows are in flight
(the queue, plus the batcher's pool of the same size from which batches of similar length are cut).
The first fatal error of any stage (Qdrant unavailable past the retry budget, a model error) stops every
stage; the workers are terminated and the error is raised from `run_pipeline`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from aurola_qdrant.protocols import BatchEmbedder
from aurola_qdrant.store import AudioStore

from . import testseam
from .batcher import Batcher
from .config import IngestConfig
from .decode import worker_main
from .plan import Failure
from .planner import plan_files
from .sources import SourceFile
from .state import FileState, RunState, put_until_stopped
from .uploader import Uploader

__all__ = ["embedder_vectors", "run_pipeline"]


def embedder_vectors(embedder: BatchEmbedder, collated: Any) -> np.ndarray:
    """Vectors ``(B, dim)`` of one batch the batcher collated: `BatchEmbedder.embed_collated`.

    A module-level function so that tests and ``bench/ingest.py`` can wrap it to count or time model calls.
    """
    return embedder.embed_collated(collated)


class _Planner:
    def __init__(
        self,
        files: Sequence[SourceFile],
        config: IngestConfig,
        store: AudioStore,
        state: RunState,
        tasks: Any,
    ) -> None:
        self.files, self.config, self.store, self.state, self.tasks = files, config, store, state, tasks
        self.done = threading.Event()
        self.scheduled = 0

    def run(self) -> None:
        try:
            for plan in plan_files(self.files, self.config, self.store, self.state):
                with self.state.lock:
                    self.state.summary.segments_planned += plan.n_segments
                    first = self.state.by_file_id.get(plan.file_id)
                    if first is not None and not first.finished:
                        first.extra_paths.append(plan.path)
                        continue
                if first is not None:  # its twin already finished in this run
                    self._late_twin(first, plan.path)
                    continue
                fs = FileState(self.scheduled, plan)
                with self.state.lock:
                    self.state.files[fs.key] = fs
                    self.state.by_file_id[plan.file_id] = fs
                task = (fs.key, plan.path, plan.bounds, self.config.window_s, self.config.hop)
                if not put_until_stopped(self.tasks, task, self.state.stop):
                    return
                self.scheduled += 1
        except BaseException as exc:
            self.state.fail(exc)
        finally:
            self.done.set()
            for _ in range(self.config.workers):
                put_until_stopped(self.tasks, None, self.state.stop)

    def _late_twin(self, first: FileState, path: str) -> None:
        if first.failed:
            self.state.record_failure(
                Failure(path, "duplicate-of-failed", f"same content as {first.plan.path}")
            )
            return
        self.store.add_source(first.plan.file_id, path)
        with self.state.lock:
            self.state.summary.files_duplicate += 1
            self.state.progress.file_done(first.plan.size_bytes)


def _model_loop(
    embedder: BatchEmbedder, state: RunState, inbox: queue.Queue[Any], outbox: queue.Queue[Any]
) -> None:
    while not state.stop.is_set():
        try:
            item = inbox.get(timeout=0.2)
        except queue.Empty:
            state.progress.tick()
            continue
        if item[0] == "batch":
            _, collated, segments = item
            vectors = embedder_vectors(embedder, collated)
            testseam.checkpoint("embedded")
            with state.lock:
                state.summary.segments_embedded += len(segments)
                state.embedded_keys.update(s.key for s in segments)
            item = ("upload", segments, vectors)
        if not put_until_stopped(outbox, item, state.stop) or item[0] == "end":
            return
        state.progress.tick()


@contextlib.contextmanager
def _without_main_module() -> Iterator[None]:
    """Start workers without making them re-import ``__main__``.

    The spawn context normally re-runs the parent's main script in each child (as ``__mp_main__``), so a
    caller's script without an ``if __name__ == "__main__"`` guard would run again in every worker. The
    workers' target lives in `ingest.decode` and needs nothing from ``__main__``, so its path and spec are
    hidden while the processes start (``Process.start`` collects them synchronously).
    """
    main = sys.modules.get("__main__")
    saved: dict[str, Any] = {
        k: main.__dict__[k] for k in ("__file__", "__spec__") if main and k in main.__dict__
    }
    if main is not None:
        main.__dict__.pop("__file__", None)
        main.__spec__ = None
    try:
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


def run_pipeline(
    files: Sequence[SourceFile],
    store: AudioStore,
    embedder: BatchEmbedder,
    config: IngestConfig,
    state: RunState,
) -> None:
    """Ingest ``files`` (already listed and sharded) into ``store``; counters land in ``state.summary``.

    Raises:
        StoreUnavailableError: Qdrant stayed unreachable past the store's retry budget.
        Exception: the first fatal error of any stage (after every stage was stopped).
    """
    testseam.arm()  # the crash tests' kill point, if their variable is set (a no-op otherwise)
    ctx = multiprocessing.get_context("spawn")
    tasks = ctx.Queue(maxsize=2 * config.workers)
    results = ctx.Queue(maxsize=config.segment_queue_size)
    workers = [
        ctx.Process(
            target=worker_main, args=(tasks, results, os.getpid()), name=f"ingest-decode-{i}", daemon=True
        )
        for i in range(config.workers)
    ]
    with _without_main_module():
        for w in workers:
            w.start()
    batches: queue.Queue[Any] = queue.Queue(maxsize=2)
    uploads: queue.Queue[Any] = queue.Queue(maxsize=config.upload_queue_batches)
    planner = _Planner(files, config, store, state, tasks)
    batcher = Batcher(embedder, config, state, results, batches, lambda: False)
    batcher.finished = lambda: planner.done.is_set() and len(batcher.decode_finished) >= planner.scheduled
    uploader = Uploader(store, config, state, uploads)
    threads = [
        threading.Thread(target=planner.run, name="ingest-planner", daemon=True),
        threading.Thread(target=batcher.run, name="ingest-batcher", daemon=True),
        threading.Thread(target=uploader.run, name="ingest-uploader", daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        _model_loop(embedder, state, batches, uploads)
        threads[2].join()  # the uploader finishes what the model produced (or stops on an error)
    except BaseException as exc:
        state.fail(exc)
        raise
    finally:
        state.stop.set()
        for t in threads:
            t.join(timeout=10)
        for w in workers:
            w.join(timeout=0.5)
            if w.is_alive():
                w.terminate()
                w.join(timeout=5)
        for q in (tasks, results):
            q.cancel_join_thread()
            q.close()
    if state.error is not None:
        raise state.error
