"""`RerankTrainConfig`: every knob of a re-ranker training run, validated once, saved with the run.

Same style as `trainer.config.TrainConfig`: built from CLI options, a JSON/YAML file, or both (file first,
explicit options override). Defaults follow METHOD.md for real checkpoints (LoRA r=128/α=256, lr 2e-5,
both directions 50/50, hard negatives mined by the embedder); `TINY_RERANK_DEFAULTS` replace some of them
when the starting model is a tiny from-scratch thinker (``tiny=True``), which needs full training at a
much higher learning rate and its LM head trained too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainer.config import export_name, given_options, merge_options, save_config
from trainer.knobs import knob

if TYPE_CHECKING:  # hard_negatives imports numpy and the audio stack; the CLI's help imports this module
    from trainer.hard_negatives import MiningConfig

__all__ = ["TINY_RERANK_DEFAULTS", "RerankTrainConfig"]  # RERANK_ALPHA_GRID: see __getattr__


def _alpha_grid() -> tuple[float, ...]:
    # imported on use: aurola_qdrant.search loads qdrant-client, and the CLI's help imports this module
    from aurola_qdrant.search.fusion import ALPHA_GRID

    return ALPHA_GRID


def __getattr__(name: str) -> Any:
    if name == "RERANK_ALPHA_GRID":  # the fusion module's grid, under its old name here
        return _alpha_grid()
    raise AttributeError(name)


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
    """One re-ranker training run; each field's help and unit are in its `knob` (the CLI's options).

    A sample is one query (a caption for text→audio, a clip for audio→text; directions alternate so each
    is half the data) with its positive and ``negatives`` hard negatives: ``1 + negatives`` prompts,
    each labelled Yes or No. ``batch_size`` queries per device per micro-step.
    """

    manifest: str = knob(help="Training manifest (JSONL)", path="file")
    output: str = knob(help="Run folder (checkpoints, final/ export)", path="dir")
    embedder: str = knob(help="Trained embedder (folder/name) that mines hard negatives and pairs with this")
    model: str | None = knob(None, help="Starting thinker", default_text="the embedder's weights")
    val_manifest: str | None = knob(
        None, path="file", help="Validation manifest: after training, alpha per direction is tuned on it "
        "(never the test set) and saved in final/aurola_reranker.json",
    )  # fmt: skip
    tiny: bool = knob(False, help="Tiny from-scratch model: use TINY_RERANK_DEFAULTS")
    name: str | None = knob(
        None, help="Model id recorded in the export (final/aurola_model.json)",
        default_text="the --output folder's name",
    )  # fmt: skip
    # mining (trainer.hard_negatives.MiningConfig)
    negatives: int = knob(3, help="Negatives per query")
    hard_negatives: int | None = knob(
        None, help="How many of them are mined hard ones, the rest random", default_text="all"
    )
    mine_pool: int = knob(50, help="Ranking depth negatives come from")
    mine_keep: int = knob(8, help="Hard negatives kept per query")
    mine_margin: float = knob(0.0, help="Skip candidates above positive cos - margin", unit="cosine")
    mine_ceiling: float | None = knob(
        0.98, help="Skip candidates above this (likely unlabelled matches)", unit="cosine"
    )
    group_key: str | None = knob(None, help="Metadata field marking clips that match each other")
    # schedule
    epochs: float = knob(1.0, help="Passes over the manifest")
    max_steps: int | None = knob(None, help="Training length; overrides --epochs", unit="optimizer steps")
    batch_size: int = knob(8, help="Queries per device per micro-step")
    grad_accum: int = knob(1, help="Micro-steps per optimizer step")
    lr: float = knob(2e-5, help="Peak learning rate")
    warmup: float = knob(0.03, help="LR warm-up", unit="fraction of all steps")
    weight_decay: float = knob(0.0, help="AdamW weight decay")
    max_grad_norm: float | None = knob(1.0, help="Gradient norm clip; null disables", cli=False)
    # answer-head warm-up: the LM head alone (body frozen) for this many steps before the main loop
    head_warmup_steps: int = knob(0, help="LM head trained alone first", unit="optimizer steps")
    head_lr: float = knob(1e-2, help="LR of the head warm-up")
    # model adaptation
    full: bool = knob(False, help="Full fine-tuning instead of LoRA")
    train_head: bool = knob(False, help="Also train the LM head (full vocabulary rows)")
    lora_r: int = knob(128, help="LoRA rank")
    lora_alpha: float = knob(256.0, help="LoRA scale")
    lora_dropout: float = knob(0.05, help="LoRA dropout")
    # audio: keep the first max_audio_s seconds (no padding: the re-ranker sees clips as they are)
    max_audio_s: float = knob(30.0, help="Clips are cropped to their first", unit="seconds", cli=False)
    # α tuning after training (needs val_manifest)
    candidates: int = knob(50, help="K re-ranked per query when tuning alpha")
    alpha_grid: tuple[float, ...] = knob(
        factory=_alpha_grid, help="Comma-separated alpha values tried on validation", cli=False
    )
    # runtime
    bf16: bool = knob(False, help="bf16 mixed precision")
    grad_checkpointing: bool = knob(False, help="Recompute activations: less memory, slower")
    num_workers: int = knob(0, help="DataLoader workers decoding audio")
    device: str | None = knob(None, help="'cpu' forces CPU", default_text="what accelerate finds")
    seed: int = knob(0, help="Data order and sampling seed")
    save_every: int = knob(500, help="Checkpoint interval; 0 = only at the end", unit="optimizer steps")
    keep_checkpoints: int = knob(2, help="Checkpoints kept", cli=False)
    log_every: int = knob(10, help="Progress line interval", unit="optimizer steps")

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
        from trainer.hard_negatives import MiningConfig

        return MiningConfig(
            pool=self.mine_pool, keep=self.mine_keep, margin=self.mine_margin, ceiling=self.mine_ceiling,
            group_key=self.group_key,
        )  # fmt: skip

    def model_name(self) -> str:
        """The name the export records in aurola_model.json (`trainer.config.export_name`)."""
        return export_name(self.name, self.output)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["alpha_grid"] = list(self.alpha_grid)
        return d

    def save(self, path: str | Path) -> Path:
        return save_config(self.to_dict(), path)

    @classmethod
    def build(cls, file: str | Path | None = None, **options: Any) -> RerankTrainConfig:
        """File values, then explicit ``options`` (None = not given), then tiny defaults, then the dataclass
        defaults. Raises ValueError for unknown keys, missing required options or invalid values."""
        given = given_options(cls, file, options)
        tiny = TINY_RERANK_DEFAULTS if given.get("tiny") else None
        required = ("manifest", "output", "embedder")
        merged = merge_options(cls, given, tiny, required, "give --manifest, --output and --embedder")
        if "alpha_grid" in merged:
            merged["alpha_grid"] = tuple(merged["alpha_grid"])
        return cls(**merged)
