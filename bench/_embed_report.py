"""The printed report of bench/embed.py: throughput and ratios, stage times, FLOP/s and MFU, memory, and (tiny
and mid shapes) the projection to the released 3B/7B. Everything printed is also in ``--json``."""

from __future__ import annotations

import json
from typing import Any

from _common import markdown_table

__all__ = ["report"]

STAGES = ["features", "audio encoder", "language model", "LM head", "other"]


def _throughput(res: dict[str, Any]) -> None:
    rows = []
    for row in res["sweep"]:
        a, t = row["audio"], row["text"]
        rows.append([row["batch"], a["per_s"]["baseline"], a["per_s"]["ours"], f"{a['ratio_median']:.2f}x",
                     f"{a['cpu_ratio_median']:.2f}x", t["per_s"]["baseline"], t["per_s"]["ours"],
                     f"{t['ratio_median']:.2f}x", f"{t['cpu_ratio_median']:.2f}x"])  # fmt: skip
    heads = ["batch", "audio clips/s b", "ours", "ratio (median of rounds)", "CPU-time ratio",
             "text texts/s b", "ours", "ratio", "CPU-time ratio"]  # fmt: skip
    print("\n" + markdown_table(heads, rows))
    rss = res.get("rss")
    if rss:
        b, o = rss["baseline"]["peak_rss_mb"], rss["ours"]["peak_rss_mb"]
        batch = res["sweep"][0]["batch"]
        print(
            f"peak RSS (batch {batch}, own process): baseline {b:.0f} MB, ours {o:.0f} MB, {b / o:.2f}x less"
        )


def _stages(res: dict[str, Any]) -> None:
    srows = []
    for kind in ("audio", "text"):
        for name in ("baseline", "ours"):
            st = res[kind]["stages_s"][name]
            tok = res[kind]["tokens_per_prompt"][name]
            srows.append([f"{kind} {name} ({tok} tok)", *[st.get(s, 0.0) for s in STAGES]])
    batch = res["sweep"][0]["batch"]
    print(f"\nstage seconds per batch of {batch} (medians)\n" + markdown_table(["", *STAGES], srows))


def _mfu(res: dict[str, Any]) -> None:
    peak = res["matmul"]["best_gflops"]
    rows = []
    cuda = res["device"].startswith("cuda")
    for row in res["sweep"]:
        for kind in ("audio", "text"):
            for name in ("baseline", "ours"):
                f = row[kind]["flops"][name]
                r = [row["batch"], f"{kind} {name}", f["model_gflop"], f["gflops"], f"{100 * f['mfu']:.1f} %",
                     f["useful_gflops"], f"{100 * f['useful_mfu']:.1f} %",
                     f["model_stage_gflops"], f"{100 * f['cpu_mfu']:.1f} %"]  # fmt: skip
                if cuda:
                    mem, util = row[kind]["gpu_peak_mb"][name], row[kind]["gpu_util_pct"][name]
                    r += [round(mem["total"]), "-" if util is None else f"{util:.0f} %"]
                rows.append(r)
    heads = ["batch", "path", "model GFLOP/call", "GFLOP/s", "MFU", "useful GFLOP/s", "useful MFU",
             "model-stage GFLOP/s", "MFU per CPU s"]  # fmt: skip
    if cuda:
        heads += ["peak GPU MB (weights + activations)", "GPU util"]
    sizes = ", ".join(f"{s['m']}x{s['k']}x{s['n']}: {s['gflops']:.0f}" for s in res["matmul"]["sizes"])
    runs = ", ".join(f"{m['best_gflops']:.0f}" for m in res["matmul_runs"])
    where = f"{res['matmul']['dtype']}, {res['device']}; best run by size {sizes}; each run's best {runs}"
    print(f"\nmodel FLOP/s and MFU against the measured torch.mm rate {peak:.1f} GFLOP/s ({where})")
    print(markdown_table(heads, rows))
    print("useful = the FLOPs our path needs for the same vectors, over this path's time;")
    print(
        "MFU per CPU s = FLOPs x threads / process CPU s (robust to other jobs; above MFU when threads idle)"
    )


def _projection(res: dict[str, Any]) -> None:
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


def report(res: dict[str, Any], args: Any) -> None:
    _throughput(res)
    _stages(res)
    _mfu(res)
    if "projection" in res:
        _projection(res)
    m = res["machine"]
    print(f"\nshape {args.shape} on {res['device']} ({res['dtype']}); {m['cpu']}, {m['threads']} threads, "
          f"torch {m['torch']}, load avg {m['load_avg_1m']:.2f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
