"""Benchmark: the search service under concurrent clients, micro-batching on vs. off, with and without
re-ranking: p50/p95/p99 latency and requests/s at 1, 8 and 32 concurrent clients.

    python bench/serve.py [--threads 2] [--rounds 2] [--clients 1 8 32] [--per-client 3] [--clips 60]
                          [--candidates 5] [--json out.json]

Two real `aurola-qdrant serve` processes on loopback ports, one batching (defaults: --max-batch 32,
--batch-wait-ms 5) and one with --no-batching (one model call per request), each over its own copy of one
embedded store (``--clips`` 2-4 s clips + the real files of tests/data/real, one point each). Model: the
seeded random thinker of bench/embed.py (`TINY`), as embedder and re-ranker. Each cell sends
``clients * per_client`` text searches from ``clients`` concurrent asyncio clients (each waits for its
answer before sending the next); the two servers are alternated per round and the ratios are medians of
per-round ratios. Only one server is loaded at a time. See BENCHMARKS.md ("Search service").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, markdown_table, median, pin_threads
from embed import CAPTIONS, TINY, make_clips

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "serve"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(n_clips: int) -> Path:
    """The TINY checkpoint and one embedded store holding the clips (reused when present)."""
    import soundfile as sf

    from aurola_qdrant import AurolaEmbedder
    from aurola_qdrant.audio import audio_info, load_audio
    from aurola_qdrant.ids import file_id
    from aurola_qdrant.store import AudioStore, SegmentRecord, open_embedded
    from aurola_qdrant.testing import build_tiny_thinker

    model = OUT / "thinker"
    if not (model / "config.json").is_file():
        build_tiny_thinker(model, **TINY)
    db = OUT / f"db-{n_clips}"
    if db.is_dir():
        return model
    clips = OUT / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    for i, wave in enumerate(make_clips(n_clips, 3.0)):
        sf.write(clips / f"clip{i:03d}.wav", wave[: int(16000 * (2 + i % 3))], 16000)
    paths = sorted(clips.glob("*.wav")) + [
        p for p in sorted((ROOT / "tests/data/real").iterdir()) if p.suffix != ".md"
    ]
    embedder = AurolaEmbedder.from_pretrained(model, device="cpu")
    client = open_embedded(db)  # the default embedded engine, as `aurola-qdrant ingest` makes
    store = AudioStore.for_embedder(client, "bench", embedder)
    store.ensure_collection()
    for path in paths:
        seg, head = load_audio(path), audio_info(path)
        record = SegmentRecord(file_id=file_id(path), source=str(path), start_s=0.0, end_s=seg.end_s,
                               segment_index=0, n_segments=1, duration_s=head.duration_s,
                               sample_rate=head.sample_rate, channels=head.channels)  # fmt: skip
        store.upsert_segments([record], embedder.embed_audio([seg]))
        store.mark_file_complete(record.file_id)
    client.close()
    return model


def start(model: Path, db: Path, threads: int, batching: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cmd = [sys.executable, "-c", "from aurola_qdrant.cli import main; main()", "serve"]
    cmd += ["--collection", "bench", "--qdrant-path", str(db), "--device", "cpu", "--port", str(port)]
    cmd += ["--model", str(model), "--reranker", str(model), "--max-queue", "1024"]
    cmd += [] if batching else ["--no-batching"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1"}
    env.pop("AUROLA_API_KEY", None)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server at {url} exited with {proc.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server at {url} never became ready")


async def load(url: str, clients: int, per_client: int, rerank: bool, candidates: int) -> dict[str, Any]:
    """Latencies (s) and requests/s of ``clients`` concurrent clients sending ``per_client`` searches each."""
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as http:

        async def client(k: int) -> None:
            nonlocal errors
            for j in range(per_client):
                query = CAPTIONS[(k * per_client + j) % len(CAPTIONS)]
                body = {"query": query, "limit": 10, "rerank": rerank, "candidates": candidates}
                start = time.perf_counter()
                response = await http.post("/v1/search", json=body)
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200

        start = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        wall = time.perf_counter() - start
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, round(q * (len(latencies) - 1)))]

    return {
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "rps": len(latencies) / wall,
        "errors": errors,
    }


def check_parity(urls: list[str], candidates: int) -> None:
    """Both servers must answer every query with the same hits before anything is timed."""
    import httpx

    for query in CAPTIONS[:4]:
        for rerank in (False, True):
            body = {"query": query, "limit": 10, "rerank": rerank, "candidates": candidates}
            hits = [
                [h["id"] for h in httpx.post(u + "/v1/search", json=body, timeout=300).json()["hits"]]
                for u in urls
            ]
            if hits[0] != hits[1]:
                raise SystemExit(f"batching on and off disagree for {query!r} (rerank={rerank}): {hits}")


def batch_sizes(url: str) -> float:
    """Mean texts per embedding call so far (the batching server's /metrics)."""
    import httpx

    lines = httpx.get(url + "/metrics", timeout=10).text.splitlines()
    pick = {k: float(x.split()[-1]) for x in lines for k in ("sum", "count")
            if x.startswith(f'aurola_batch_size_{k}{{kind="text"}}')}  # fmt: skip
    return pick["sum"] / pick["count"] if pick.get("count") else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--per-client", type=int, default=3)
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--candidates", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    pin_threads(args.threads)
    model = build(args.clips)
    dbs = {mode: OUT / f"db-{args.clips}-{mode}" for mode in ("on", "off")}
    for db in dbs.values():
        shutil.rmtree(db, ignore_errors=True)
        shutil.copytree(OUT / f"db-{args.clips}", db)  # the embedded store serves one process each
    servers = {mode: start(model, dbs[mode], args.threads, mode == "on") for mode in dbs}
    results: dict[tuple[str, bool, int], list[dict[str, Any]]] = {}
    try:
        for proc, url in servers.values():
            wait_ready(url, proc)
            for rerank in (False, True):  # warm-up: first calls allocate
                asyncio.run(load(url, 2, 2, rerank, args.candidates))
        check_parity([url for _, url in servers.values()], args.candidates)
        for rerank in (False, True):
            for clients in args.clients:
                for r in range(args.rounds):
                    for mode in ("on", "off") if r % 2 == 0 else ("off", "on"):
                        cell = asyncio.run(
                            load(servers[mode][1], clients, args.per_client, rerank, args.candidates)
                        )
                        results.setdefault((mode, rerank, clients), []).append(cell)
                        line = f"rerank={rerank} clients={clients} round={r} batching={mode}: "
                        print(
                            f"{line}{cell['rps']:.1f} req/s, p50 {1000 * cell['p50']:.0f} ms", file=sys.stderr
                        )
        mean_batch = batch_sizes(servers["on"][1])
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(30)
    rows, ratios, report = [], [], []
    for rerank in (False, True):
        for clients in args.clients:
            for mode in ("on", "off"):
                cells = results[(mode, rerank, clients)]
                stat = {k: median([c[k] for c in cells]) for k in ("p50", "p95", "p99", "rps")}
                errors = sum(c["errors"] for c in cells)
                rows.append(["yes" if rerank else "no", clients, mode, 1000 * stat["p50"], 1000 * stat["p95"],
                             1000 * stat["p99"], stat["rps"], errors])  # fmt: skip
                report.append(
                    {"rerank": rerank, "clients": clients, "batching": mode, **stat, "errors": errors}
                )
            pairs = zip(results[("on", rerank, clients)], results[("off", rerank, clients)], strict=True)
            per_round = [on["rps"] / off["rps"] for on, off in pairs]
            ratios.append(["yes" if rerank else "no", clients, median(per_round)])
    print(
        markdown_table(
            ["re-rank", "clients", "batching", "p50 ms", "p95 ms", "p99 ms", "req/s", "errors"], rows
        )
    )
    print()
    print(markdown_table(["re-rank", "clients", "req/s batching on / off (median of rounds)"], ratios))
    print(f"\nmean texts per embedding call on the batching server: {mean_batch:.2f}")
    out = {"machine": machine_info(args.threads), "args": {k: str(v) for k, v in vars(args).items()},
           "cells": report, "ratios": ratios, "mean_batch": mean_batch}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
