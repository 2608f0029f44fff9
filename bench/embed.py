"""Benchmark: AurolaEmbedder vs. the straightforward official embedding path, side by side in one run.

Baseline (`ReferenceEmbedder.embed_*_batch`): features padded to the extractor's 300 s, the full prompt
(``<emb>.<|im_end|>\\n`` tail included), ``thinker(**inputs, output_hidden_states=True)`` with LM-head logits
on every position, read ``hidden_states[-1]`` before ``<emb>``. Ours: `AurolaEmbedder.embed_audio` /
`embed_text` (exact-padding features, prompt cut at the read position, no LM head).

    python bench/embed.py [--threads 2] [--rounds 5] [--clips 8] [--seconds 10] [--json out.json]
                          [--shape tiny|mid|3b|7b] [--device cpu|cuda] [--dtype fp32|bf16]
                          [--batch-sizes 1,2,4,...] [--no-rss]

Model: ``--shape tiny`` (default) is a seeded random thinker with the real vocabulary (152,064) and small
layers, written to disk and loaded by `AurolaEmbedder.from_pretrained`; ``mid`` / ``3b`` / ``7b`` are random
thinkers built in memory on the device (bench/_shapes.py), shared by both paths. Prints parity, throughput
medians, per-round ratio medians, stage times, model FLOP/s and MFU against the measured ``torch.mm`` rate
(bench/_mfu.py), peak RSS per path (each measured in its own subprocess; on CUDA peak GPU memory and
utilisation instead) and, for tiny/mid, the projection to the released 3B/7B shapes. See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    StageTimer,
    machine_info,
    median,
    peak_rss_mb,
    pin_threads,
    reset_peak_rss,
    run_self,
)
from _embed_flops import project
from _embed_report import report
from _mfu import matmul_rate, model_flops, sync_fn
from _shapes import (
    SHAPES,
    add_model_args,
    build_thinker,
    embedder_from,
    reference_from,
    resolve_device,
    shape_settings,
)

# numpy and torch are imported inside functions, after `pin_threads` has set the thread environment.

TINY = shape_settings("tiny")  # hidden 512, 4 layers, real 152,064 vocabulary (bench/ingest.py, search.py)
CAPTIONS = (
    "A dog barks twice while rain falls steadily on a tin roof.",
    "Birds chirp in the distance as a car engine idles nearby and then drives away.",
    "A man speaks over loud crowd noise.",
    "Water runs from a tap, a door closes, and footsteps fade down a wooden hallway.",
    "Soft piano music with a woman humming along.",
    "A train horn blows as the train passes over a bridge with rhythmic clacking of wheels on the rails.",
    "Wind blows hard.",
    "Several people talk and laugh in a busy restaurant while dishes clatter in the background.",
)


def make_clips(n: int, seconds: float, seed: int = 0) -> list[Any]:
    """Deterministic mono 16 kHz float32 clips: a few amplitude-modulated tones over low noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    clips = []
    for _ in range(n):
        wav = 0.02 * rng.standard_normal(t.size)
        for _ in range(3):
            f, am = rng.uniform(80, 4000), rng.uniform(0.2, 4)
            wav += 0.1 * np.sin(2 * np.pi * f * t) * (0.6 + 0.4 * np.sin(2 * np.pi * am * t))
        clips.append(wav.astype(np.float32))
    return clips


def make_texts(n: int) -> list[str]:
    return [CAPTIONS[i % len(CAPTIONS)] for i in range(n)]


def load_paths(
    args: argparse.Namespace, batch: int, only: str | None = None
) -> dict[str, tuple[Any, Any, Any]]:
    """``{path: (audio_fn(clips), text_fn(texts), embedder or reference)}`` for both paths (or ``only``).

    tiny: each path loads the checkpoint in ``args.model_dir`` as it would in use; other shapes: one
    in-memory thinker shared by both paths (the reference keeps the LM head; ours never calls it). With
    ``only`` (a process of its own, for peak memory) ours drops the head as `from_pretrained` does."""
    dev, dt = resolve_device(args.device, args.dtype)
    names = (only,) if only else ("baseline", "ours")
    if args.shape == "tiny":
        from aurola_qdrant import AurolaEmbedder
        from aurola_qdrant.testing.reference import ReferenceEmbedder

        objs: dict[str, Any] = {}
        if "baseline" in names:
            objs["baseline"] = ReferenceEmbedder.from_pretrained(args.model_dir, dtype=dt)
            objs["baseline"].model.to(dev)
        if "ours" in names:
            objs["ours"] = AurolaEmbedder.from_pretrained(
                args.model_dir, device=str(dev), dtype=dt, batch_size=batch
            )
    else:
        parts = build_thinker(args.shape, dev, dt, seed=args.seed)
        objs = {"baseline": reference_from(parts)} if "baseline" in names else {}
        if "ours" in names:
            objs["ours"] = embedder_from(parts, batch_size=batch, keep_lm_head=only is None)
    out = {}
    for name, obj in objs.items():
        if name == "ours":
            out[name] = (lambda clips, e=obj: e.embed_audio([(w, 16000) for w in clips]), obj.embed_text, obj)
        else:
            out[name] = (obj.embed_waveforms_batch, obj.embed_text_batch, obj)
    return out


