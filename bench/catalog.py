"""Benchmark: one point per recording (a ``MAX_SIM`` multivector of its windows) vs one point per segment
grouped by file, on the same long recordings, side by side in one run on Qdrant Edge (the embedded default).

``--files`` recordings of ``--windows`` windows each (default 1,000 x 18: 3-minute recordings in 10 s
windows), ``--dim``-d window vectors drawn around ``--files // 10`` centres (so neighbours are not uniform
noise), written once as

* **per-file**: catalog points (`aurola_qdrant.store.catalog`, what ``aurola-qdrant enrich`` writes), and
* **per-segment**: `AudioStore.upsert_segments` points (what ``aurola-qdrant ingest`` writes),

then ``--queries`` query vectors near random windows are run top-10 files, the two paths alternated:

* per-file ``query_catalog`` (one ``query_batch_points`` + the matched windows' ``retrieve``), and the
  same ranking without the matched window (one ``query_points`` on the multivector, scores only);
* per-segment ``query_points_groups(group_by="file_id", group_size=1)``.

Reported: query p50/p95 per path, disk bytes per recording (collection folder), and agreement: top-1 equal,
mean overlap of the top-10 file sets, the largest score difference between the two for the same file, and
how often the matched window equals the best segment. By construction (MAX_SIM with one query row = the
best window's cosine = the best segment's cosine) they agree up to ties and float rounding; exact search
(no ``optimize``) on both sides.

    python bench/catalog.py [--files 1000] [--windows 18] [--dim 2048] [--queries 50] [--json out.json]

See BENCHMARKS.md, section "Catalog points: multivector vs per-segment".
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WINDOW_S, TOP = 10.0, 10


def _du(path: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def _vectors(files: int, windows: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, files // 10), dim)).astype(np.float32)
    pick = rng.integers(0, len(centres), size=files * windows)
    x = centres[pick] + 0.6 * rng.normal(size=(files * windows, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.reshape(files, windows, dim)


def _info(dim: int) -> Any:
    from aurola_qdrant.store import EmbedderInfo

    return EmbedderInfo(
        "aurola-3b", "aurola/AuroLA-3B", "bench", "p1", dim, window_s=WINDOW_S, hop_s=WINDOW_S
    )


def write_per_file(client: Any, vecs: np.ndarray, batch: int = 32) -> tuple[Any, Any, float]:
    from qdrant_client import models

    from aurola_qdrant.retry import QDRANT_RETRY
    from aurola_qdrant.store import StoreConfig
    from aurola_qdrant.store._net import Net
    from aurola_qdrant.store.catalog import CatalogLayout, RecordingVectors, write_recordings

    files, windows, dim = vecs.shape
    client.create_collection(
        "catalog", vectors_config={"theirs": models.VectorParams(size=4, distance="Dot")}
    )
    for start in range(0, files, batch):
        ids = range(start, min(files, start + batch))
        pts = [
            models.PointStruct(id=i, vector={"theirs": [1.0, 0, 0, i]}, payload={"title": f"t{i}"})
            for i in ids
        ]
        client.upsert("catalog", points=pts)
    net = Net(client, "catalog", QDRANT_RETRY)
    layout = CatalogLayout(_info(dim))
    layout.ensure(net, StoreConfig(), "file")
    bounds = tuple((k * WINDOW_S, (k + 1) * WINDOW_S) for k in range(windows))
    t1 = time.perf_counter()
    for start in range(0, files, batch):
        recs = [
            RecordingVectors(i, f"/a/{i}.flac", windows * WINDOW_S, bounds, vecs[i])
            for i in range(start, min(files, start + batch))
        ]
        write_recordings(net, layout, recs)
    client.flush("catalog")
    return net, layout, time.perf_counter() - t1


def write_per_segment(client: Any, vecs: np.ndarray) -> tuple[Any, float]:
    from aurola_qdrant.store import AudioStore, SegmentRecord

    files, windows, dim = vecs.shape
    store = AudioStore(client, "segments", _info(dim))
    store.ensure_collection()
    t0 = time.perf_counter()
    for f in range(files):
        recs = [
            SegmentRecord(
                file_id=f"{f:032x}",
                source=f"/a/{f}.flac",
                start_s=k * WINDOW_S,
                end_s=(k + 1) * WINDOW_S,
                segment_index=k,
                n_segments=windows,
                duration_s=windows * WINDOW_S,
                sample_rate=16000,
                channels=1,
            )
            for k in range(windows)
        ]
        store.upsert_segments(recs, vecs[f])  # no completion flags: they are not queried here
    client.flush("segments")
    return store, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--windows", type=int, default=18)
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    from aurola_qdrant.store.catalog_reads import query_catalog
    from aurola_qdrant.store.edge import EdgeEngine

    vecs = _vectors(args.files, args.windows, args.dim)
    rng = np.random.default_rng(1)
    targets = rng.integers(0, args.files * args.windows, size=args.queries)
    flat = vecs.reshape(-1, args.dim)
    queries = flat[targets] + 0.5 * rng.normal(size=(args.queries, args.dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    root = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    out: dict[str, Any] = {
        "files": args.files,
        "windows": args.windows,
        "dim": args.dim,
        "queries": args.queries,
    }
    try:
        a, b = EdgeEngine(root / "per-file"), EdgeEngine(root / "per-segment")
        net, layout, out["write_per_file_s"] = write_per_file(a, vecs)
        store, out["write_per_segment_s"] = write_per_segment(b, vecs)
        out["disk_per_file_bytes_per_recording"] = (
            _du(root / "per-file" / "collections" / "catalog") / args.files
        )
        out["disk_per_segment_bytes_per_recording"] = (
            _du(root / "per-segment" / "collections" / "segments") / args.files
        )

        def per_file(q: np.ndarray) -> list[Any]:
            return query_catalog(net, layout, q, limit=TOP)

        def scores_only(q: np.ndarray) -> Any:
            return net.call(
                "query_points", query=[q.tolist()], using=layout.windows, limit=TOP, with_payload=False
            )

        def per_segment(q: np.ndarray) -> Any:
            return store.query_groups(q, group_by="file_id", limit=TOP, with_payload=["file_id", "start_s"])

        paths = {"per-file (with matched window)": per_file, "per-file (scores only)": scores_only,
                 "per-segment + group-by-file": per_segment}  # fmt: skip
        times: dict[str, list[float]] = {n: [] for n in paths}
        for fn in paths.values():  # warm-up
            fn(queries[0])
        for r, q in enumerate(queries):
            names = list(paths) if r % 2 == 0 else list(reversed(paths))
            for name in names:
                t0 = time.perf_counter()
                paths[name](q)
                times[name].append(time.perf_counter() - t0)
        out["latency_ms"] = {
            n: {"p50": 1000 * statistics.median(t), "p95": 1000 * float(np.percentile(t, 95))}
            for n, t in times.items()
        }
        top1 = overlap = window_same = n_same = 0
        max_diff = 0.0
        for q in queries:
            mf = per_file(q)
            groups = per_segment(q)
            seg = {int(g.id, 16): g.hits[0] for g in groups}
            seg_order = [int(g.id, 16) for g in groups]
            file_order = [c.point.id for c in mf]
            top1 += file_order[0] == seg_order[0]
            overlap += len(set(file_order) & set(seg_order))
            for c in mf:
                if c.point.id in seg:
                    n_same += 1
                    max_diff = max(max_diff, abs(c.point.score - seg[c.point.id].score))
                    window_same += c.window is not None and c.window[0] == seg[c.point.id].payload["start_s"]
        out["agreement"] = {
            "top1_equal": top1 / args.queries,
            "top10_overlap": overlap / (TOP * args.queries),
            "max_score_diff": max_diff,
            "matched_window_equals_best_segment": window_same / max(1, n_same),
        }
        a.close()
        b.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
