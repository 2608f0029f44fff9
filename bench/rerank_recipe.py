"""Tiny re-ranker recipe study: does a from-scratch thinker learn the Yes/No judgement, and does it help?

Starts from a quickstart work folder (`aurola-qdrant quickstart --workdir DIR`: synthetic data, the tiny
embedder, the mined hard negatives) and trains re-rankers from the embedder's weights with the trainer's
own pieces (`RerankDataset`, `YesNoModel`, `head_warmup`, full-vocabulary loss on the first answer token),
one variant per run, reporting for each:

- ``spread``: variance across prompts of the last prompt position's final hidden state (mean over
  dimensions) on a fixed set of validation prompts, at the start and every ``--log-every`` steps. A value
  near 0 means every prompt gets the same answer whatever its content (collapse).
- training loss and accuracy (1 positive : ``negatives`` negatives, so the prior's loss is H(1/(1+n))).
- on VALIDATION data only: each query's top-10 from the embedder re-scored, the AUC of P(Yes) between
  matching and non-matching candidates there, and R@1 of the fusion ``cos + α·P(Yes)`` over α.

Usage (2-core CPU; ~2-4 min per variant):

    python bench/rerank_recipe.py --workdir /tmp/lead/qs --variant no-warmup --steps 60
    python bench/rerank_recipe.py --workdir /tmp/lead/qs --variant all-hard --steps 200
    python bench/rerank_recipe.py --workdir /tmp/lead/qs --variant tiny --steps 300

Variants: ``no-warmup`` (all hard negatives, no head warm-up: the old tiny recipe), ``all-hard`` (head
warm-up, all hard negatives), ``tiny`` (`TINY_RERANK_DEFAULTS`: head warm-up, 1 mined + 2 random).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import pin_threads

VARIANTS = {
    "no-warmup": {"head_warmup_steps": 0, "hard": None},
    "all-hard": {"head_warmup_steps": 40, "hard": None},
    "tiny": {"head_warmup_steps": 40, "hard": 1},
}
ALPHAS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", required=True, help="A finished quickstart work folder.")
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="tiny")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--negatives", type=int, default=3)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--val-queries", type=int, default=200, help="Validation queries per direction.")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    pin_threads(args.threads)

    import numpy as np
    import torch
    from accelerate import Accelerator
    from transformers import get_cosine_schedule_with_warmup

    from aurola_qdrant.audio import load_audio
    from aurola_qdrant.embedder import AurolaEmbedder
    from aurola_qdrant.model import InputBuilder
    from trainer.data import EpochBatches
    from trainer.hard_negatives import MinedNegatives
    from trainer.lora import freeze_for_full
    from trainer.manifest import read_manifest
    from trainer.modeling import load_training_thinker
    from trainer.rerank_config import RerankTrainConfig
    from trainer.rerank_data import RerankCollator, RerankDataset, answer_ids, rerank_prompt
    from trainer.rerank_train import YesNoModel, answer_loss, head_warmup

    work = Path(args.workdir)
    variant = VARIANTS[args.variant]
    torch.manual_seed(args.seed)
    loaded = load_training_thinker(str(work / "embedder" / "final"))
    thinker = loaded.thinker.model
    freeze_for_full(thinker, audio=True)
    thinker.lm_head.weight.requires_grad_(True)
    inputs = InputBuilder(loaded.thinker.tokenizer, loaded.thinker.feature_extractor)
    yes, no = answer_ids(loaded.thinker.tokenizer)
    items = read_manifest(work / "data" / "train.jsonl")
    mined = MinedNegatives.load(work / "reranker" / "negatives.json")
    data = RerankDataset(items, mined, inputs, seed=args.seed, negatives=args.negatives, hard=variant["hard"])
    collate = RerankCollator(inputs)
    model = YesNoModel(thinker)

    # validation: the embedder's top 10 per query (a subset of queries, fixed by the seed)
    val = read_manifest(work / "data" / "validation.jsonl")
    embedder = AurolaEmbedder.from_pretrained(work / "embedder" / "final", device="cpu", batch_size=32)
    audio = np.asarray(embedder.embed_audio([str(i.audio) for i in val]))  # (n_clips, D)
    caps = [(k, c) for k, i in enumerate(val) for c in i.captions]
    text = np.asarray(embedder.embed_text([c for _, c in caps]))  # (n_caps, D)
    del embedder
    sim = text @ audio.T  # (n_caps, n_clips)
    group = np.array([i.metadata.get("combo_id", k) for k, i in enumerate(val)])
    owner = np.array([k for k, _ in caps])
    wavs = [load_audio(i.audio).waveform.astype(np.float32) for i in val]
    rng = np.random.default_rng(args.seed + 1)
    t_q = rng.choice(len(caps), min(args.val_queries, len(caps)), replace=False)
    a_q = rng.choice(len(val), min(args.val_queries, len(val)), replace=False)
    probe = [rerank_prompt(inputs, "t2a", caps[int(q)][1], wavs[int(c)]) for q in t_q[:8] for c in a_q[:4]]

    @torch.no_grad()
    def p_yes(prompts: list) -> np.ndarray:
        model.eval()
        out = []
        for s in range(0, len(prompts), 40):
            logits = model(inputs.collate(prompts[s : s + 40]))
            out.append(torch.softmax(logits[:, [yes, no]], -1)[:, 0].numpy())
        model.train()
        return np.concatenate(out)

    @torch.no_grad()
    def spread() -> float:
        model.eval()
        hidden = model.state(inputs.collate(probe))
        model.train()
        return float(hidden.var(0).mean())

    def validate() -> dict:
        result = {}
        for direction in ("t2a", "a2t"):
            hits = {a: 0 for a in ALPHAS}
            pos, neg = [], []
            queries = t_q if direction == "t2a" else a_q
            for q in queries:
                q = int(q)
                if direction == "t2a":
                    scores = sim[q]
                    top = np.argsort(-scores)[:10]
                    good = group[top] == group[owner[q]]
                    prompts = [rerank_prompt(inputs, "t2a", caps[q][1], wavs[c]) for c in top]
                else:
                    scores = sim[:, q]
                    top = np.argsort(-scores)[:10]
                    good = group[owner[top]] == group[q]
                    prompts = [rerank_prompt(inputs, "a2t", caps[t][1], wavs[q]) for t in top]
                p = p_yes(prompts)
                for a in ALPHAS:
                    hits[a] += int(good[int(np.argmax(scores[top] + a * p))])
                pos += list(p[good])
                neg += list(p[~good])
            pa, na = np.array(pos), np.array(neg)
            auc = float(np.mean(pa[:, None] > na[None, :])) if pa.size and na.size else float("nan")
            result[direction] = {
                "auc_top10": round(auc, 3),
                "R@1": {str(a): round(100 * h / len(queries), 1) for a, h in hits.items()},
            }
        return result

    report: dict = {"variant": args.variant, **variant, "steps": args.steps, "lr": args.lr,
                    "spread_start": round(spread(), 4)}  # fmt: skip
    config = RerankTrainConfig(
        manifest="-", output="-", embedder="-", batch_size=args.batch_size, log_every=10,
        head_warmup_steps=variant["head_warmup_steps"], head_lr=1e-2,
    )  # fmt: skip
    started = time.perf_counter()
    if variant["head_warmup_steps"]:
        head_warmup(model, data, collate, config, Accelerator(cpu=True), (yes, no))
        report["spread_after_head_warmup"] = round(spread(), 4)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    schedule = get_cosine_schedule_with_warmup(optimizer, round(0.1 * args.steps), args.steps)
    step, epoch, window, curve = 0, 0, [], []
    while step < args.steps:
        for keys in EpochBatches(len(data), args.batch_size, args.seed, epoch):
            batch = collate([data[k] for k in keys])
            logits = model(batch["batch"])
            labels = batch["labels"]
            loss = answer_loss(logits, labels, (yes, no))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            right = float(((logits[:, yes] > logits[:, no]) == (labels == 1)).float().mean())
            window.append((float(loss.detach()), right))
            if step % args.log_every == 0 or step == args.steps:
                row = {
                    "step": step,
                    "loss": round(float(np.mean([w[0] for w in window])), 4),
                    "accuracy": round(float(np.mean([w[1] for w in window])), 3),
                    "spread": round(spread(), 4),
                }
                print(json.dumps(row), flush=True)
                curve.append(row)
                window = []
            if step >= args.steps:
                break
        epoch += 1
    report["train_s"] = round(time.perf_counter() - started, 1)
    prior = 1 / (1 + args.negatives)  # share of Yes labels
    report["prior_loss"] = round(float(-(prior * np.log(prior) + (1 - prior) * np.log(1 - prior))), 4)
    report["curve"] = curve
    report["validation"] = validate()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
