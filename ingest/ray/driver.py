"""The Ray engine's driver: plan, stream the dataset through the cluster, write through the store's door.

    driver      list (done by run_ingest), probe + resume check against Qdrant (`ingest.planner.plan_files`)
      | ray.data.from_items(one row per file that needs work)
    flat_map    decode + resample + prompt ids + log-mel features, one CPU task per file
      |         (`stages.decode_rows`, the embedder's weight-free preparer), OMP_NUM_THREADS per task
      | prepared window rows
    map_batches embedder actor pool (`stages.EmbedActor`: num_gpus per actor, custom resources)
      | vectors, streamed back to the driver
    driver      drops repeated rows (retried tasks), drops rows of failed files
      | writer pool: the in-process engine's `Uploader` in ``RayOptions.writers`` threads, each owning
      | the files whose key falls to it (4 for a Qdrant server; 1 for an embedded store)
    store       upserts, then the completion flag once all of a file's segments are stored

Exactly once: point ids are deterministic and upserts idempotent; the driver counts each (file, segment)
once, and a file is flagged complete only after its decode task said ``done`` and every planned segment
was stored. Work a dead actor or worker had in hand is redone by Ray (Data's actors restart and their
tasks are retried); work lost with the driver is redone by rerunning the command (resume from Qdrant).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from aurola_qdrant.errors import AurolaError
from aurola_qdrant.model import EncodedPrompt
from aurola_qdrant.protocols import BatchEmbedder
from aurola_qdrant.store import AudioStore

from ..batcher import Segment
from ..config import IngestConfig
from ..plan import Failure
from ..planner import plan_files
from ..sources import SourceFile
from ..state import FileState, RunState, put_until_stopped
from ..uploader import Uploader
from .options import RayOptions
from .stages import KILL_SEAM, EmbedActor, decode_rows

__all__ = ["RayStallError", "run_ray_pipeline"]

logger = logging.getLogger(__name__)
_RELEASED = EncodedPrompt(())  # rows reach the driver as vectors; no prompt is kept


class RayStallError(AurolaError):
    """No result came back from the cluster within ``RayOptions.stall_timeout_s``."""


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise ImportError('--engine ray needs Ray Data: pip install "aurola-qdrant[ray]"') from err
    return ray


@contextmanager
def _connected(ray: Any, options: RayOptions) -> Iterator[None]:
    """Use the Ray this process is already connected to, the cluster at ``options.address``, or start a
    private local one (loopback, no dashboard, temp dir removed afterwards)."""
    if ray.is_initialized():
        yield
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private local Ray needs no token
    if options.address is not None:
        ray.init(address=options.address, include_dashboard=False, log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()
        return
    base = tempfile.gettempdir()  # its Unix socket paths must stay under ~107 characters: else /tmp
    tmp = tempfile.mkdtemp(prefix="aurola-ray-", dir=base if len(base) <= 40 else "/tmp")
    try:
        ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False,
                 object_store_memory=options.object_store_mb << 20, _temp_dir=tmp)  # fmt: skip
        try:
            yield
        finally:
            ray.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _gpus(ray: Any, options: RayOptions) -> float:
    if options.gpus_per_embedder is not None:
        return options.gpus_per_embedder
    return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0


class _Collector:
    """Turns the cluster's output rows into the writers' items (the batcher's role in-process); a file
    always goes to the same writer, so its failure notice follows its segments as in-process."""

    def __init__(self, state: RunState, uploads: Sequence[queue.Queue[Any]]) -> None:
        self.state, self.uploads = state, uploads
        self.seen: set[tuple[int, int]] = set()
        self.decoded: set[int] = set()
        self.last = time.monotonic()

    def _fail(self, fs: FileState, reason: str, detail: str) -> None:
        if fs.failed or fs.finished:
            return
        fs.failed = True
        put_until_stopped(self._inbox(fs.key), ("fail", fs.key, Failure(fs.plan.path, reason, detail)),
                          self.state.stop)  # fmt: skip

    def _inbox(self, key: int) -> queue.Queue[Any]:
        return self.uploads[key % len(self.uploads)]

    def batch(self, out: dict[str, np.ndarray]) -> None:
        self.last = time.monotonic()
        segments: list[Segment] = []
        rows: list[int] = []
        for i in range(len(out["key"])):
            fs = self.state.files[int(out["key"][i])]
            kind = str(out["kind"][i])
            if kind == "done":
                self.decoded.add(fs.key)
                summary = self.state.summary
                summary.workers_peak_rss_mb = max(summary.workers_peak_rss_mb, float(out["peak"][i]))
                continue
            if kind == "fail":
                self._fail(fs, str(out["reason"][i]), str(out["detail"][i]))
                continue
            index = int(out["index"][i])
            if (fs.key, index) in self.seen or fs.failed:
                continue  # a retried task's repeat, or a window of a file that already failed
            self.seen.add((fs.key, index))
            fs.decoded += 1
            segments.append(Segment(fs.key, index, _RELEASED, float(out["peak"][i]), 0))
            rows.append(i)
        if segments:
            with self.state.lock:
                self.state.summary.segments_embedded += len(segments)
                self.state.embedded_keys.update(s.key for s in segments)
            vectors = out["vector"][rows]
            shares: dict[int, list[int]] = {}  # writer -> positions of its files' segments, in order
            for j, seg in enumerate(segments):
                shares.setdefault(seg.key % len(self.uploads), []).append(j)
            for w, mine in shares.items():
                item = ("upload", [segments[j] for j in mine], vectors[mine])
                put_until_stopped(self.uploads[w], item, self.state.stop)
        self.state.progress.tick()


def _schedule(files: Sequence[SourceFile], store: AudioStore, config: IngestConfig,
              state: RunState) -> list[dict[str, Any]]:  # fmt: skip
    """Plan on the driver; one task row per distinct content (twins become extra paths)."""
    tasks: list[dict[str, Any]] = []
    for plan in plan_files(files, config, store, state):
        with state.lock:
            state.summary.segments_planned += plan.n_segments
            first = state.by_file_id.get(plan.file_id)
            if first is not None:
                first.extra_paths.append(plan.path)
                continue
            fs = FileState(len(tasks), plan)
            state.files[fs.key] = fs
            state.by_file_id[plan.file_id] = fs
        tasks.append({"key": fs.key, "path": plan.path, "bounds": json.dumps(plan.bounds),
                      "window_s": config.window_s, "hop_s": config.hop})  # fmt: skip
    return tasks


def run_ray_pipeline(
    files: Sequence[SourceFile],
    store: AudioStore,
    embedder: BatchEmbedder,
    config: IngestConfig,
    state: RunState,
    options: RayOptions,
) -> None:
    """`ingest.pipeline.run_pipeline` on a Ray cluster (same counters, records and completion rule).

    Raises:
        RayStallError: no result for ``options.stall_timeout_s`` seconds.
        TypeError: the embedder has no ``preparer()``.
        StoreUnavailableError: Qdrant stayed unreachable past the store's retry budget.
        ImportError: Ray is not installed (the message gives the extra to install).
    """
    ray = _import_ray()
    if not callable(getattr(embedder, "preparer", None)):
        raise TypeError(
            f"--engine ray needs the embedder's preparer() (aurola_qdrant.BatchEmbedder), which "
            f"{type(embedder).__name__} lacks: the decode tasks prepare each window with it"
        )
    tasks = _schedule(files, store, config, state)
    if not tasks:
        return
    n_writers = options.writers if options.writers is not None else (4 if store.is_server else 1)
    uploads: list[queue.Queue[Any]] = [queue.Queue(config.upload_queue_batches) for _ in range(n_writers)]
    writers = [threading.Thread(target=Uploader(store, config, state, inbox).run, name=f"ray-writer-{i}",
                                daemon=True) for i, inbox in enumerate(uploads)]  # fmt: skip
    collector = _Collector(state, uploads)
    with _connected(ray, options):
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.verbose_stats_logs = False
        ds = ray.data.from_items(tasks, override_num_blocks=len(tasks))
        threads = {**options.task_env, "OMP_NUM_THREADS": str(max(1, int(options.decode_cpus)))}
        preparer_ref = ray.put(embedder.preparer())  # tokenizer + feature extractor, fetched once per worker
        ds = ds.flat_map(decode_rows, fn_kwargs={"preparer": preparer_ref}, num_cpus=options.decode_cpus,
                         runtime_env={"env_vars": threads})  # fmt: skip
        model_ref = ray.put(embedder)  # held until the run ends: a restarted actor reads the model again
        seam = dict(options.task_env)
        if os.environ.get(KILL_SEAM):  # the crash tests' kill point
            seam[KILL_SEAM] = os.environ[KILL_SEAM]
        ds = ds.map_batches(
            EmbedActor,
            fn_constructor_args=(model_ref, config.batch_size),
            batch_size=4 * config.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=options.embedders),
            num_gpus=_gpus(ray, options),
            resources=options.embedder_resources or None,
            runtime_env={"env_vars": seam} if seam else None,
        )
        for writer in writers:
            writer.start()
        reader = threading.Thread(target=_drain, args=(ds, collector, state), name="ray-reader", daemon=True)
        reader.start()
        try:
            while reader.is_alive() and not state.stop.is_set():
                reader.join(timeout=0.5)
                state.progress.tick()
                idle = time.monotonic() - collector.last
                if idle > options.stall_timeout_s:
                    state.fail(_stall(idle, options))
            if state.error is None:
                _finish(collector, state, uploads)
                for writer in writers:
                    writer.join()
        finally:
            state.stop.set()
            if reader.is_alive():
                _stop_dataset(ds, state.error)
                reader.join(timeout=10)
            for writer in writers:
                writer.join(timeout=10)
    if state.error is not None:
        raise state.error


def _stop_dataset(ds: Any, error: BaseException | None) -> None:
    """Stop a dataset still executing after a stall or an error, so that it does not hold the cluster's
    resources until this process exits, and so that no executor thread calls into Ray after this run's
    ``ray.shutdown()`` (Ray ends a process whose thread touches a shut-down worker, exit status 1).
    Ray Data has no public cancel: its executor is reached here."""
    for executor in _executors(ds):
        try:
            executor.shutdown(force=True, exception=error if isinstance(error, Exception) else None)
            if isinstance(executor, threading.Thread):  # its loop ends at the next step: wait for it
                executor.join(timeout=30)
        except Exception as exc:  # a private API of Ray Data: never let stopping it hide the run's own error
            logger.warning("could not stop the Ray dataset (%s: %s)", type(exc).__name__, exc)


def _executors(ds: Any) -> list[Any]:
    """The dataset's running executor: Ray Data records it on the dataset only once a first block came
    out (never, in a stall), so otherwise it is the executor thread tagged with the dataset's id."""
    current = getattr(ds, "_current_executor", None)
    if current is not None:
        return [current]
    try:
        dataset_id = ds.get_dataset_id()
    except Exception:
        return []
    threads = threading.enumerate()
    return [t for t in threads if type(t).__name__ == "StreamingExecutor" and t.name.endswith(dataset_id)
            and getattr(t, "_dataset_id", None) == dataset_id]  # fmt: skip


def _stall(idle: float, options: RayOptions) -> RayStallError:
    return RayStallError(
        f"no result from the Ray cluster for {idle:.0f} s (stall timeout {options.stall_timeout_s:.0f} s): "
        "check that its nodes are alive and that some node has the embedder's resources "
        f"({options.embedder_resources or 'none'}, GPUs per actor {options.gpus_per_embedder}); "
        "rerun the command to resume"
    )


def _drain(ds: Any, collector: _Collector, state: RunState) -> None:
    try:
        for out in ds.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=1):
            if state.stop.is_set():
                return
            collector.batch(out)
    except BaseException as exc:
        state.fail(exc)


def _finish(collector: _Collector, state: RunState, uploads: Sequence[queue.Queue[Any]]) -> None:
    """Files whose decode never said ``done`` (cannot happen unless Ray lost rows) fail loudly."""
    for fs in state.files.values():
        if fs.key not in collector.decoded and not fs.failed:
            collector._fail(fs, "error", "the cluster returned no end-of-file row for it; rerun to redo it")
    for inbox in uploads:
        put_until_stopped(inbox, ("end",), state.stop)
