"""Benchmark: AurolaEmbedder vs. the straightforward official embedding path, side by side in one run.

Baseline (`ReferenceEmbedder.embed_*_batch`): features padded to the extractor's 300 s, the full prompt
(``<emb>.<|im_end|>\\n`` tail included), ``thinker(**inputs, output_hidden_states=True)`` with LM-head logits
on every position, read ``hidden_states[-1]`` before ``<emb>``. Ours: `AurolaEmbedder.embed_audio` /
`embed_text` (exact-padding features, prompt cut at the read position, no LM head).

    python bench/embed.py [--threads 2] [--rounds 5] [--clips 8] [--seconds 10] [--json out.json]

Model: a seeded random thinker with the real vocabulary (152,064) and small layers (`TINY` below). Prints
parity, throughput medians, per-round ratio medians, stage times, peak RSS per path (each measured in its
own subprocess) and the projection to the released 3B/7B shapes. See BENCHMARKS.md.
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
    alternate,
    machine_info,
    markdown_table,
    median,
    peak_rss_mb,
    pin_threads,
    reset_peak_rss,
    run_self,
)
from _embed_flops import Shape, project

# numpy and torch are imported inside functions, after `pin_threads` has set the thread environment.

TINY = dict(
    hidden_size=512,
    intermediate_size=2816,
    num_hidden_layers=4,
    num_attention_heads=8,
    num_key_value_heads=2,
    audio_d_model=384,
    audio_layers=4,
    audio_heads=6,
    audio_ffn_dim=1536,
    vocab_size=152064,
)
TINY_SHAPE = Shape("tiny", 512, 2816, 4, 8, 2, 152064, 384, 4, 1536)
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


def load_path(which: str, model_dir: str, batch: int) -> tuple[Any, Any, Any]:
    """(audio_fn(clips), text_fn(texts), thinker model) for one path."""
    if which == "ours":
        from aurola_qdrant import AurolaEmbedder

        emb = AurolaEmbedder.from_pretrained(model_dir, device="cpu", batch_size=batch)
        return (
            lambda clips: emb.embed_audio([(w, 16000) for w in clips]),
            emb.embed_text,
            emb,
        )
    from aurola_qdrant.testing.reference import ReferenceEmbedder

    ref = ReferenceEmbedder.from_pretrained(model_dir)
    return ref.embed_waveforms_batch, ref.embed_text_batch, ref


def instrument(which: str, obj: Any) -> tuple[StageTimer, dict[str, int]]:
    """Stage timers inside the real calls, plus the LM input width of the latest call."""
    timer = StageTimer()
    if which == "ours":
        obj.inputs.fe = timer.proxy(obj.inputs.fe, "features")
        model = obj.thinker.model
    else:
        obj.fe = timer.proxy(obj.fe, "features")
        model = obj.model
    timer.wrap_attr(model.model, "get_audio_features", "audio encoder")
    timer.hook_module(model.model.language_model, "language model")
    if model.lm_head is not None:
        timer.hook_module(model.lm_head, "LM head")
    width = {"tokens": 0}

    def grab(_module: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        width["tokens"] = int(kwargs["inputs_embeds"].shape[1])

    model.model.language_model.register_forward_pre_hook(grab, with_kwargs=True)
    return timer, width


def child(args: argparse.Namespace) -> None:
    """`--only ours|baseline`: load one path, embed one audio batch and one text batch, report peak RSS."""
    audio_fn, text_fn, _ = load_path(args.only, args.model_dir, args.clips)
    clips, texts = make_clips(args.clips, args.seconds), make_texts(args.clips)
    load_peak = peak_rss_mb()
    reset_ok = reset_peak_rss()
    audio_fn(clips)
    text_fn(texts)
    run_peak = peak_rss_mb()  # since the reset: weights as resident after loading + the embedding calls
    out = {"peak_rss_mb": max(load_peak, run_peak), "load_peak_mb": load_peak, "embed_peak_mb": run_peak}
    print(json.dumps({**out, "reset_ok": reset_ok}))


def timed_runs(fns: dict[str, Any], timers: dict[str, StageTimer], rounds: int):
    """Alternate the paths; per call, record the stage split (``other`` = the rest of the wall time)."""
    stages: dict[str, list[dict[str, float]]] = {k: [] for k in fns}

    def wrap(name: str):
        def run() -> None:
            import time

            timers[name].reset()
            t0 = time.perf_counter()
            fns[name]()
            split = timers[name].snapshot()
            split["other"] = time.perf_counter() - t0 - sum(split.values())
            stages[name].append(split)

        return run

    times = alternate({k: wrap(k) for k in fns}, rounds, warmup=0)
    stage_med = {k: {s: median([r[s] for r in v]) for s in v[-1]} for k, v in stages.items()}
    return times, stage_med, stages


def run_bench(args: argparse.Namespace) -> None:
    import numpy as np

    from aurola_qdrant.testing import build_tiny_thinker

    tmp = None
    if args.model_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="aurola-bench-")
        args.model_dir = str(build_tiny_thinker(Path(tmp.name) / "thinker", **TINY))
    clips, texts = make_clips(args.clips, args.seconds), make_texts(args.clips)
    paths = {name: load_path(name, args.model_dir, args.clips) for name in ("baseline", "ours")}
    inst = {name: instrument(name, paths[name][2]) for name in paths}
    timers = {name: inst[name][0] for name in paths}

    # Parity (doubles as the warm-up call of every path): a benchmark of different results means nothing.
    parity = {}
    for kind, idx, data in (("audio", 0, clips), ("text", 1, texts)):
        vecs = {name: paths[name][idx](data) for name in paths}
        parity[kind] = float(np.abs(vecs["baseline"] - vecs["ours"]).max())
        print(f"parity {kind}: max |baseline - ours| = {parity[kind]:.2e}", flush=True)
    if max(parity.values()) > 1e-4:
        raise SystemExit("the two paths disagree (> 1e-4): not benchmarking different computations")

    results: dict[str, Any] = {"config": TINY, "args": {k: str(v) for k, v in vars(args).items()}}
    results["machine"] = machine_info(args.threads)
    results["parity_max_abs_diff"] = parity
    for kind, idx, data, rounds in (
        ("audio", 0, clips, args.rounds),
        ("text", 1, texts, 2 * args.rounds),
    ):
        fns = {name: (lambda f=paths[name][idx], d=data: f(d)) for name in paths}
        times, stages, stage_rounds = timed_runs(fns, timers, rounds)
        # LM width of one prompt (padded), read off the last call of each path by the width hook.
        tokens = {name: inst[name][1]["tokens"] for name in paths}
        ratios = [b / o for b, o in zip(times["baseline"], times["ours"], strict=True)]
        results[kind] = {
            "rounds": rounds,
            "seconds": times,
            "per_s": {n: args.clips / median(t) for n, t in times.items()},
            "ratio_median": median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "stages_s": stages,
            "stages_per_round_s": stage_rounds,
            "tokens_per_prompt": tokens,
        }
        print(f"{kind}: ratio per round {[round(r, 2) for r in ratios]}", flush=True)
    results["projection"] = {
        "audio": project(
            TINY_SHAPE,
            results["audio"]["stages_s"],
            results["audio"]["tokens_per_prompt"],
            int(args.seconds * 100),
            args.clips,
        ),
        "text": project(
            TINY_SHAPE, results["text"]["stages_s"], results["text"]["tokens_per_prompt"], 0, args.clips
        ),
    }
    del paths, inst, timers
    script = str(Path(__file__).resolve())
    common = ["--threads", str(args.threads), "--clips", str(args.clips), "--seconds", str(args.seconds)]
    results["rss"] = {
        name: run_self(script, ["--only", name, "--model-dir", args.model_dir, *common])
        for name in ("baseline", "ours")
    }
    report(results, args)
    if tmp is not None:
        tmp.cleanup()


def report(res: dict[str, Any], args: argparse.Namespace) -> None:
    a, t, rss = res["audio"], res["text"], res["rss"]
    rows = [
        ["audio (clips/s)", a["per_s"]["baseline"], a["per_s"]["ours"], f"{a['ratio_median']:.2f}x"],
        ["text (texts/s)", t["per_s"]["baseline"], t["per_s"]["ours"], f"{t['ratio_median']:.2f}x"],
    ]
    b, o = rss["baseline"]["peak_rss_mb"], rss["ours"]["peak_rss_mb"]
    rows.append(["peak RSS (MB)", round(b), round(o), f"{b / o:.2f}x less"])
    print("\n" + markdown_table(["", "baseline", "ours", "ratio (median of rounds)"], rows))
    stage_names = ["features", "audio encoder", "language model", "LM head", "other"]
    srows = []
    for kind in ("audio", "text"):
        for name in ("baseline", "ours"):
            st = res[kind]["stages_s"][name]
            tok = res[kind]["tokens_per_prompt"][name]
            srows.append([f"{kind} {name} ({tok} tok)", *[st.get(s, 0.0) for s in stage_names]])
    print("\nstage seconds per batch (medians)\n" + markdown_table(["", *stage_names], srows))
    prows = [
        [
            f"{kind} {p['shape']}",
            f"{p['baseline_tflop']:.2f} / {p['ours_tflop']:.2f}",
            f"{p['flop_ratio']:.3f}x",
            f"{p['baseline_fixed_s']:.2f} / {p['ours_fixed_s']:.2f}",
            f"{p['baseline_s']:.1f} / {p['ours_s']:.1f}",
            f"{p['speedup']:.2f}x",
        ]
        for kind in ("audio", "text")
        for p in res["projection"][kind]["shapes"]
    ]
    heads = ["", "model TFLOP/batch b / o", "FLOP ratio", "fixed s b / o", "s/batch b / o", "speed-up"]
    rates = {k: round(v["rate_gflops"], 1) for k, v in res["projection"].items()}
    print(f"\nprojection at the measured model rate {rates} GFLOP/s\n" + markdown_table(heads, prows))
    m = res["machine"]
    print(f"\n{m['cpu']}, {m['threads']} threads, torch {m['torch']}, load avg {m['load_avg_1m']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds per path (text: twice as many)")
    ap.add_argument("--clips", type=int, default=8, help="batch size (clips and texts)")
    ap.add_argument("--seconds", type=float, default=10.0, help="clip length")
    ap.add_argument("--json", type=Path, help="write all figures here")
    ap.add_argument("--model-dir", help="reuse a checkpoint built by an earlier run")
    ap.add_argument("--only", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    pin_threads(args.threads)
    if args.only:
        return child(args)
    run_bench(args)


if __name__ == "__main__":
    main()
