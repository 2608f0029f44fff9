"""Tiny re-ranker recipe study: does a from-scratch thinker learn the Yes/No judgement, and does it help?

Starts from a quickstart work folder (`aurola-qdrant quickstart --workdir DIR`: synthetic data, the tiny
embedder, the mined hard negatives) and trains re-rankers from the embedder's weights with the trainer's
own pieces (`RerankDataset`, `YesNoModel`, `head_warmup`, and the shared loop `trainer.loop.fit` with the
re-ranker's task: full-vocabulary loss on the first answer token), one variant per run, reporting for each:

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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import pin_threads

VARIANTS: dict[str, dict[str, Any]] = {
    "no-warmup": {"head_warmup_steps": 0, "hard": None},
    "all-hard": {"head_warmup_steps": 40, "hard": None},
    "tiny": {"head_warmup_steps": 40, "hard": 1},
}
ALPHAS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0)


def _args() -> argparse.Namespace:
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
    return ap.parse_args()


class Probe:
    """Validation: the embedder's top 10 per query (a subset of queries, fixed by the seed), the spread
    of the last prompt state on a fixed probe set, and P(Yes) of the model being trained."""

    def __init__(self, work: Path, model: Any, inputs: Any, answers: tuple[int, int], args: Any) -> None:
        import numpy as np

        from aurola_qdrant.audio import load_audio
        from aurola_qdrant.embedder import AurolaEmbedder
        from trainer.manifest import read_manifest
        from trainer.rerank_data import rerank_prompt

        self.model, self.inputs, self.answers, self.prompt = model, inputs, answers, rerank_prompt
        val = read_manifest(work / "data" / "validation.jsonl")
        embedder = AurolaEmbedder.from_pretrained(work / "embedder" / "final", device="cpu", batch_size=32)
        audio = np.asarray(embedder.embed_audio([str(i.audio) for i in val]))  # (n_clips, D)
        self.caps = [(k, c) for k, i in enumerate(val) for c in i.captions]
        text = np.asarray(embedder.embed_text([c for _, c in self.caps]))  # (n_caps, D)
        self.sim = text @ audio.T  # (n_caps, n_clips)
        self.group = np.array([i.metadata.get("combo_id", k) for k, i in enumerate(val)])
        self.owner = np.array([k for k, _ in self.caps])
        self.wavs = [load_audio(i.audio).waveform.astype(np.float32) for i in val]
        rng = np.random.default_rng(args.seed + 1)
        self.t_q = rng.choice(len(self.caps), min(args.val_queries, len(self.caps)), replace=False)
        self.a_q = rng.choice(len(val), min(args.val_queries, len(val)), replace=False)
        self.probe = [
            rerank_prompt(inputs, "t2a", self.caps[int(q)][1], self.wavs[int(c)])
            for q in self.t_q[:8]
            for c in self.a_q[:4]
        ]

    def p_yes(self, prompts: list) -> Any:
        import numpy as np
        import torch

        yes, no = self.answers
        self.model.eval()
        out = []
        with torch.no_grad():
            for s in range(0, len(prompts), 40):
                logits = self.model(self.inputs.collate(prompts[s : s + 40]))
                out.append(torch.softmax(logits[:, [yes, no]], -1)[:, 0].numpy())
        self.model.train()
        return np.concatenate(out)

    def spread(self) -> float:
        import torch

        self.model.eval()
        with torch.no_grad():
            hidden = self.model.state(self.inputs.collate(self.probe))
        self.model.train()
        return float(hidden.var(0).mean())

    def _top10(self, direction: str, q: int) -> tuple[Any, Any, Any, list]:
        import numpy as np

        scores = self.sim[q] if direction == "t2a" else self.sim[:, q]
        top = np.argsort(-scores)[:10]
        if direction == "t2a":
            good = self.group[top] == self.group[self.owner[q]]
            prompts = [self.prompt(self.inputs, "t2a", self.caps[q][1], self.wavs[c]) for c in top]
        else:
            good = self.group[self.owner[top]] == self.group[q]
            prompts = [self.prompt(self.inputs, "a2t", self.caps[t][1], self.wavs[q]) for t in top]
        return scores, top, good, prompts

    def validate(self) -> dict:
        import numpy as np

        result = {}
        for direction, queries in (("t2a", self.t_q), ("a2t", self.a_q)):
            hits = {a: 0 for a in ALPHAS}
            pos, neg = [], []
            for q in queries:
                scores, top, good, prompts = self._top10(direction, int(q))
                p = self.p_yes(prompts)
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


def _train(args: Any, variant: dict, model: Any, data: Any, collate: Any, answers: tuple[int, int],
           probe: Probe, report: dict) -> list[dict]:  # fmt: skip
    """Head warm-up (if the variant has one), then the trainer's own loop and task (full-vocabulary answer
    loss) in one process without checkpoints; returns the curve printed along the way."""
    from accelerate import Accelerator

    from trainer.events import Event, StepEvent
    from trainer.loop import LoopPlan, fit
    from trainer.optim import adamw_cosine
    from trainer.rerank_config import RerankTrainConfig
    from trainer.rerank_task import YesNoTask
    from trainer.rerank_train import head_warmup

    config = RerankTrainConfig(
        manifest="-", output="-", embedder="-", batch_size=args.batch_size, log_every=10,
        head_warmup_steps=variant["head_warmup_steps"], head_lr=1e-2,
    )  # fmt: skip
    accelerator = Accelerator(cpu=True)
    if variant["head_warmup_steps"]:
        head_warmup(model, data, collate, config, accelerator, answers)
        report["spread_after_head_warmup"] = round(probe.spread(), 4)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer, schedule = adamw_cosine(params, lr=args.lr, weight_decay=0.0, warmup=0.1, total=args.steps)
    plan = LoopPlan(
        "recipe", args.steps, args.batch_size, seed=args.seed, max_grad_norm=1.0, log_every=args.log_every,
        num_workers=None,
    )  # fmt: skip
    curve: list[dict] = []

    def row(event: Event) -> None:
        if isinstance(event, StepEvent):
            accuracy = round(event.accuracy or 0.0, 3)
            curve.append({"step": event.step, "loss": round(event.loss, 4), "accuracy": accuracy,
                          "spread": round(probe.spread(), 4)})  # fmt: skip
            print(json.dumps(curve[-1]), flush=True)

    task = YesNoTask(data, collate, answers, world=1)
    fit(task, model, optimizer, schedule, accelerator, plan, params=params, progress=row)
    return curve


def main() -> None:
    args = _args()
    pin_threads(args.threads)

    import numpy as np
    import torch

    from aurola_qdrant.model import InputBuilder
    from trainer.hard_negatives import MinedNegatives
    from trainer.lora import freeze_for_full
    from trainer.manifest import read_manifest
    from trainer.modeling import load_training_thinker
    from trainer.rerank_data import RerankCollator, RerankDataset, answer_ids
    from trainer.rerank_train import YesNoModel

    work = Path(args.workdir)
    variant = VARIANTS[args.variant]
    torch.manual_seed(args.seed)
    loaded = load_training_thinker(str(work / "embedder" / "final"))
    thinker = loaded.thinker.model
    freeze_for_full(thinker, audio=True)
    thinker.lm_head.weight.requires_grad_(True)
    inputs = InputBuilder(loaded.thinker.tokenizer, loaded.thinker.feature_extractor)
    answers = answer_ids(loaded.thinker.tokenizer)
    items = read_manifest(work / "data" / "train.jsonl")
    mined = MinedNegatives.load(work / "reranker" / "negatives.json")
    data = RerankDataset(items, mined, inputs, seed=args.seed, negatives=args.negatives, hard=variant["hard"])
    model = YesNoModel(thinker)
    probe = Probe(work, model, inputs, answers, args)
    report: dict = {"variant": args.variant, **variant, "steps": args.steps, "lr": args.lr,
                    "spread_start": round(probe.spread(), 4)}  # fmt: skip
    started = time.perf_counter()
    curve = _train(args, variant, model, data, RerankCollator(inputs), answers, probe, report)
    report["train_s"] = round(time.perf_counter() - started, 1)
    prior = 1 / (1 + args.negatives)  # share of Yes labels
    report["prior_loss"] = round(float(-(prior * np.log(prior) + (1 - prior) * np.log(1 - prior))), 4)
    report["curve"] = curve
    report["validation"] = probe.validate()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
