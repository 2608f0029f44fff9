"""`RerankTrainConfig`: every knob of a re-ranker training run, validated once, saved with the run.

Same style as `trainer.config.TrainConfig`: built from CLI options, a JSON/YAML file, or both (file first,
explicit options override). Defaults follow METHOD.md for real checkpoints (LoRA r=128/α=256, lr 2e-5,
both directions 50/50, hard negatives mined by the embedder); `TINY_RERANK_DEFAULTS` replace some of them
when the starting model is a tiny from-scratch thinker (``tiny=True``), which needs full training at a
much higher learning rate and its LM head trained too.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from trainer.config import read_config_file
from trainer.hard_negatives import MiningConfig

__all__ = ["RERANK_ALPHA_GRID", "TINY_RERANK_DEFAULTS", "RerankTrainConfig"]

# α grid tuned on validation: small values first (α = 0 is "no re-ranking", so the fused validation
# score is never below retrieval alone), then the published range 0.1-3.0.
RERANK_ALPHA_GRID: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, *(round(0.1 * i, 1) for i in range(1, 31)))

# The tiny recipe, measured on the quickstart's data with `bench/rerank_recipe.py` (BENCHMARKS.md, "Tiny
# re-ranker recipe"). A from-scratch thinker has an untrained LM head: without the answer-head warm-up the
# full-vocabulary loss collapses every prompt's last state onto one point within 20 steps and only the class
# prior is learnt (loss H(1/4) = 0.56). With it, all-hard negatives still learn nothing in 200 steps; one
# mined + two random negatives per query reach loss 0.43 and a top-10 AUC of 0.66 for text queries. (At this
# size that still does not beat the embedder's own order: validation usually picks a small or zero alpha.)
TINY_RERANK_DEFAULTS: dict[str, Any] = {
    "full": True,
    "train_head": True,
    "lr": 2e-3,
    "warmup": 0.1,
    "batch_size": 16,
    "head_warmup_steps": 40,
    "head_lr": 1e-2,
    "hard_negatives": 1,
}


@dataclass(frozen=True)
class RerankTrainConfig:
    """One re-ranker training run. Units: lr per optimizer step; warmup a fraction of all steps.

    A sample is one query (a caption for text→audio, a clip for audio→text; directions alternate so each
    is half the data) with its positive and ``negatives`` hard negatives: ``1 + negatives`` prompts,
    each labelled Yes or No. ``batch_size`` queries per device per micro-step.
    """

    manifest: str
    output: str
    embedder: str  # the trained embedder that mines hard negatives (and pairs with this re-ranker)
    model: str | None = None  # starting thinker; None = the embedder's own weights
    val_manifest: str | None = None  # validation data: α is tuned on it after training
    tiny: bool = False  # the starting model is a tiny thinker: apply TINY_RERANK_DEFAULTS
    name: str | None = None  # the export's model id / Qdrant vector name; None = the output folder's name
    # mining (trainer.hard_negatives.MiningConfig)
    negatives: int = 3
    hard_negatives: int | None = None  # how many of `negatives` are mined hard ones (None: all); rest random
    mine_pool: int = 50
    mine_keep: int = 8
    mine_margin: float = 0.0
    mine_ceiling: float | None = 0.98
    group_key: str | None = None
    # schedule
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 2e-5
    warmup: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float | None = 1.0
    # answer-head warm-up: the LM head alone (body frozen) for this many steps before the main loop
    head_warmup_steps: int = 0
    head_lr: float = 1e-2
    # model adaptation
    full: bool = False
    train_head: bool = False  # also train the LM head (full vocabulary rows; sensible for tiny models)
    lora_r: int = 128
    lora_alpha: float = 256.0
    lora_dropout: float = 0.05
    # audio: keep the first max_audio_s seconds (no padding: the re-ranker sees clips as they are)
    max_audio_s: float = 30.0
    # α tuning after training (needs val_manifest)
    candidates: int = 50
    alpha_grid: tuple[float, ...] = RERANK_ALPHA_GRID
    # runtime
    bf16: bool = False
    grad_checkpointing: bool = False
    num_workers: int = 0
    device: str | None = None
    seed: int = 0
    save_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 10

    def __post_init__(self) -> None:
        def bad(name: str, fix: str) -> None:
            raise ValueError(f"RerankTrainConfig.{name}={getattr(self, name)!r} is invalid: {fix}")

        if not self.embedder:
            bad("embedder", "give --embedder, the trained embedder that mines the hard negatives")
        for name in ("negatives", "batch_size", "grad_accum", "lora_r", "keep_checkpoints", "log_every"):
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), int):
                bad(name, "use an integer >= 1")
            if getattr(self, name) < 1:
                bad(name, "use an integer >= 1")
        for name in ("save_every", "num_workers", "head_warmup_steps"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                bad(name, "use an integer >= 0")
        if self.max_steps is not None and self.max_steps < 1:
            bad("max_steps", "use an integer >= 1, or leave it unset to train for --epochs")
        if not (self.epochs > 0 and math.isfinite(self.epochs)):
            bad("epochs", "use a positive number of passes over the manifest")
        for name in ("lr", "lora_alpha", "head_lr"):
            if not getattr(self, name) > 0:
                bad(name, "use a positive number")
        if self.hard_negatives is not None and not 0 <= self.hard_negatives <= self.negatives:
            bad("hard_negatives", f"use 0..negatives ({self.negatives}), or leave it unset for all hard")
        if not 0 <= self.warmup < 1:
            bad("warmup", "use a fraction of the steps in [0, 1), e.g. 0.03")
        if self.weight_decay < 0 or not 0 <= self.lora_dropout < 1:
            bad("weight_decay" if self.weight_decay < 0 else "lora_dropout", "use a value >= 0 (dropout < 1)")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            bad("max_grad_norm", "use a positive norm, or null to disable clipping")
        if not 0 < self.max_audio_s <= 300:
            bad("max_audio_s", "use 0 < max_audio_s <= 300 seconds")
        if self.candidates < 1:
            bad("candidates", "re-rank at least 1 candidate per query when tuning alpha (METHOD.md: 50)")
        if not self.alpha_grid or any(not (a >= 0 and math.isfinite(a)) for a in self.alpha_grid):
            bad("alpha_grid", "give finite alpha values >= 0, e.g. 0,0.05,0.1,0.5,1")
        object.__setattr__(self, "alpha_grid", tuple(float(a) for a in self.alpha_grid))
        if self.name is not None and not any(c.isascii() and c.isalnum() for c in str(self.name)):
            bad("name", "use a name with letters or digits, e.g. 'my-embedder' (it names the Qdrant vector)")
        self.mining()  # validates the mining options with MiningConfig's messages

    def mining(self) -> MiningConfig:
        return MiningConfig(
            pool=self.mine_pool, keep=self.mine_keep, margin=self.mine_margin, ceiling=self.mine_ceiling,
            group_key=self.group_key,
        )  # fmt: skip

    def model_name(self) -> str:
        """The name the export records in aurola_model.json: ``name``, else the output folder's name
        (``runs/emb`` → ``emb``), so two runs' ``final/`` exports get different vector names."""
        return self.name or Path(self.output).resolve().name

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["alpha_grid"] = list(self.alpha_grid)
        return d

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def build(cls, file: str | Path | None = None, **options: Any) -> RerankTrainConfig:
        """File values, then explicit ``options`` (None = not given), then tiny defaults, then the dataclass
        defaults. Raises ValueError for unknown keys, missing required options or invalid values."""
        merged = read_config_file(file, {f.name for f in fields(cls)}) if file else {}
        merged.update({k: v for k, v in options.items() if v is not None})
        if merged.get("tiny"):
            for key, value in TINY_RERANK_DEFAULTS.items():
                merged.setdefault(key, value)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(merged) - known)
        if unknown:
            raise ValueError(f"unknown option(s) {unknown}; known options: {sorted(known)}")
        missing = [k for k in ("manifest", "output", "embedder") if not merged.get(k)]
        if missing:
            raise ValueError(
                f"missing required option(s) {missing}: give --manifest, --output and --embedder"
            )
        if "alpha_grid" in merged:
            merged["alpha_grid"] = tuple(merged["alpha_grid"])
        return cls(**merged)
