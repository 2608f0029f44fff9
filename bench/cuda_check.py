"""CUDA checks for a GPU machine: inference parity on CUDA and the training paths that only run there.

1. Embedder and re-ranker on CUDA against the CPU float32 path (which the test suite proves equal to the
   official computation): CUDA float32 must match to float tolerance; CUDA bf16 + SDPA (the default on
   CUDA, as the official code runs) is reported as max |diff| and minimum cosine. The re-ranker's
   shared-prefix cache must give the plain path's P(Yes) on CUDA too.
2. Training on CUDA through the real entry points: the embedder from scratch with ``--bf16
   --grad-checkpointing``, a LoRA run on the result (bf16, gradient checkpointing), and the re-ranker
   (``--tiny --bf16 --grad-checkpointing``). Each must exit 0 with finite losses, and its export must load
   on CUDA and give finite, changed outputs.

Usage (on the GPU machine, from the repository root):

    python bench/cuda_check.py --out /tmp/cuda_check --json cuda_check.json

Prints one JSON summary (also written to --json); exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEVICE = os.environ.get("CUDA_CHECK_DEVICE", "cuda")  # "cpu" only to smoke-test this script without a GPU
STEPS = int(os.environ.get("CUDA_CHECK_STEPS", "60"))
TEXTS = [
    "a dog barks twice",
    "rain on a tin roof",
    "a low hum, steady and long, with a faint click now and then",
]


def _clips() -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(0)
    spec = [(0.3, 16000), (1.0, 44100), (10.0, 48000), (30.0, 22050), (45.0, 16000)]
    t = [np.arange(int(d * sr)) / sr for d, sr in spec]
    return [
        (
            (0.2 * np.sin(2 * np.pi * 220 * (1 + i) * x) + 0.02 * rng.standard_normal(x.size)).astype(
                np.float32
            ),
            sr,
        )
        for i, (x, (_, sr)) in enumerate(zip(t, spec, strict=True))
    ]


def inference(checkpoint: Path) -> dict:

    from aurola_qdrant import AurolaEmbedder
    from aurola_qdrant.reranker import AurolaReranker

    clips, out = _clips(), {}
    cpu = AurolaEmbedder.from_pretrained(checkpoint, device="cpu")
    ref = np.concatenate([cpu.embed_audio(clips), cpu.embed_text(TEXTS)])
    for name, dtype in (("cuda_fp32", "float32"), ("cuda_bf16", None)):
        emb = AurolaEmbedder.from_pretrained(checkpoint, device=DEVICE, dtype=dtype)
        got = np.concatenate([emb.embed_audio(clips), emb.embed_text(TEXTS)])
        out[f"embedder_{name}"] = {
            "dtype": str(dtype or "default (bf16 on CUDA)"),
            "max_abs_diff_vs_cpu_fp32": float(np.abs(got - ref).max()),
            "min_cosine_vs_cpu_fp32": float((got * ref).sum(1).min()),
            "finite": bool(np.isfinite(got).all()),
        }
    wavs = [c for c in clips[:3]]
    judge_cpu = AurolaReranker.from_pretrained(checkpoint, device="cpu")
    p_ref = np.concatenate(
        [judge_cpu.score_text_to_audio(TEXTS[1], wavs), judge_cpu.score_audio_to_text(wavs[0], TEXTS)]
    )
    for name, dtype in (("cuda_fp32", "float32"), ("cuda_bf16", None)):
        rows = {}
        for share in (True, False):
            judge = AurolaReranker.from_pretrained(checkpoint, device=DEVICE, dtype=dtype, share_prefix=share)
            rows[share] = np.concatenate(
                [judge.score_text_to_audio(TEXTS[1], wavs), judge.score_audio_to_text(wavs[0], TEXTS)]
            )
        out[f"reranker_{name}"] = {
            "max_abs_diff_vs_cpu_fp32": float(np.abs(rows[True] - p_ref).max()),
            "shared_prefix_vs_plain_max_abs_diff": float(np.abs(rows[True] - rows[False]).max()),
        }
    return out


def _stage(args: list[str], log: Path) -> dict:
    """Run ``python ARGS`` from the repository root; its exit code, seconds, logged losses, and the log's
    tail when it failed (the whole log is written to ``log``)."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT)
    text = proc.stdout + proc.stderr
    log.write_text(text)
    losses = [float(x) for x in re.findall(r" loss ([0-9.]+|nan|inf)", text)]
    return {"rc": proc.returncode, "seconds": round(time.perf_counter() - started, 1), "losses": losses,
            "tail": text[-600:] if proc.returncode else ""}  # fmt: skip


