"""`TrainConfig`: every knob of an embedder training run, validated once, logged and saved with the run.

Built from CLI options, from a JSON/YAML file (``TrainConfig.from_file``), or both (file first, explicit CLI
options override it). Defaults follow the AuroLA recipe in METHOD.md for real checkpoints (LoRA r=128/α=256,
lr 1e-4, 3 % warm-up, weight decay 0, Hybrid-NCE α=1, λ=0.2, β=0.1, τ=0.05); ``--init-tiny`` runs get
their own defaults (`TINY_DEFAULTS`) because a from-scratch 64-wide model needs full training at a much
higher learning rate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainer.knobs import knob

if TYPE_CHECKING:  # the loss module imports torch; this module stays light for the CLI's help
    from trainer.losses import HybridNCEConfig

__all__ = ["TINY_DEFAULTS", "TrainConfig", "read_config_file"]

# Defaults that replace the recipe's when --init-tiny is used and the option was not given explicitly.
# Measured on the 2,000-clip synthetic set (`aurola-qdrant synth DIR --train 2000 --val 200 --test 200`; eval
# through Qdrant on 200 held-out clips, 1,000 caption queries): a 64-wide thinker initialised at std 0.1, full
# training, Hybrid-NCE, lr 2e-3, batch 32, 22 epochs (1,364 steps) trains in 217 s on an idle 2-core
# CPU and reaches T2A R@1/5/10 = 61.5/98.0/99.7 % (16 epochs: 177 s, R@5 78.9 %). What did not work: the
# checkpoint builder's parity init (std 0.25) at lr 1e-3 stays at chance; std 0.02 learns slowly; lr >= 5e-3
# collapses every embedding to one point (loss stuck at ln B). The released recipe's 2 s zero-padding is off
# here: the synthetic clips are 1-2 s and inference never pads.
TINY_DEFAULTS: dict[str, Any] = {
    "full": True,
    "lr": 2e-3,
    "batch_size": 32,
    "epochs": 22,
    "warmup": 0.03,
    "audio_policy": False,
    "tiny_config": {"init_std": 0.1},
}


def read_config_file(path: str | Path, known: set[str]) -> dict[str, Any]:
    """The option mapping of a JSON or YAML run config (keys are field names; '-' may replace '_').

    Shared by the embedder's and the re-ranker's training configs. Raises ValueError for a file that is
    not a mapping or names an option outside ``known``."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a training config must be a mapping of options, got {type(data).__name__}")
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown option(s) {unknown}; known options: {sorted(known)}")
    return data


def given_options(cls: type, file: str | Path | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """What a run of config ``cls`` was given: ``file``'s values, then explicit ``options`` (None = not
    given)."""
    given = read_config_file(file, {f.name for f in fields(cls)}) if file else {}
    given.update({k: v for k, v in options.items() if v is not None})
    return given


def merge_options(
    cls: type, given: Mapping[str, Any], tiny: Mapping[str, Any] | None, required: tuple[str, ...], hint: str
) -> dict[str, Any]:
    """The keyword arguments of run config ``cls``: ``given`` (`given_options`), then ``tiny`` defaults
    (for a tiny run), then the dataclass defaults (left to the constructor). Shared by both trainings'
    configs. Raises ValueError for unknown keys (listing the known ones) and missing ``required``
    options (with ``hint``)."""
    known = {f.name for f in fields(cls)}
    merged = dict(given)
    for key, value in (tiny or {}).items():
        merged.setdefault(key, value)
    unknown = sorted(set(merged) - known)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}; known options: {sorted(known)}")
    missing = [k for k in required if not merged.get(k)]
    if missing:
        raise ValueError(f"missing required option(s) {missing}: {hint}")
    return merged


def export_name(name: str | None, output: str) -> str:
    """The name an export records in aurola_model.json: ``name``, else the output folder's name
    (``runs/emb`` → ``emb``), so two runs' ``final/`` exports get different vector names."""
    return name or Path(output).resolve().name


