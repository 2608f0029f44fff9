"""`bench/ingest.py --engine ray`: the Ray engine beside the in-process engine, same input, one run.

Per round, alternating: `run_ingest` in-process and `run_ingest(engine="ray")` into fresh embedded stores,
on one private local Ray started once (loopback, no dashboard). Reported: throughput ratio (Ray / in-process
segments/s, median of per-round ratios), Ray's fixed start-up (``ray.init`` to a usable cluster, and a
first dataset's actor start + model transfer, i.e. a run's wall time minus its work), and what the driver
adds per segment (row bookkeeping and the writer's upserts + flags, timed on the driver), from which the
scaling to N GPU nodes is projected in BENCHMARKS.md. Parity is checked first (same ids, vectors 1e-5).
Run it where Ray can bind loopback only, e.g. ``unshare -n sh -c 'ip link set lo up; python ...'``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def _timed(cls: Any, name: str, acc: dict[str, float]) -> None:
    original = getattr(cls, name)

    def wrapper(self: Any, *a: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return original(self, *a, **kw)
        finally:
            acc[name] = acc.get(name, 0.0) + time.perf_counter() - t

    setattr(cls, name, wrapper)


def _vectors(client: Any, name: str) -> dict[str, Any]:
    out, offset = {}, None
    while True:
        page, offset = client.scroll("bench", limit=1000, offset=offset, with_vectors=True)
        out.update({str(p.id): p.vector[name] for p in page})
        if offset is None:
            return out


def ray_bench(
    args: argparse.Namespace, work: Path, make_archive: Any, open_store: Any, package_first: Any
) -> dict[str, Any]:
    import numpy as np
    import ray
    from embed import TINY

    package_first()  # `embed` put bench/ first again; the decode workers must find the `ingest` package

    from aurola_qdrant import AurolaEmbedder
    from aurola_qdrant.testing import build_tiny_thinker
    from ingest import IngestConfig, run_ingest
    from ingest.ray import RayOptions
    from ingest.ray import driver as ray_driver
    from ingest.uploader import Uploader

    res: dict[str, Any] = {"config": TINY, "load_before": os.getloadavg()}
    model_dir = args.model_dir or str(build_tiny_thinker(work / "thinker", **TINY))
    archive = work / "archive"
    files = make_archive(archive, args.files)
    res["archive"] = {"files": len(files), "audio_s": sum(f["seconds"] for f in files)}
    config = IngestConfig(batch_size=args.batch, workers=args.workers)
    embedder = AurolaEmbedder.from_pretrained(model_dir, device="cpu", batch_size=args.batch)
    acc: dict[str, float] = {}
    _timed(ray_driver._Collector, "batch", acc)
    _timed(Uploader, "_upload", acc)
    _timed(Uploader, "_complete", acc)

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    tmp = tempfile.mkdtemp(prefix="rb-", dir="/tmp")
    t0 = time.perf_counter()
    ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False,
             num_cpus=os.cpu_count(), object_store_memory=256 << 20, _temp_dir=tmp)  # fmt: skip
    res["ray_init_s"] = time.perf_counter() - t0
    opts = RayOptions(decode_cpus=0.5)

    def once(engine: str, db: Path) -> tuple[float, Any, dict[str, Any]]:
        client, store = open_store(embedder, config, db)
        try:
            t = time.perf_counter()
            summary = run_ingest([str(archive)], store, embedder, config, engine=engine, ray_options=opts)
            wall = time.perf_counter() - t
            if not summary.ok:
                raise SystemExit(f"{engine}: {summary.format_text()}")
            return wall, summary, _vectors(client, embedder.vector_name)
        finally:
            client.close()

    try:
        _, s_in, v_in = once("inprocess", work / "db-warm-in")
        acc.clear()
        _, _, v_ray = once("ray", work / "db-warm-ray")
        res["first_ray_run_driver_s"] = dict(acc)
        diff = max(float(np.abs(np.asarray(v_in[k]) - np.asarray(v_ray[k])).max()) for k in v_in)
        if v_in.keys() != v_ray.keys() or diff > 1e-5:
            raise SystemExit(f"engines disagree (max |diff| {diff:.2e}): not benchmarking")
        res["parity_max_abs_diff"], res["segments"] = diff, s_in.segments_embedded
        rounds = []
        for r in range(args.rounds):
            w_in, _, _ = once("inprocess", work / f"db-in-{r}")
            acc.clear()
            w_ray, _, _ = once("ray", work / f"db-ray-{r}")
            rounds.append({"inprocess_s": w_in, "ray_s": w_ray, "driver": dict(acc)})
            print(f"round {r}: in-process {w_in:.1f} s, ray {w_ray:.1f} s", flush=True)
        res["rounds"] = rounds
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def report(res: dict[str, Any]) -> None:
    segs = res["segments"]
    ratios = sorted(r["inprocess_s"] / r["ray_s"] for r in res["rounds"])
    ratio = ratios[len(ratios) // 2]
    in_s = sorted(r["inprocess_s"] for r in res["rounds"])[len(ratios) // 2]
    ray_s = sorted(r["ray_s"] for r in res["rounds"])[len(ratios) // 2]
    drv = [r["driver"] for r in res["rounds"]]
    per_seg = {k: 1000 * sorted(d.get(k, 0.0) for d in drv)[len(drv) // 2] / segs
               for k in ("batch", "_upload", "_complete")}  # fmt: skip
    print(f"archive {res['archive']['files']} files, {res['archive']['audio_s']:.0f} s, {segs} segments; "
          f"parity max|diff| {res['parity_max_abs_diff']:.1e}")  # fmt: skip
    print(f"ray.init: {res['ray_init_s']:.1f} s (once per run of the CLI with a private Ray)")
    print(f"in-process {in_s:.1f} s ({segs / in_s:.1f} seg/s); ray {ray_s:.1f} s ({segs / ray_s:.1f} seg/s); "
          f"throughput ratio ray/in-process {ratio:.2f} (median of {len(ratios)})")  # fmt: skip
    print("driver ms/segment: rows " + ", ".join(f"{k} {v:.2f}" for k, v in per_seg.items()))