def _argv(*parts: str | Path) -> list[str]:
    """Command-line words: strings split on whitespace, paths kept whole."""
    return [w for p in parts for w in (p.split() if isinstance(p, str) else [str(p)])]


def training(out: Path) -> dict:
    from trainer.synthetic import generate_splits

    data = generate_splits(out / "data", n_train=512, n_val=64, n_test=0, seed=0)
    train, val, vocab = data["train"], data["validation"], out / "data" / "tag_vocabulary.json"
    emb, lora, rr = out / "emb", out / "lora", out / "rerank"
    common = f"--device {DEVICE} --bf16 --grad-checkpointing"
    res = {
        "embedder_scratch_bf16_gc": _stage(
            _argv("-m trainer.train --init-tiny --manifest", train, "--output", emb, "--tag-vocab", vocab,
                  "--val-manifest", val, f"--batch-size 64 --max-steps {STEPS} --log-every 10",
                  f"--save-every {max(1, STEPS // 2)}", common),
            out / "emb.log",
        ),
        "embedder_lora_bf16_gc": _stage(
            _argv("-m trainer.train --manifest", train, "--output", lora, "--model", emb / "final",
                  "--tag-vocab", vocab, "--lora-r 8 --lora-alpha 16 --lr 1e-3 --batch-size 64",
                  "--max-steps 20 --log-every 5", common),
            out / "lora.log",
        ),
        "reranker_tiny_bf16_gc": _stage(
            _argv("-m trainer.rerank_train --tiny --manifest", train, "--embedder", emb / "final",
                  "--output", rr, "--val-manifest", val,
                  "--max-steps 30 --head-warmup-steps 10 --candidates 5 --log-every 5", common),
            out / "rerank.log",
        ),
    }  # fmt: skip
    if res["embedder_scratch_bf16_gc"]["rc"] == 0:
        from aurola_qdrant import AurolaEmbedder

        clips = _clips()[:2]
        before = AurolaEmbedder.from_pretrained(emb / "init", device=DEVICE).embed_audio(clips)
        after = AurolaEmbedder.from_pretrained(emb / "final", device=DEVICE).embed_audio(clips)
        res["embedder_export_on_cuda"] = {
            "finite": bool(np.isfinite(after).all()),
            "changed": float(np.abs(after - before).max()),
        }
    if res["reranker_tiny_bf16_gc"]["rc"] == 0:
        from aurola_qdrant.reranker import AurolaReranker

        judge = AurolaReranker.from_pretrained(rr / "final", device=DEVICE)
        res["reranker_export_on_cuda"] = {
            "p_yes": [float(x) for x in judge.score_text_to_audio(TEXTS[0], _clips()[:2])]
        }
    return res


def verdict(r: dict) -> list[str]:
    bad = []
    for name in ("embedder_cuda_fp32", "reranker_cuda_fp32"):
        if r["inference"][name]["max_abs_diff_vs_cpu_fp32"] > 1e-3:
            bad.append(f"{name} differs from CPU fp32")
    if r["inference"]["embedder_cuda_bf16"]["min_cosine_vs_cpu_fp32"] < 0.98:
        bad.append("bf16 embeddings far from fp32")
    for name in ("reranker_cuda_fp32", "reranker_cuda_bf16"):
        if r["inference"][name]["shared_prefix_vs_plain_max_abs_diff"] > 2e-2:
            bad.append(f"{name}: shared prefix differs from the plain path")
    for name, row in r["training"].items():
        if "rc" in row and (
            row["rc"] != 0 or not row["losses"] or not all(math.isfinite(x) for x in row["losses"])
        ):
            bad.append(f"{name} failed or gave non-finite losses")
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/cuda_check"))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    import torch

    from aurola_qdrant.testing import build_tiny_thinker

    args.out.mkdir(parents=True, exist_ok=True)
    name = torch.cuda.get_device_name(0) if DEVICE == "cuda" else DEVICE
    result: dict = {"device": name, "torch": torch.__version__}
    checkpoint = build_tiny_thinker(args.out / "tiny", seed=0)
    result["inference"] = inference(checkpoint)
    print(json.dumps(result["inference"], indent=1), flush=True)
    result["training"] = training(args.out)
    result["failed"] = verdict(result)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    sys.exit(1 if result["failed"] else 0)


if __name__ == "__main__":
    main()