def save_config(config: Mapping[str, Any], path: str | Path) -> Path:
    """Write a run config (``to_dict()``) as sorted, indented JSON; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(config), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class TrainConfig:
    """One embedder training run; each field's help and unit are in its `knob` (the CLI's options).

    Batches: ``batch_size`` pairs per device per micro-step. The contrastive batch is
    ``batch_size * world_size`` (embeddings gathered across devices: negatives per row = that - 1).
    ``grad_accum`` sums gradients of several contrastive batches before one optimizer step: it multiplies
    the pairs per step but NOT the pool of in-batch negatives (each micro-batch's loss only sees its own).
    """

    manifest: str = knob(help="Training manifest (JSONL)", path="file")
    output: str = knob(help="Run folder (checkpoints, final/ export)", path="dir")
    model: str | None = knob(None, help="Starting checkpoint: folder, hub repo id or registry name")
    init_tiny: bool = knob(False, help="Train a fresh tiny thinker into <output>/init/ (no download)")
    tiny_config: Mapping[str, Any] = knob(
        factory=dict,
        help='Tiny sizes (TinyThinkerConfig overrides): JSON or key=value,… e.g. "hidden_size=128"',
        cli=False,  # the train command parses its own --tiny-config (JSON or key=value pairs)
    )
    val_manifest: str | None = knob(
        None, help="Validation manifest: R@k logged at --eval-every and at the end", path="file"
    )
    tag_vocab: str | None = knob(
        None, help="Tag -> cluster vocabulary (JSON/TSV) for Hybrid-NCE extra positives", path="file"
    )
    name: str | None = knob(
        None, help="Model id and Qdrant vector name recorded in the export (final/aurola_model.json)",
        default_text="the --output folder's name",
    )  # fmt: skip
    # schedule
    epochs: float = knob(2.0, help="Passes over the manifest")
    max_steps: int | None = knob(None, help="Training length; overrides --epochs", unit="optimizer steps")
    batch_size: int = knob(32, help="Pairs per device per micro-step")
    grad_accum: int = knob(1, help="Micro-steps per optimizer step (more pairs per step, NOT more negatives)")
    lr: float = knob(1e-4, help="Peak learning rate")
    warmup: float = knob(0.03, help="LR warm-up", unit="fraction of all steps")
    weight_decay: float = knob(0.0, help="AdamW weight decay")
    max_grad_norm: float | None = knob(1.0, help="Gradient norm clip; null disables", cli=False)
    # model adaptation
    full: bool = knob(False, help="Full fine-tuning instead of LoRA")
    lora_r: int = knob(128, help="LoRA rank")
    lora_alpha: float = knob(256.0, help="LoRA scale (not the loss's --alpha)")
    lora_dropout: float = knob(0.05, help="LoRA dropout")
    # loss (Hybrid-NCE; loss="infonce" forces lam = beta = 0, alpha = 1)
    loss: str = knob(
        "hybrid", help="hybrid = Hybrid-NCE; infonce = plain InfoNCE (--alpha 1, --lam 0, --beta 0)",
        choices=("hybrid", "infonce"),
    )  # fmt: skip
    alpha: float = knob(
        1.0, help="Hybrid-NCE α: weight of the positive mass in the denominator (> 0; 1 = the usual softmax)"
    )
    lam: float = knob(
        0.2,
        help="Hybrid-NCE λ: weight of the extra positives, clips sharing a tag cluster "
        "(>= 0; 0 ignores them)",
    )
    beta: float = knob(
        0.1, help="Hybrid-NCE β: hard-negative sharpness (>= 0; 0 weights all negatives equally)"
    )
    tau: float = knob(0.05, help="Temperature dividing the cosines (> 0)")
    symmetric: bool = knob(False, help="Add the text-anchored direction")
    # optional text-only warm-up stage (InfoNCE on text pairs), merged before the main stage
    warmup_stage_steps: int = knob(
        0, help="Text-only InfoNCE warm-up before the main stage; 0 = none", unit="optimizer steps"
    )
    warmup_pairs: str | None = knob(
        None, help='JSONL of {"a","b"} text pairs for the warm-up', path="file",
        default_text="pairs of a clip's captions",
    )  # fmt: skip
    warmup_lora_r: int = knob(64, help="LoRA rank of the warm-up stage", cli=False)
    warmup_lora_alpha: float = knob(128.0, help="LoRA scale of the warm-up stage", cli=False)
    warmup_lr: float = knob(2e-4, help="Peak learning rate of the warm-up stage", cli=False)
    # audio policy at training time (METHOD.md): pad short clips with zeros, keep the start of long ones
    audio_policy: bool = knob(True, help="Pad clips < 2 s with zeros and crop > 30 s (METHOD.md)")
    min_audio_s: float = knob(2.0, help="Clips shorter than this are zero-padded", unit="seconds", cli=False)
    max_audio_s: float = knob(30.0, help="Clips are cropped to their first", unit="seconds", cli=False)
    # runtime
    bf16: bool = knob(False, help="bf16 mixed precision")
    grad_checkpointing: bool = knob(False, help="Recompute activations: less memory, slower")
    num_workers: int = knob(0, help="DataLoader workers decoding audio")
    device: str | None = knob(None, help="'cpu' forces CPU", default_text="what accelerate finds")
    seed: int = knob(0, help="Data order and init seed")
    save_every: int = knob(500, help="Checkpoint interval; 0 = only at the end", unit="optimizer steps")
    keep_checkpoints: int = knob(2, help="Checkpoints kept", cli=False)
    log_every: int = knob(10, help="Progress line interval", unit="optimizer steps")
    eval_every: int = knob(
        0, help="Validation interval (with --val-manifest); 0 = at the end only", unit="optimizer steps"
    )

    def __post_init__(self) -> None:
        def bad(name: str, fix: str) -> None:
            raise ValueError(f"TrainConfig.{name}={getattr(self, name)!r} is invalid: {fix}")

        if not self.init_tiny and not self.model:
            bad("model", "give --model (a folder, hub id or registry name) or use --init-tiny")
        for name in ("batch_size", "grad_accum", "lora_r", "warmup_lora_r", "keep_checkpoints", "log_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                bad(name, "use an integer >= 1")
        for name in ("save_every", "num_workers", "warmup_stage_steps", "eval_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                bad(name, "use an integer >= 0")
        if self.max_steps is not None and self.max_steps < 1:
            bad("max_steps", "use an integer >= 1, or leave it unset to train for --epochs")
        if not (self.epochs > 0 and math.isfinite(self.epochs)):
            bad("epochs", "use a positive number of passes over the manifest")
        for name in ("lr", "warmup_lr", "lora_alpha", "warmup_lora_alpha"):
            if not getattr(self, name) > 0:
                bad(name, "use a positive number")
        if not 0 <= self.warmup < 1:
            bad("warmup", "use a fraction of the steps in [0, 1), e.g. 0.03")
        if self.weight_decay < 0 or not 0 <= self.lora_dropout < 1:
            bad("weight_decay" if self.weight_decay < 0 else "lora_dropout", "use a value >= 0 (dropout < 1)")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            bad("max_grad_norm", "use a positive norm, or null to disable clipping")
        if self.loss not in ("hybrid", "infonce"):
            bad("loss", "use 'hybrid' (Hybrid-NCE) or 'infonce'")
        if not 0 < self.min_audio_s <= self.max_audio_s <= 300:
            bad("min_audio_s", "need 0 < min_audio_s <= max_audio_s <= 300 seconds")
        if self.name is not None and not any(c.isascii() and c.isalnum() for c in str(self.name)):
            bad("name", "use a name with letters or digits, e.g. 'my-embedder' (it names the Qdrant vector)")
        self.loss_config()  # validates alpha, lam, beta, tau with HybridNCEConfig's messages

    # ----------------------------------------------------------------- derived
    def loss_config(self) -> HybridNCEConfig:
        """The Hybrid-NCE hyper-parameters of the main stage (InfoNCE = alpha 1, lam 0, beta 0)."""
        from trainer.losses import HybridNCEConfig

        if self.loss == "infonce":
            return HybridNCEConfig(alpha=1.0, lam=0.0, beta=0.0, tau=self.tau, symmetric=self.symmetric)
        return HybridNCEConfig(self.alpha, self.lam, self.beta, self.tau, self.symmetric)

    def batch_summary(self, world_size: int) -> str:
        """The effective batch, stated the way it matters for a contrastive loss."""
        contrastive = self.batch_size * world_size
        return (
            f"batch: {self.batch_size} pairs/device x {world_size} device(s) = {contrastive} pairs per "
            f"contrastive batch ({contrastive - 1} in-batch negatives per row); x grad_accum "
            f"{self.grad_accum} = {contrastive * self.grad_accum} pairs per optimizer step "
            "(accumulation does NOT add negatives)"
        )

    # ---------------------------------------------------------------- file i/o
    def model_name(self) -> str:
        """The name the export records in aurola_model.json (`export_name`)."""
        return export_name(self.name, self.output)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tiny_config"] = dict(self.tiny_config)
        return d

    def save(self, path: str | Path) -> Path:
        return save_config(self.to_dict(), path)

    @classmethod
    def build(cls, file: str | Path | None = None, **options: Any) -> TrainConfig:
        """File values, then explicit ``options`` (None = not given), then tiny-run defaults, then the
        dataclass defaults. Raises ValueError for unknown keys or invalid values."""
        given = given_options(cls, file, options)
        tiny = TINY_DEFAULTS if given.get("init_tiny") else None
        hint = "give --manifest and --output (or a config file)"
        merged = merge_options(cls, given, tiny, ("manifest", "output"), hint)
        if tiny:  # size overrides (--tiny-config hidden_size=128) keep the tiny init scale unless they set it
            merged["tiny_config"] = {**TINY_DEFAULTS["tiny_config"], **dict(given.get("tiny_config") or {})}
        return cls(**merged)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        return cls.build(path, **overrides)
