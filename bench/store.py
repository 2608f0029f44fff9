"""Benchmark: the embedded store engines side by side in one run, qdrant-client local mode vs Qdrant Edge.

For each engine and size N (2048-d vectors, the 3B model's size, and the project's payload: 20 segments
per file, ``genre`` keyword-indexed with 10 values):

* upsert points/s through `AudioStore.upsert_segments` + `mark_file_complete` (the ingest path: Edge
  flushes once per 200-point batch before its flags);
* disk bytes per point (the store folder / N);
* cold reopen in a fresh process (open + first query; the page cache is not dropped) and its peak RSS;
* top-50 query p50/p95 over 40 queries, without and with a payload filter (``genre = g3``, 10 %).

A child process that passes ``--cap-gb`` of RSS is killed and reported as such. Then, on clustered
vectors (``--hnsw-n`` points around 200 centres, not uniform noise, HNSW's worst case), Edge's HNSW build
time (``collection optimize``) and recall@50 of HNSW against exact search.

    python bench/store.py [--sizes 10000,50000,200000] [--local-max 10000] [--dim 2048]
                          [--hnsw-n 10000] [--cap-gb 6] [--json out.json]

See BENCHMARKS.md, section "Embedded store engines".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PER_FILE, BATCH_FILES, QUERIES = 20, 10, 40


def _info(dim: int) -> Any:
    from aurola_qdrant.store import EmbedderInfo

    return EmbedderInfo("aurola-3b", "aurola/AuroLA-3B", "bench", "p1", dim, window_s=10.0, hop_s=10.0)


def _open(engine: str, path: Path) -> Any:
    if engine == "local":
        from aurola_qdrant.store.embedded import open_local_mode

        return open_local_mode(path)
    from aurola_qdrant.store.edge import EdgeEngine

    return EdgeEngine(path)


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def write(engine: str, path: Path, n: int, dim: int) -> float:
    """Fill a new store with ``n`` points; returns points/s."""
    from aurola_qdrant.store import AudioStore, SegmentRecord, StoreConfig

    client = _open(engine, path)
    store = AudioStore(client, "bench", _info(dim), StoreConfig(payload_indexes={"genre": "keyword"}))
    store.ensure_collection()
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for first in range(0, n // PER_FILE, BATCH_FILES):
        files = range(first, min(first + BATCH_FILES, n // PER_FILE))
        records = [
            SegmentRecord(file_id=f"file{f:07d}", source=f"/archive/{f}.wav", start_s=i * 10.0,
                          end_s=(i + 1) * 10.0, segment_index=i, n_segments=PER_FILE, duration_s=200.0,
                          sample_rate=48000, channels=2, metadata={"genre": f"g{f % 10}"})
            for f in files for i in range(PER_FILE)
        ]  # fmt: skip
        store.upsert_segments(records, _unit(rng, len(records), dim))
        for f in files:
            store.mark_file_complete(f"file{f:07d}")
    elapsed = time.perf_counter() - started
    client.close()
    return n / elapsed


def child(engine: str, path: Path, dim: int) -> None:
    """Fresh process: reopen, query, report JSON on stdout."""
    from qdrant_client import models

    from aurola_qdrant.store import AudioStore

    rng = np.random.default_rng(1)
    queries = _unit(rng, QUERIES + 1, dim)
    started = time.perf_counter()
    client = _open(engine, path)
    store = AudioStore(client, "bench", _info(dim))
    store.check_query_compatible()
    store.query(queries[-1], limit=50)
    reopen = time.perf_counter() - started
    genre = models.Filter(must=[models.FieldCondition(key="genre", match=models.MatchValue(value="g3"))])
    out: dict[str, Any] = {"reopen_s": reopen}
    for label, f in (("unfiltered", None), ("filtered", genre)):
        times = []
        for q in queries[:QUERIES]:
            t = time.perf_counter()
            store.query(q, limit=50, query_filter=f, with_payload=False)
            times.append(time.perf_counter() - t)
        out[f"{label}_p50_ms"] = 1000 * float(np.percentile(times, 50))
        out[f"{label}_p95_ms"] = 1000 * float(np.percentile(times, 95))
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    client.close()
    print(json.dumps(out))


def _rss_gb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def reopen(engine: str, path: Path, dim: int, cap_gb: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", engine, str(path), "--dim", str(dim)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:
        if _rss_gb(proc.pid) > cap_gb:
            proc.kill()
            proc.wait()
            return {"stopped": f"RSS over the {cap_gb} GB cap"}
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode != 0:
        return {"stopped": f"exit {proc.returncode}: {err.strip().splitlines()[-1:]}"}
    return json.loads(out.strip().splitlines()[-1])


def _du(path: Path) -> int:
    """Bytes allocated on disk (Edge preallocates its WAL sparsely: apparent sizes overstate it)."""
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def hnsw(root: Path, n: int, dim: int) -> dict[str, Any]:
    """Edge: HNSW build time and recall@50 vs exact on clustered vectors."""
    from qdrant_client import models

    from aurola_qdrant.store.edge import EdgeEngine

    rng = np.random.default_rng(2)
    centres = _unit(rng, 200, dim)
    data = centres[rng.integers(0, 200, n)] + 0.05 * _unit(rng, n, dim)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    engine = EdgeEngine(root / "hnsw")
    engine.create_collection(
        "c", vectors_config={"v": models.VectorParams(size=dim, distance=models.Distance.COSINE)}
    )
    for s in range(0, n, 500):
        engine.upsert(
            "c", [models.PointStruct(id=i, vector={"v": data[i].tolist()}) for i in range(s, min(s + 500, n))]
        )
    started = time.perf_counter()
    engine.optimize("c")
    build = time.perf_counter() - started
    qs = centres[rng.integers(0, 200, 50)] + 0.05 * _unit(rng, 50, dim)
    exact, approx, t_exact, t_hnsw = [], [], [], []
    for q in qs:
        t = time.perf_counter()
        e = engine.query_points(
            "c", query=q.tolist(), using="v", limit=50, search_params=models.SearchParams(exact=True)
        )
        t_exact.append(time.perf_counter() - t)
        t = time.perf_counter()
        a = engine.query_points("c", query=q.tolist(), using="v", limit=50)
        t_hnsw.append(time.perf_counter() - t)
        exact.append({p.id for p in e.points})
        approx.append({p.id for p in a.points})
    engine.close()
    recall = float(np.mean([len(e & a) / 50 for e, a in zip(exact, approx, strict=True)]))
    out = {"n": n, "build_s": build, "recall_at_50": recall}
    out.update(exact_p50_ms=1000 * float(np.median(t_exact)), hnsw_p50_ms=1000 * float(np.median(t_hnsw)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,50000,200000")
    ap.add_argument("--local-max", type=int, default=10000, help="largest N run on local mode")
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--hnsw-n", type=int, default=10000)
    ap.add_argument("--cap-gb", type=float, default=6.0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.dim)
        return
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="aurola-bench-store-", dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp)
        for n in [int(s) for s in args.sizes.split(",")]:
            for engine in ("local", "edge"):
                if engine == "local" and n > args.local_max:
                    continue
                path = root / f"{engine}-{n}"
                rate = write(engine, path, n, args.dim)
                row = {
                    "engine": engine,
                    "n": n,
                    "upsert_points_s": rate,
                    "disk_bytes_per_point": _du(path) / n,
                }
                row.update(reopen(engine, path, args.dim, args.cap_gb))
                print(json.dumps(row), flush=True)
                rows.append(row)
                shutil.rmtree(path, ignore_errors=True)
        index = hnsw(root, args.hnsw_n, args.dim)
        print(json.dumps({"hnsw": index}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"engines": rows, "hnsw": index}, indent=1))


if __name__ == "__main__":
    main()