def instrument(which: str, obj: Any, sync: Any) -> tuple[StageTimer, list[tuple[int, int]]]:
    """Stage timers inside the real calls, plus ``(rows, padded width)`` of every language-model forward."""
    timer = StageTimer(sync)
    if which == "ours":
        obj.inputs.fe = timer.proxy(obj.inputs.fe, "features")
        model = obj.thinker.model
    else:
        obj.fe = timer.proxy(obj.fe, "features")
        model = obj.model
    timer.wrap_attr(model.model, "get_audio_features", "audio encoder")
    timer.hook_module(model.model.language_model, "language model")
    if model.lm_head is not None and which == "baseline":
        timer.hook_module(model.lm_head, "LM head")
    widths: list[tuple[int, int]] = []

    def grab(_module: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        widths.append(tuple(kwargs["inputs_embeds"].shape[:2]))

    model.model.language_model.register_forward_pre_hook(grab, with_kwargs=True)
    return timer, widths


def child(args: argparse.Namespace) -> None:
    """`--only ours|baseline`: load one path, embed one audio batch and one text batch, report peak RSS."""
    audio_fn, text_fn, _ = load_paths(args, args.clips, only=args.only)[args.only]
    clips, texts = make_clips(args.clips, args.seconds), make_texts(args.clips)
    load_peak = peak_rss_mb()
    reset_ok = reset_peak_rss()
    audio_fn(clips)
    text_fn(texts)
    run_peak = peak_rss_mb()  # since the reset: weights as resident after loading + the embedding calls
    out = {"peak_rss_mb": max(load_peak, run_peak), "load_peak_mb": load_peak, "embed_peak_mb": run_peak}
    print(json.dumps({**out, "reset_ok": reset_ok}))


def timed_runs(fns: dict[str, Any], inst: dict[str, Any], rounds: int, cuda: bool) -> dict[str, Any]:
    """Alternate the paths (AB, BA, …); per call the wall time, the stage split (``other`` = the rest of
    the wall time), the language-model widths, the ``perf_counter`` window (for GPU utilisation) and, on
    CUDA, the peak device memory the call allocated above what was resident before it."""
    import time

    from _gpu import cuda_peak

    runs: dict[str, dict[str, list[Any]]] = {
        k: {"s": [], "cpu_s": [], "stages": [], "widths": [], "windows": [], "peak_mb": []} for k in fns
    }
    names = list(fns)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            timer, widths = inst[name]
            timer.reset()
            widths.clear()
            c0, t0 = time.process_time(), time.perf_counter()
            if cuda:
                runs[name]["peak_mb"].append(cuda_peak(fns[name])[1])
            else:
                fns[name]()
            t1, c1 = time.perf_counter(), time.process_time()
            runs[name]["cpu_s"].append(c1 - c0)
            split = timer.snapshot()
            split["other"] = t1 - t0 - sum(split.values())
            for key, value in (
                ("s", t1 - t0),
                ("stages", split),
                ("widths", list(widths)),
                ("windows", (t0, t1)),
            ):
                runs[name][key].append(value)
    return runs


MODEL_STAGES = ("audio encoder", "language model", "LM head")


def measure(
    kind: str, paths: dict[str, Any], data: list[Any], rounds: int, ctx: dict[str, Any]
) -> dict[str, Any]:
    """Timed rounds of one input kind at one batch size, with FLOP/s, MFU and (CUDA) memory/utilisation."""
    idx, n = (0 if kind == "audio" else 1), len(data)
    fns = {name: (lambda f=paths[name][idx], d=data: f(d)) for name in paths}
    runs = timed_runs(fns, ctx["inst"], rounds, ctx["device"].type == "cuda")
    times = {k: v["s"] for k, v in runs.items()}
    stages = {k: {s: median([r[s] for r in v["stages"]]) for s in v["stages"][-1]} for k, v in runs.items()}
    ratios = [b / o for b, o in zip(times["baseline"], times["ours"], strict=True)]
    cpu = {k: v["cpu_s"] for k, v in runs.items()}
    cpu_ratios = [b / o for b, o in zip(cpu["baseline"], cpu["ours"], strict=True)]
    frames = int(ctx["seconds"] * 100) if kind == "audio" else 0
    flops = {
        k: model_flops(ctx["shape"], v["widths"][-1], n, frames, k == "baseline") for k, v in runs.items()
    }
    rates: dict[str, dict[str, float]] = {}
    for k in runs:
        t, model_t = median(times[k]), sum(stages[k].get(s, 0.0) for s in MODEL_STAGES)
        rates[k] = {"model_gflop": flops[k] / 1e9, "gflops": flops[k] / t / 1e9}
        rates[k]["useful_gflops"] = flops["ours"] / t / 1e9  # what our path needs for the same vectors
        rates[k]["model_stage_gflops"] = flops[k] / model_t / 1e9 if model_t else 0.0
        # per CPU second of all threads x threads: what the rate would be if no other job took the cores
        rates[k]["cpu_gflops"] = flops[k] * ctx["threads"] / median(runs[k]["cpu_s"]) / 1e9
    out = {
        "batch": n,
        "rounds": rounds,
        "seconds": times,
        "per_s": {k: n / median(t) for k, t in times.items()},
        "ratio_median": median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        # process CPU seconds (all threads): less sensitive than wall time to other jobs on a shared machine
        "cpu_seconds": cpu,
        "cpu_ratio_median": median(cpu_ratios),
        "stages_s": stages,
        "stages_per_round_s": {k: v["stages"] for k, v in runs.items()},
        "tokens_per_prompt": {k: v["widths"][-1][-1][1] for k, v in runs.items()},
        "lm_forwards": {k: v["widths"][-1] for k, v in runs.items()},
        "flops": rates,  # MFU added by `add_mfu` once the run's best matmul rate is known
    }
    if ctx["device"].type == "cuda":
        out["gpu_util_pct"] = {k: ctx["sampler"].mean(v["windows"]) for k, v in runs.items()}
        out["gpu_peak_mb"] = {}
        for k, v in runs.items():
            act, weights = max(v["peak_mb"]), ctx["weights_mb"][k]
            out["gpu_peak_mb"][k] = {"activations": act, "weights": weights, "total": act + weights}
    print(f"{kind} batch {n}: ratio per round {[round(r, 2) for r in ratios]}", flush=True)
    return out


def check_parity(paths: dict[str, Any], clips: list[Any], texts: list[str], dtype: Any) -> dict[str, Any]:
    """Both paths must compute the same vectors (doubles as the warm-up call of every path at this batch).

    fp32: max |baseline - ours| <= 1e-4 or the run stops. bf16/fp16: the two paths' different padding and
    shapes pick different kernels, so the minimum cosine is reported, with a warning below 0.99 (a device
    run is too scarce to lose to a threshold; the JSON keeps the figure)."""
    import numpy as np
    import torch

    out: dict[str, Any] = {}
    for kind, idx, data in (("audio", 0, clips), ("text", 1, texts)):
        vecs = {name: paths[name][idx](data) for name in paths}
        diff = float(np.abs(vecs["baseline"] - vecs["ours"]).max())
        cos = float((vecs["baseline"] * vecs["ours"]).sum(-1).min())
        out[kind] = {"max_abs_diff": diff, "min_cosine": cos}
        print(
            f"parity {kind} (batch {len(data)}): max |baseline - ours| = {diff:.2e}, min cosine {cos:.6f}",
            flush=True,
        )
        if dtype == torch.float32 and diff > 1e-4:
            raise SystemExit("the two paths disagree: not benchmarking different computations")
        if cos < 0.99:
            print(f"WARNING: {kind} min cosine {cos:.4f} < 0.99 between the paths ({dtype})", flush=True)
    return out


def add_mfu(results: dict[str, Any]) -> None:
    """MFU of every measured row against the best ``torch.mm`` rate of the run (measured before every batch
    size and at the end: on a shared machine the best one is the nearest to what the hardware can do)."""
    results["matmul"] = max(results["matmul_runs"], key=lambda m: m["best_gflops"])
    best = results["matmul"]["best_gflops"]
    for row in results["sweep"]:
        for kind in ("audio", "text"):
            for f in row[kind]["flops"].values():
                f["mfu"], f["useful_mfu"] = f["gflops"] / best, f["useful_gflops"] / best
                f["cpu_mfu"] = f["cpu_gflops"] / best


def weights_mb(model: Any) -> dict[str, float]:
    """Resident weight MiB each path needs: ours without the LM head (vision tower already dropped)."""
    total = head = 0
    for name, p in model.named_parameters():
        size = p.numel() * p.element_size()
        total += size
        head += size if name.startswith("lm_head.") else 0
    return {"baseline": total / 2**20, "ours": (total - head) / 2**20}


def run_bench(args: argparse.Namespace) -> None:
    import contextlib

    from aurola_qdrant.testing import build_tiny_thinker

    tmp = None
    if args.shape == "tiny" and args.model_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="aurola-bench-")
        args.model_dir = str(build_tiny_thinker(Path(tmp.name) / "thinker", **TINY))
    dev, dt = resolve_device(args.device, args.dtype)
    shape = SHAPES[args.shape]
    batches = args.batch_sizes or [args.clips]
    results: dict[str, Any] = {
        "config": shape_settings(args.shape),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    results["machine"] = machine_info(args.threads)
    results["device"], results["dtype"] = str(dev), str(dt).removeprefix("torch.")
    results["matmul_runs"] = []

    def mm_rate() -> None:
        rate = matmul_rate(shape, dev, dt, rows=4096 if dev.type == "cuda" else 1024)
        results["matmul_runs"].append(rate)
        print(f"torch.mm best {rate['best_gflops']:.1f} GFLOP/s ({results['dtype']}, {dev})", flush=True)

    paths = load_paths(args, max(batches))
    inst = {name: instrument(name, paths[name][2], sync_fn(dev)) for name in paths}
    ctx: dict[str, Any] = {
        "inst": inst,
        "shape": shape,
        "seconds": args.seconds,
        "device": dev,
        "threads": args.threads,
    }
    sampler: Any = contextlib.nullcontext()
    if dev.type == "cuda":
        from _gpu import GpuSampler

        ctx["weights_mb"] = weights_mb(paths["baseline"][2].model)
        sampler = ctx["sampler"] = GpuSampler()
    results["sweep"] = []
    with sampler:
        for bs in batches:
            paths["ours"][2].batch_size = bs
            if dev.type == "cpu" or not results["matmul_runs"]:  # CPU: contention varies during a run
                mm_rate()
            clips, texts = make_clips(bs, args.seconds), make_texts(bs)
            row: dict[str, Any] = {"batch": bs, "parity": check_parity(paths, clips, texts, dt)}
            row["audio"] = measure("audio", paths, clips, args.rounds, ctx)
            row["text"] = measure("text", paths, texts, 2 * args.rounds, ctx)
            results["sweep"].append(row)
            add_mfu(results)
            if args.json:  # after every batch size, so a run stopped by a timeout keeps what it measured
                args.json.write_text(json.dumps(results, indent=2))
    mm_rate()
    add_mfu(results)
    if dev.type == "cuda":
        results["gpu_util_source"] = ctx["sampler"].source
    first = results["sweep"][0]
    results["parity_max_abs_diff"] = {k: v["max_abs_diff"] for k, v in first["parity"].items()}
    results["audio"], results["text"] = first["audio"], first["text"]
    if args.shape in ("tiny", "mid"):
        frames = int(args.seconds * 100)
        results["projection"] = {
            kind: project(
                shape, first[kind]["stages_s"], first[kind]["tokens_per_prompt"], fr, first["batch"]
            )
            for kind, fr in (("audio", frames), ("text", 0))
        }
    del paths, inst, ctx
    if dev.type == "cpu" and not args.no_rss:
        script = str(Path(__file__).resolve())
        common = ["--threads", str(args.threads), "--clips", str(batches[0]), "--seconds", str(args.seconds)]
        common += ["--shape", args.shape, "--device", "cpu", "--seed", str(args.seed)]
        common += ["--model-dir", args.model_dir] if args.model_dir else []
        common += ["--dtype", args.dtype] if args.dtype else []
        results["rss"] = {name: run_self(script, ["--only", name, *common]) for name in ("baseline", "ours")}
    report(results, args)
    if tmp is not None:
        tmp.cleanup()


def batch_sizes(text: str) -> list[int]:
    sizes = [int(x) for x in text.split(",") if x.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be positive integers, got {text!r}")
    return sizes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds per path (text: twice as many)")
    ap.add_argument("--clips", type=int, default=8, help="batch size (clips and texts)")
    ap.add_argument(
        "--batch-sizes", type=batch_sizes, help="comma list, e.g. 1,2,4,8: a sweep (overrides --clips)"
    )
    ap.add_argument("--seconds", type=float, default=10.0, help="clip length")
    ap.add_argument("--json", type=Path, help="write all figures here (after every batch size of a sweep)")
    ap.add_argument("--model-dir", help="tiny: reuse a checkpoint built by an earlier run")
    add_model_args(ap)
    ap.add_argument("--seed", type=int, default=0, help="weights seed of the in-memory shapes")
    ap.add_argument("--no-rss", action="store_true", help="skip the per-path peak-RSS processes (CPU)")
    ap.add_argument("--only", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    pin_threads(args.threads)
    if args.only:
        return child(args)
    run_bench(args)


if __name__ == "__main__":
    main()
