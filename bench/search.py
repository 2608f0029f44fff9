"""Benchmark: the query adapter (`AudioSearch`) per-query latency, and re-rank throughput with the shared
prompt prefix vs. one full forward per pair, side by side in one run.

    python bench/search.py [--threads 2] [--rounds 3] [--clips 120] [--seconds 4] [--k 50] [--json out.json]
                           [--shape tiny|mid|3b|7b] [--device cpu|cuda] [--dtype fp32|bf16]

Model: ``--shape tiny`` (default) is the seeded random thinker of bench/embed.py (hidden 512, 4 layers, real
152,064 vocabulary) on disk; ``mid`` / ``3b`` / ``7b`` are random thinkers built in memory on the device
(bench/_shapes.py). One model serves as embedder and as re-ranker. Corpus: ``--clips`` WAV files on local
disk, one point each, in embedded (in-process) Qdrant. Part 1 times whole `AudioSearch.search` calls with
and without re-ranking (alternated per round), with stage times (text embedding, Qdrant query, candidate
decoding, re-rank) taken inside those very calls. Part 2 scores K candidates per query with
``share_prefix=True`` and ``False`` in both directions (alternated), and checks that the scores agree.
See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import StageTimer, alternate, machine_info, markdown_table, median, peak_rss_mb, pin_threads
from _shapes import (
    add_model_args,
    build_thinker,
    embedder_from,
    reranker_from,
    resolve_device,
    shape_settings,
)
from embed import CAPTIONS, make_clips

# numpy, torch and the library are imported inside functions, after `pin_threads` set the thread environment.


def percentile(xs: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(xs), q))


def build_corpus(folder: Path, embedder: Any, n: int, seconds: float) -> tuple[Any, int]:
    """``n`` WAV clips stored as whole-clip points in an in-memory Qdrant collection ``bench``."""
    import soundfile as sf
    from qdrant_client import QdrantClient

    from aurola_qdrant.ids import file_id
    from aurola_qdrant.search import embedder_info
    from aurola_qdrant.store import AudioStore, SegmentRecord

    client = QdrantClient(":memory:")
    store = AudioStore(client, "bench", embedder_info(embedder))
    store.ensure_collection()
    clips = make_clips(n, seconds, seed=1)
    for start in range(0, n, 16):
        records, waves = [], []
        for i in range(start, min(n, start + 16)):
            path = folder / f"clip{i:04d}.wav"
            sf.write(path, clips[i], 16000)
            records.append(
                SegmentRecord(file_id(path), str(path), 0.0, seconds, 0, 1, seconds, 16000, 1, {"i": i})
            )
            waves.append((clips[i], 16000))
        store.upsert_segments(records, embedder.embed_audio(waves))
    return client, n


def latency(search: Any, rounds: int, k: int, timer: StageTimer) -> dict[str, Any]:
    """Per-query wall time of `search.search` with and without re-ranking, alternated per round."""
    per_query: dict[str, list[float]] = {"rerank": [], "retrieval": []}
    stages: dict[str, list[dict[str, float]]] = {"rerank": [], "retrieval": []}

    def run(mode: str) -> None:
        for caption in CAPTIONS:
            timer.reset()
            t0 = time.perf_counter()
            search.search(caption, limit=10, candidates=k, rerank=mode == "rerank")
            per_query[mode].append(time.perf_counter() - t0)
            stages[mode].append(timer.snapshot())

    for mode in ("rerank", "retrieval"):  # warm-up, untimed
        run(mode)
    for mode in per_query:
        per_query[mode].clear()
        stages[mode].clear()
    for r in range(rounds):
        for mode in ("rerank", "retrieval") if r % 2 == 0 else ("retrieval", "rerank"):
            run(mode)
    out: dict[str, Any] = {}
    for mode, times in per_query.items():
        names = sorted({s for snap in stages[mode] for s in snap})
        out[mode] = {
            "queries": len(times),
            "p50_s": percentile(times, 50),
            "p95_s": percentile(times, 95),
            "stage_median_s": {s: median([snap.get(s, 0.0) for snap in stages[mode]]) for s in names},
        }
    return out


def throughput(reranker: Any, clips: list[Any], rounds: int) -> dict[str, Any]:
    """Pairs/s of shared-prefix vs. full-forward scoring, both directions, and the largest score gap."""
    import numpy as np

    out: dict[str, Any] = {}
    query_text, query_audio = CAPTIONS[1], clips[0]
    captions = [CAPTIONS[i % len(CAPTIONS)] + f" (take {i})" for i in range(len(clips))]
    calls = {
        "t2a": lambda share: reranker.score_text_to_audio_waveforms(query_text, clips, share_prefix=share),
        "a2t": lambda share: reranker.score_audio_waveform_to_text(query_audio, captions, share_prefix=share),
    }
    for direction, call in calls.items():
        full = call(False)  # also the warm-up of both paths
        gap = float(np.max(np.abs(call(True) - full)))
        shared_tokens = reranker.last_stats.prefix_tokens
        times = alternate(
            {"shared": lambda c=call: c(True), "full": lambda c=call: c(False)}, rounds, warmup=0
        )
        ratios = [f / s for f, s in zip(times["full"], times["shared"], strict=True)]
        out[direction] = {
            "pairs": len(clips),
            "prefix_tokens": shared_tokens,
            "shared_s": median(times["shared"]),
            "full_s": median(times["full"]),
            "speedup_median": median(ratios),
            "max_abs_score_diff": gap,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clips", type=int, default=120)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--json", type=Path, default=None)
    add_model_args(ap)
    ap.add_argument("--seed", type=int, default=0, help="weights seed (all shapes)")
    args = ap.parse_args()
    pin_threads(args.threads)

    import aurola_qdrant.search.audio_search as audio_search_module
    from aurola_qdrant import AurolaEmbedder
    from aurola_qdrant.reranker import AurolaReranker
    from aurola_qdrant.search import AudioSearch
    from aurola_qdrant.testing import build_tiny_thinker

    settings = shape_settings(args.shape)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        dev, dt = resolve_device(args.device, args.dtype)
        if args.shape == "tiny":
            ckpt = build_tiny_thinker(folder / "thinker", **settings, seed=args.seed)
            embedder = AurolaEmbedder.from_pretrained(ckpt, device=str(dev), dtype=dt)
            reranker = AurolaReranker.from_pretrained(ckpt, device=str(dev), dtype=dt)
        else:  # one in-memory model for both: the re-ranker keeps its two LM-head rows, then the embedder
            parts = build_thinker(args.shape, dev, dt, seed=args.seed)
            reranker = reranker_from(parts)
            embedder = embedder_from(parts, batch_size=8)
        (folder / "clips").mkdir()
        t0 = time.perf_counter()
        client, points = build_corpus(folder / "clips", embedder, args.clips, args.seconds)
        ingest_s = time.perf_counter() - t0
        search = AudioSearch(client, "bench", embedder, reranker)
        timer = StageTimer()
        timer.wrap_attr(embedder, "embed_text", "text embedding")
        timer.wrap_attr(search.store, "query", "qdrant query")
        timer.wrap_attr(audio_search_module, "load_candidates", "candidate decode")
        timer.wrap_attr(reranker, "score_text_to_audio_waveforms", "re-rank")
        lat = latency(search, args.rounds, args.k, timer)
        clips = make_clips(args.k, args.seconds, seed=2)
        thr = throughput(reranker, clips, args.rounds + 1)
        client.close()
    result = {
        "machine": machine_info(args.threads),
        "config": {
            **vars(args),
            "json": None,
            "model": settings,
            "shape": args.shape,
            "points": points,
            "ingest_s": ingest_s,
        },
        "latency": lat,
        "rerank_throughput": thr,
        "peak_rss_mb": peak_rss_mb(),
    }
    rows = [
        [mode, v["queries"], v["p50_s"] * 1e3, v["p95_s"] * 1e3]
        + [
            v["stage_median_s"].get(s, 0.0) * 1e3
            for s in ("text embedding", "qdrant query", "candidate decode", "re-rank")
        ]
        for mode, v in lat.items()
    ]
    print(
        f"shape {args.shape} on {dev} ({dt}); "
        f"corpus: {points} clips x {args.seconds:g} s, K={args.k}, threads={args.threads}, "
        f"machine={result['machine']}"
    )
    print(
        markdown_table(
            ["mode", "queries", "p50 ms", "p95 ms", "embed ms", "qdrant ms", "decode ms", "re-rank ms"], rows
        )
    )
    print()
    trows = [
        [
            d,
            v["pairs"],
            v["prefix_tokens"],
            v["pairs"] / v["full_s"],
            v["pairs"] / v["shared_s"],
            v["speedup_median"],
            v["max_abs_score_diff"],
        ]
        for d, v in thr.items()
    ]
    print(
        markdown_table(
            [
                "direction",
                "pairs",
                "shared prefix tokens",
                "full pairs/s",
                "shared pairs/s",
                "speed-up (median of rounds)",
                "max |Δp|",
            ],
            trows,
        )
    )
    print(f"\npeak RSS {result['peak_rss_mb']:.0f} MiB (whole process)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
