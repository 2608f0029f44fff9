"""Benchmark: the ingest pipeline vs. embedding alone, side by side in one run (same model, same segments).

*Embedding only*: every segment decoded up front (untimed), prompts built (untimed), then
`AurolaEmbedder.embed_prompts` times features + model over all of them, batch ``--batch``.
*Ingest*: `ingest.run_ingest` of the same files into a fresh embedded Qdrant (``QdrantClient(path=...)``)
per round: planning (hash + header), spawn decode workers, decode + resample, features, model, upserts,
completion flags. Efficiency = ingest segments/s / embedding-only segments/s (median of per-round ratios).
Also measured: decode + resample throughput per core (`iter_windows` in this one process), upsert
throughput of `AudioStore.upsert_segments` (embedded Qdrant, dims 512 and 3584), the ingest timeline
(start-up, model busy, model starved, drain) and the peak RSS of an ingest run in a process of its own.

    python bench/ingest.py [--threads 2] [--rounds 3] [--files 48] [--workers W] [--batch 8]
                           [--json out.json] [--model-dir DIR] [--shape tiny|mid|3b|7b]
                           [--device cpu|cuda] [--dtype fp32|bf16] [--no-rss]

Model: ``--shape tiny`` (default) is bench/embed.py's checkpoint on disk; ``mid`` / ``3b`` / ``7b`` are random
thinkers built in memory on the device (bench/_shapes.py).

See BENCHMARKS.md, section "Ingestion".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# This file is named like the `ingest` package it measures: the package (repository root) must come before
# the script's folder on the path, which Python put first; the folder is kept last for `_common` and
# `embed`. Spawned decode workers inherit this path, so it is restored after `embed` inserts its folder.
_HERE = Path(__file__).resolve().parent


def _package_first() -> None:
    sys.path[:] = (
        [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]
    )


_package_first()
from _common import StageTimer, machine_info, markdown_table, median, peak_rss_mb, pin_threads, run_self  # noqa: E402
from _mfu import sync_fn  # noqa: E402
from _shapes import add_model_args, build_thinker, embedder_from, resolve_device, shape_settings  # noqa: E402

# numpy, torch and the project are imported inside functions, after `pin_threads` set the environment.

RATES = (16000, 22050, 44100, 48000)


def make_archive(root: Path, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` distinct clips of 5-30 s: rates cycle 16/22.05/44.1/48 kHz, mono/stereo, WAV (PCM16) / FLAC."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        sr, ch = RATES[i % 4], 1 + (i // 4) % 2
        ext = ("wav", "flac")[(i // 8) % 2]
        seconds = float(rng.uniform(5, 30))
        t = np.arange(int(seconds * sr)) / sr
        wav = 0.02 * rng.standard_normal((t.size, ch))
        for _ in range(3):
            f, am = rng.uniform(80, min(6000, sr / 2.5)), rng.uniform(0.2, 4)
            tone = np.sin(2 * np.pi * f * t) * (0.6 + 0.4 * np.sin(2 * np.pi * am * t))
            wav += 0.1 * tone[:, None] * rng.uniform(0.5, 1.0, ch)
        path = root / f"clip{i:03d}_{sr}_{ch}ch.{ext}"
        sf.write(path, wav.astype(np.float32), sr, subtype="PCM_16")
        files.append({"path": str(path), "sr": sr, "channels": ch, "seconds": t.size / sr, "format": ext})
    return files


def decode_all(files: list[dict[str, Any]], window_s: float) -> tuple[list[Any], dict[str, Any]]:
    """Every window of every file (what the decode workers produce), timed per input rate.

    Returns (segments as ``(path, index, waveform)``, timing dict). Wall and CPU seconds are both
    recorded: on a shared machine the CPU figure (audio seconds per CPU second) is the stabler one."""
    from aurola_qdrant.audio import iter_windows

    segs, by_rate = [], {}
    for f in files:
        w0, c0 = time.perf_counter(), time.process_time()
        for i, s in enumerate(iter_windows(f["path"], window_s)):
            segs.append((f["path"], i, s.waveform))
        r = by_rate.setdefault(f["sr"], {"audio_s": 0.0, "wall_s": 0.0, "cpu_s": 0.0})
        r["audio_s"] += f["seconds"]
        r["wall_s"] += time.perf_counter() - w0
        r["cpu_s"] += time.process_time() - c0
    return segs, by_rate


def decode_bench(files: list[dict[str, Any]], window_s: float, rounds: int) -> dict[str, Any]:
    runs = [decode_all(files, window_s)[1] for _ in range(rounds)]
    out: dict[str, Any] = {}
    for sr in RATES:
        audio = runs[0][sr]["audio_s"]
        wall, cpu = median([r[sr]["wall_s"] for r in runs]), median([r[sr]["cpu_s"] for r in runs])
        out[str(sr)] = {"audio_s": audio, "per_wall_s": audio / wall, "per_cpu_s": audio / cpu}
    audio = sum(v["audio_s"] for v in out.values())
    wall = median([sum(r[sr]["wall_s"] for sr in RATES) for r in runs])
    cpu = median([sum(r[sr]["cpu_s"] for sr in RATES) for r in runs])
    out["all"] = {"audio_s": audio, "per_wall_s": audio / wall, "per_cpu_s": audio / cpu}
    return out


class Probe:
    """Stage times and the model-call timeline inside the very calls being compared."""

    def __init__(self, embedder: Any) -> None:
        import ingest.pipeline as pipeline

        self.timer = StageTimer(sync_fn(embedder.thinker.device))
        model = embedder.thinker.model
        embedder.inputs.fe = self.timer.proxy(embedder.inputs.fe, "features")
        self.timer.wrap_attr(model.model, "get_audio_features", "audio encoder")
        self.timer.hook_module(model.model.language_model, "language model")
        self.widths: list[tuple[int, int]] = []  # (batch, padded LM tokens) of every model call
        self.calls: list[tuple[float, float]] = []  # ingest model calls, perf_counter start/end

        def grab(_m: Any, _a: Any, kwargs: dict[str, Any]) -> None:
            self.widths.append(tuple(kwargs["inputs_embeds"].shape[:2]))  # type: ignore[arg-type]

        model.model.language_model.register_forward_pre_hook(grab, with_kwargs=True)
        inner = pipeline.embedder_vectors

        def timed(emb: Any, collated: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(emb, collated)
            finally:
                self.calls.append((t0, time.perf_counter()))

        pipeline.embedder_vectors = timed

    def reset(self) -> None:
        self.timer.reset()
        self.widths, self.calls = [], []

    def split(self, t0: float, t1: float) -> dict[str, float]:
        out = self.timer.snapshot()
        out["padded tokens"] = float(sum(b * w for b, w in self.widths))
        out["model calls"] = float(len(self.widths))
        if self.calls:  # ingest: where the wall time went, seen from the model thread
            starts, ends = [c[0] for c in self.calls], [c[1] for c in self.calls]
            out["start-up"] = starts[0] - t0
            out["model busy"] = sum(e - s for s, e in self.calls)
            out["model starved"] = sum(s - e for s, e in zip(starts[1:], ends[:-1], strict=True))
            out["drain"] = t1 - ends[-1]
        return out


def open_store(embedder: Any, config: Any, db: Path) -> tuple[Any, Any]:
    from qdrant_client import QdrantClient

    from aurola_qdrant.store import AudioStore
    from ingest import embedder_info

    client = QdrantClient(path=str(db))
    return client, AudioStore(client, "bench", embedder_info(embedder, config))


def ingest_once(embedder: Any, config: Any, archive: Path, db: Path, timer: StageTimer | None = None) -> Any:
    """One `run_ingest` of the archive into a fresh embedded Qdrant at ``db``; returns (summary, vectors)."""
    from ingest import run_ingest

    client, store = open_store(embedder, config, db)
    if timer is not None:
        timer.wrap_attr(store, "upsert_segments", "upsert")
        timer.wrap_attr(store, "mark_file_complete", "mark complete")
    try:
        summary = run_ingest([str(archive)], store, embedder, config)
        if not summary.ok or summary.files_skipped:
            raise SystemExit(f"ingest did not ingest everything: {summary.format_text()}")
        vectors, offset = {}, None
        while True:
            page, offset = client.scroll("bench", limit=1000, offset=offset, with_vectors=True)
            for p in page:
                vectors[(p.payload["source"], p.payload["segment_index"])] = p.vector[embedder.vector_name]
            if offset is None:
                return summary, vectors
    finally:
        client.close()


def upsert_bench(work: Path, n: int, dims: tuple[int, ...], batches: tuple[int, ...]) -> list[dict[str, Any]]:
    """Points/s of `AudioStore.upsert_segments` into a fresh embedded Qdrant, random unit vectors, payloads
    shaped like ingest's (10 s segments of 30 s files, a little user metadata)."""
    import numpy as np
    from qdrant_client import QdrantClient

    from aurola_qdrant.prompts import PROMPT_VERSION
    from aurola_qdrant.store import AudioStore, EmbedderInfo, SegmentRecord

    rng = np.random.default_rng(1)
    out = []
    for dim in dims:
        vecs = rng.standard_normal((n, dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        records = []
        for i in range(n):
            fid = hashlib.sha256(f"file-{dim}-{i // 3}".encode()).hexdigest()  # like ids.file_id
            records.append(SegmentRecord(
                file_id=fid, source=f"/archive/sounds/2024/batch{i // 300}/recording_{i // 3:06d}.flac",
                start_s=10.0 * (i % 3), end_s=10.0 * (i % 3 + 1), segment_index=i % 3, n_segments=3,
                duration_s=30.0, sample_rate=48000, channels=2,
                metadata={"collection": "field-recordings", "license": "CC-BY-4.0", "tags": ["rain", "roof"]},
            ))  # fmt: skip
        for batch in batches:
            info = EmbedderInfo(f"bench-{dim}", "bench", None, PROMPT_VERSION, dim, 30.0, 30.0)
            client = QdrantClient(path=str(work / f"upsert-{dim}-{batch}"))
            store = AudioStore(client, "bench", info)
            store.ensure_collection()
            t0 = time.perf_counter()
            for s in range(0, n, batch):
                store.upsert_segments(records[s : s + batch], vecs[s : s + batch])
            wall = time.perf_counter() - t0
            if store.count() != n:
                raise SystemExit(f"upsert bench stored {store.count()} points, expected {n}")
            client.close()
            out.append({"dim": dim, "batch": batch, "points": n, "s": wall, "points_per_s": n / wall})
    return out


def _worker_peaks(stop: Any, peaks: dict[int, float]) -> None:
    """Poll the decode workers' ``VmHWM`` from outside: a cross-check of the ``workers_peak_rss_mb`` the
    workers report themselves in the ingest summary."""
    import multiprocessing

    from ingest.decode import peak_rss_mb as vmhwm_mb

    while not stop.wait(0.2):
        for child in multiprocessing.active_children():
            peaks[child.pid] = max(peaks.get(child.pid, 0.0), vmhwm_mb(child.pid))


def load_embedder(args: argparse.Namespace) -> Any:
    """tiny: the checkpoint in ``args.model_dir`` through `from_pretrained`; other shapes: built in memory."""
    dev, dt = resolve_device(args.device, args.dtype)
    if args.shape == "tiny":
        from aurola_qdrant import AurolaEmbedder

        return AurolaEmbedder.from_pretrained(
            args.model_dir, device=str(dev), dtype=dt, batch_size=args.batch
        )
    parts = build_thinker(args.shape, dev, dt, seed=args.seed)
    return embedder_from(parts, batch_size=args.batch, keep_lm_head=False)


def rss_child(args: argparse.Namespace) -> None:
    """`--only ingest`: one ingest of ``--archive`` in a process of its own; prints the summary's RSS."""
    import threading

    from ingest import IngestConfig

    embedder = load_embedder(args)
    config = IngestConfig(batch_size=args.batch, workers=args.workers)
    loaded = peak_rss_mb()
    stop, peaks = threading.Event(), {}
    threading.Thread(target=_worker_peaks, args=(stop, peaks), daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="aurola-ingest-rss-") as db:
        summary, _ = ingest_once(embedder, config, Path(args.archive), Path(db) / "db")
    stop.set()
    print(json.dumps({"peak_rss_mb": summary.peak_rss_mb, "summary_workers_peak_rss_mb":
                      summary.workers_peak_rss_mb, "workers_vmhwm_mb": max(peaks.values(), default=0.0),
                      "after_load_mb": loaded}))  # fmt: skip


def run_bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import numpy as np
    import torch

    _package_first()

    from aurola_qdrant.testing import build_tiny_thinker
    from ingest import IngestConfig

    settings = shape_settings(args.shape)
    res: dict[str, Any] = {"config": settings, "args": {k: str(v) for k, v in vars(args).items()}}
    res["load_before"] = os.getloadavg()
    if args.shape == "tiny" and args.model_dir is None:
        args.model_dir = str(build_tiny_thinker(work / "thinker", **settings))
    archive = work / "archive"
    files = make_archive(archive, args.files)
    config = IngestConfig(batch_size=args.batch, workers=args.workers)
    res["archive"] = {"files": len(files), "audio_s": sum(f["seconds"] for f in files)}
    print(f"archive: {len(files)} files, {res['archive']['audio_s']:.0f} s of audio", flush=True)

    res["decode"] = decode_bench(files, config.window_s, args.rounds)
    print(f"decode+resample: {res['decode']['all']}", flush=True)
    res["upsert"] = upsert_bench(work, args.points, (512, 3584), (args.batch, 256))
    print(f"upsert: {res['upsert']}", flush=True)

    embedder = load_embedder(args)
    res["device"], res["dtype"] = str(embedder.thinker.device), str(embedder.thinker.dtype)
    segments, _ = decode_all(files, config.window_s)
    prompts = [embedder.audio_prompt(w) for _, _, w in segments]
    res["segments"] = len(segments)
    probe = Probe(embedder)

    # Parity (doubles as the warm-up of both paths): ingest must store what embedding alone computes.
    ref = embedder.embed_prompts(prompts)
    _, stored = ingest_once(embedder, config, archive, work / "db-warmup")
    got = np.stack([np.asarray(stored[(p, i)]) for p, i, _ in segments])
    res["parity_max_abs_diff"] = float(np.abs(got - ref).max())
    res["parity_min_cosine"] = float((got * ref).sum(-1).min())
    print(f"parity: max |ingest - embed only| = {res['parity_max_abs_diff']:.2e}, "
          f"min cosine {res['parity_min_cosine']:.6f}", flush=True)  # fmt: skip
    # fp32: the same numbers; bf16 batches of other compositions pick other kernels: cosines, reported.
    fp32 = embedder.thinker.dtype == torch.float32
    if (fp32 and res["parity_max_abs_diff"] > 1e-4) or len(stored) != len(segments):
        raise SystemExit("ingest and embedding alone disagree: not benchmarking different computations")
    if res["parity_min_cosine"] < 0.99:
        print(f"WARNING: min cosine {res['parity_min_cosine']:.4f} < 0.99 (ingest vs embed only)", flush=True)

    times: dict[str, list[float]] = {"embed only": [], "ingest": []}
    splits: dict[str, list[dict[str, float]]] = {"embed only": [], "ingest": []}
    for r in range(args.rounds):
        for name in ("embed only", "ingest") if r % 2 == 0 else ("ingest", "embed only"):
            probe.reset()
            t0 = time.perf_counter()
            if name == "ingest":
                summary, _ = ingest_once(embedder, config, archive, work / f"db-{r}", probe.timer)
                t1 = t0 + summary.elapsed_s  # run_ingest's own clock: excludes the read-back scroll
            else:
                embedder.embed_prompts(prompts)
                t1 = time.perf_counter()
            times[name].append(t1 - t0)
            splits[name].append(probe.split(t0, t1))
            print(f"round {r} {name}: {t1 - t0:.1f} s", flush=True)
    ratios = [e / i for e, i in zip(times["embed only"], times["ingest"], strict=True)]
    audio = res["archive"]["audio_s"]
    res["times_s"], res["ratios"], res["efficiency"] = times, ratios, median(ratios)
    res["per_s"] = {k: len(segments) / median(v) for k, v in times.items()}
    res["audio_per_s"] = {k: audio / median(v) for k, v in times.items()}
    res["stages_s"] = {k: {s: median([d.get(s, 0.0) for d in v]) for s in v[-1]} for k, v in splits.items()}
    res["stages_per_round_s"] = splits
    if not args.no_rss:
        model = ["--model-dir", args.model_dir] if args.model_dir else []
        model += ["--shape", args.shape, "--seed", str(args.seed), "--device", res["device"].split(":")[0]]
        model += ["--dtype", args.dtype] if args.dtype else []
        res["rss"] = run_self(
            str(Path(__file__).resolve()),
            ["--only", "ingest", "--archive", str(archive), *model,
             "--threads", str(args.threads), "--batch", str(args.batch), "--workers", str(args.workers)],
        )  # fmt: skip
    res["machine"] = machine_info(args.threads)
    res["load_after"] = os.getloadavg()
    return res


def report(res: dict[str, Any], args: argparse.Namespace) -> None:
    n, ps, aps = res["segments"], res["per_s"], res["audio_per_s"]
    rows = [[k, n, median(res["times_s"][k]), ps[k], aps[k]] for k in ("embed only", "ingest")]
    print("\n" + markdown_table(["path", "segments", "median s", "segments/s", "audio s/s"], rows))
    print(f"efficiency (median of per-round ratios): {res['efficiency']:.3f}  "
          f"per round {[round(r, 3) for r in res['ratios']]}")  # fmt: skip
    names = ["features", "audio encoder", "language model", "padded tokens", "model calls",
             "start-up", "model busy", "model starved", "drain", "upsert", "mark complete"]  # fmt: skip
    srows = [[k, *[res["stages_s"][k].get(s, "-") for s in names]] for k in ("embed only", "ingest")]
    print("\nstage seconds per pass (medians)\n" + markdown_table(["", *names], srows))
    d = res["decode"]
    drows = [[sr, d[sr]["audio_s"], d[sr]["per_wall_s"], d[sr]["per_cpu_s"]] for sr in d]
    heads = ["input Hz", "audio s", "x real time (wall)", "x real time per CPU s"]
    print("\ndecode + resample, one process\n" + markdown_table(heads, drows))
    urows = [[u["dim"], u["batch"], u["points"], u["points_per_s"]] for u in res["upsert"]]
    print("\nupsert, embedded Qdrant\n" + markdown_table(["dim", "batch", "points", "points/s"], urows))
    if "rss" in res:
        print(f"\npeak RSS of one ingest run: main {res['rss']['peak_rss_mb']:.0f} MiB, "
              f"(after loading the model {res['rss']['after_load_mb']:.0f}); largest decode worker "
              f"{res['rss']['workers_vmhwm_mb']:.0f} MiB polled VmHWM, "
              f"{res['rss']['summary_workers_peak_rss_mb']:.0f} MiB as the workers report it")  # fmt: skip
    m = res["machine"]
    print(f"shape {args.shape} on {res['device']} ({res['dtype']}); "
          f"{m['cpu']}, {m['cores']} cores, {m['threads']} torch threads, {args.workers} decode workers, "
          f"load avg before {res['load_before']} after {res['load_after']}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


def main() -> None:
    from ingest import IngestConfig

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (both paths)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--files", type=int, default=48, help="clips of 5-30 s in the generated archive")
    ap.add_argument("--workers", type=int, default=IngestConfig.workers, help="ingest decode workers")
    ap.add_argument("--batch", type=int, default=IngestConfig.batch_size, help="segments per model call")
    ap.add_argument("--points", type=int, default=1000, help="points per upsert measurement")
    ap.add_argument("--json", type=Path, help="write all figures here")
    ap.add_argument("--model-dir", help="reuse a checkpoint built by an earlier run")
    ap.add_argument("--work-dir", type=Path, help="keep the archive and databases here (default: temp)")
    ap.add_argument("--engine", choices=("inprocess", "ray"), default="inprocess",
                    help="ray: the Ray engine beside the in-process one (bench/ingest_ray.py)")  # fmt: skip
    add_model_args(ap)
    ap.add_argument("--seed", type=int, default=0, help="weights seed of the in-memory shapes")
    ap.add_argument("--no-rss", action="store_true", help="skip the ingest run in a process of its own")
    ap.add_argument("--only", choices=("ingest",), help=argparse.SUPPRESS)
    ap.add_argument("--archive", help=argparse.SUPPRESS)
    args = ap.parse_args()
    pin_threads(args.threads)
    if args.only:
        return rss_child(args)
    with tempfile.TemporaryDirectory(prefix="aurola-bench-ingest-") as tmp:
        work = args.work_dir or Path(tmp)
        if args.engine == "ray":
            if args.shape != "tiny":
                raise SystemExit("--engine ray runs the tiny checkpoint only (its actors load it from disk)")
            import ingest_ray

            res = ingest_ray.ray_bench(args, work.resolve(), make_archive, open_store, _package_first)
            ingest_ray.report(res)
            if args.json:
                args.json.write_text(json.dumps(res, indent=2))
            return
        report(run_bench(args, work.resolve()), args)


if __name__ == "__main__":
    main()
