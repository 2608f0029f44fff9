"""Model-FLOP utilisation: the machine's measured matmul rate, and the FLOPs of the prompts a path ran.

MFU = achieved model FLOP/s (FLOPs counted by `_embed_flops.Shape` for the very forward passes measured,
over their wall time) / the best ``torch.mm`` rate measured here at the benchmark's thread count, dtype and
device, on matrices the size of the model's own projections. It is the distance to the hardware's practical
limit for dense matrix products (not its datasheet peak).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from _embed_flops import Shape

__all__ = ["matmul_rate", "model_flops", "sync_fn"]


def sync_fn(device: Any):
    """``torch.cuda.synchronize`` on CUDA (so wall clocks see finished kernels), else None."""
    import torch

    return torch.cuda.synchronize if device.type == "cuda" else None


def matmul_rate(
    shape: Shape, device: Any, dtype: Any, rows: int = 1024, repeats: int = 5, seconds: float = 1.0
) -> dict[str, Any]:
    """Best ``torch.mm`` FLOP/s over the model's projection sizes (``rows`` tokens × the q/o, gate/up, down
    and LM-head matrices), each the best of ``repeats`` timed runs of at least ``seconds`` / ``repeats``.

    Returns ``{"best_gflops": …, "sizes": [{"m", "k", "n", "gflops"}, …], "dtype", "device"}``."""
    import torch

    sync = sync_fn(device) or (lambda: None)
    h, i = shape.hidden, shape.intermediate
    sizes = [(rows, h, h), (rows, h, i), (rows, i, h), (rows, h, min(shape.vocab, 32768))]
    out = []
    gen = torch.Generator(device=device).manual_seed(0)
    for m, k, n in sizes:
        a = torch.randn(m, k, device=device, dtype=dtype, generator=gen)
        b = torch.randn(k, n, device=device, dtype=dtype, generator=gen)
        torch.mm(a, b)  # warm-up (kernel selection, page faults)
        sync()
        flop = 2.0 * m * k * n
        t0 = time.perf_counter()
        torch.mm(a, b)
        sync()
        reps = max(1, int(seconds / repeats / max(time.perf_counter() - t0, 1e-6)))
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b)
            sync()
            best = min(best, (time.perf_counter() - t0) / reps)
        out.append({"m": m, "k": k, "n": n, "gflops": flop / best / 1e9})
        del a, b
    return {
        "best_gflops": max(r["gflops"] for r in out),
        "sizes": out,
        "dtype": str(dtype).removeprefix("torch."),
        "device": str(device),
    }


def model_flops(
    shape: Shape, widths: Sequence[tuple[int, int]], clips: int, mel_frames: int, head: bool
) -> float:
    """Model FLOPs of one call: every language-model forward ``(rows, padded width)`` in ``widths``, the
    audio encoder on ``clips`` × ``mel_frames`` valid frames (0 for text), and the LM head on every position
    when ``head`` (the official path)."""
    flops = sum(b * (shape.lm(t) + (shape.head(t) if head else 0.0)) for b, t in widths)
    return flops + (clips * shape.encoder(mel_frames) if mel_frames else 0.0)


def main() -> None:
    """``python bench/_mfu.py --shape mid --threads 2 [--device cpu] [--dtype fp32] [--runs 3]``: the matmul
    rate alone (best of ``--runs`` measurements), the denominator of every MFU figure."""
    import argparse
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import pin_threads
    from _shapes import SHAPES, add_model_args, resolve_device

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    add_model_args(ap)
    args = ap.parse_args()
    pin_threads(args.threads)
    dev, dt = resolve_device(args.device, args.dtype)
    rows = 4096 if dev.type == "cuda" else 1024
    runs = [matmul_rate(SHAPES[args.shape], dev, dt, rows=rows) for _ in range(args.runs)]
    print(json.dumps(max(runs, key=lambda r: r["best_gflops"]) | {"runs": [r["best_gflops"] for r in runs]}))


if __name__ == "__main__":
    main()
