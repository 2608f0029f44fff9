"""Ablation: Hybrid-NCE (alpha 1, lambda 0.2, beta 0.1) vs InfoNCE with equal budgets, tiny thinkers on CPU.

Both losses train the same from-scratch tiny thinker (same init seed, same data order, same steps, batch and
learning rate, same tag vocabulary file, which InfoNCE simply ignores) on synthetic clips whose tags name
only the sound type and the pitch (43 tag-cluster sets), so that in a batch of 64 a tag-caption anchor
has on average ~0.5 other samples with the same cluster set that also drew their tag caption: the extra
positives of Hybrid-NCE actually fire. (With all four attributes tagged, a cluster set is almost unique
to one combination and the extra positives rarely fire.)

Held-out test clips (combinations seen in training, new renderings) are scored two ways:

- caption queries: METHOD.md protocol through Qdrant (`trainer.evaluate.evaluate`): T2A/A2T R@1/5/10 over
  the long captions (5 per clip);
- tag-style queries: each test clip's tag caption ("pink noise, low-pitched") queries the test audio;
  correct = every test clip with the same tag-cluster set (several per query). Reported: hit@1 (the top
  clip is correct) and P@10 (share of the top 10 that are correct; a query has ~n_test/43 positives).

    python bench/hybrid_vs_infonce.py --out /tmp/hvi            # 3 seeds x 2 losses (CPU, a few minutes each)

Prints one line per run, the mean +- std over seeds, and a JSON summary (``--json``).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from aurola_qdrant import AurolaEmbedder  # noqa: E402
from trainer.config import TINY_DEFAULTS, TrainConfig  # noqa: E402
from trainer.evaluate import evaluate  # noqa: E402
from trainer.manifest import ManifestItem, load_tag_vocabulary, read_manifest, tag_cluster_set  # noqa: E402
from trainer.synthetic import generate_splits  # noqa: E402
from trainer.train import train  # noqa: E402

# The trainer's --init-tiny recipe (TINY_DEFAULTS): 64-wide thinker at init std 0.1, no 2 s padding.
TINY = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "audio_d_model": 64,
    "audio_ffn_dim": 128,
    **TINY_DEFAULTS["tiny_config"],
}


def tag_metrics(emb: AurolaEmbedder, items: list[ManifestItem], vocab: dict[str, int]) -> dict[str, float]:
    """hit@1 and P@10 (percent) of tag-caption queries; correct = same tag-cluster set."""
    sets = [tag_cluster_set(item.tags, vocab) for item in items]
    text = emb.embed_text([", ".join(item.tags) for item in items])  # (n, d)
    audio = emb.embed_audio([item.audio for item in items])  # (n, d)
    sim = text @ audio.T  # (n, n)
    correct = np.array([[a == b for b in sets] for a in sets])  # (n, n)
    order = np.argsort(-sim, axis=1, kind="stable")[:, :10]  # (n, 10)
    top = np.take_along_axis(correct, order, axis=1)  # (n, 10)
    return {
        "tag_hit@1": float(100 * top[:, 0].mean()),
        "tag_P@10": float(100 * top.mean()),
        "tag_positives": float(correct.sum(axis=1).mean()),
    }


def run(args: argparse.Namespace, loss: str, seed: int, data: dict[str, Path]) -> dict[str, Any]:
    out = Path(args.out) / f"{loss}_seed{seed}"
    config = TrainConfig(
        manifest=str(data["train"]), output=str(out), init_tiny=True, tiny_config={**TINY, "seed": seed},
        full=True, loss=loss, tag_vocab=str(data["vocab"]), batch_size=args.batch_size, max_steps=args.steps,
        lr=args.lr, warmup=TINY_DEFAULTS["warmup"], audio_policy=TINY_DEFAULTS["audio_policy"], seed=seed,
        device="cpu", save_every=0, log_every=max(1, args.steps // 5),
    )  # fmt: skip
    started = time.perf_counter()
    final = train(config)
    train_s = time.perf_counter() - started
    emb = AurolaEmbedder.from_pretrained(final, device="cpu", batch_size=32)
    test = read_manifest(data["test"])
    result = evaluate(test, emb)
    row: dict[str, Any] = {"loss": loss, "seed": seed, "train_s": round(train_s, 1)}
    row.update({f"t2a_{k}": v for k, v in result.t2a.items()})
    row.update({f"a2t_{k}": v for k, v in result.a2t.items()})
    row["caption_mean"] = result.mean
    row.update(tag_metrics(emb, test, load_tag_vocabulary(data["vocab"])))
    return row


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, tuple[float, float]]]:
    keys = [k for k in rows[0] if k not in ("loss", "seed")]
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for loss in sorted({r["loss"] for r in rows}):
        mine = [r for r in rows if r["loss"] == loss]
        out[loss] = {
            k: (
                statistics.mean(r[k] for r in mine),
                statistics.stdev(r[k] for r in mine) if len(mine) > 1 else 0.0,
            )
            for k in keys
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="Work folder (data and runs).")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-test", type=int, default=300)
    parser.add_argument(
        "--steps", type=int, default=1364, help="Optimizer steps per run (equal for both losses)."
    )
    parser.add_argument("--batch-size", type=int, default=TINY_DEFAULTS["batch_size"])
    parser.add_argument("--lr", type=float, default=TINY_DEFAULTS["lr"])
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--tag-attributes", default="sound_type,pitch")
    parser.add_argument("--json", default=None, help="Also write rows and summary to this file.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data_dir = Path(args.out) / "data"
    if not (data_dir / "test.jsonl").is_file():
        generate_splits(
            data_dir, n_train=args.n_train, n_val=0, n_test=args.n_test, seed=args.data_seed,
            tag_attributes=tuple(args.tag_attributes.split(",")),
        )  # fmt: skip
    data = {
        "train": data_dir / "train.jsonl",
        "test": data_dir / "test.jsonl",
        "vocab": data_dir / "tag_vocabulary.json",
    }
    rows = []
    for seed in args.seeds:
        for loss in ("infonce", "hybrid"):
            row = run(args, loss, seed, data)
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = summarise(rows)
    for loss, stats in summary.items():
        print(loss, " ".join(f"{k}={m:.2f}+-{s:.2f}" for k, (m, s) in stats.items()), flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"args": vars(args), "rows": rows, "summary": summary}, indent=1)
        )


if __name__ == "__main__":
    main()
