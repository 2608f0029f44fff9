"""The offline quickstart's sizes, resumable stages and training side: synthetic archive → embedder →
re-ranker → held-out evaluation.

`aurola-qdrant quickstart` (`aurola_quickstart.cli`) chains these stages with the ingest and search stages
of `aurola_quickstart.archive`. Each stage writes its outputs under the work folder and, last, a ``DONE``
marker; a later run skips a stage whose marker exists (``force`` redoes
everything). Progress goes to the ``say`` callback (one line each) and to the logs.

    <workdir>/data/            synthetic WAVs, train/validation/test manifests, tag vocabulary
    <workdir>/embedder/final/  tiny embedder trained from scratch with Hybrid-NCE
    <workdir>/reranker/final/  tiny re-ranker (from the embedder's weights) with α tuned on validation
    <workdir>/results.json     held-out R@k with and without re-ranking, stage timings
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainer.events import Event

__all__ = [
    "QuickstartConfig",
    "Say",
    "Stages",
    "evaluate_stage",
    "prepare_data",
    "train_embedder",
    "train_reranker",
]

log = logging.getLogger(__name__)

Say = Callable[[str], None]
Progress = Callable[["Event"], None]  # trainer.events


@dataclass(frozen=True)
class QuickstartConfig:
    """Sizes and budgets of one quickstart. ``small`` is the reduced mode the test suite runs."""

    workdir: Path
    small: bool = False
    seed: int = 0
    n_train: int = 2000
    n_val: int = 200
    n_test: int = 200
    # The embedder: the trainer's --init-tiny recipe (trainer.config.TINY_DEFAULTS: init std 0.1, lr 2e-3,
    # batch 32, 22 epochs: held-out T2A R@5 0.98 on this data in ~3.6 min); None = that default.
    embed_epochs: float | None = None
    embed_batch: int | None = None
    embed_lr: float | None = None
    # The re-ranker: trainer.rerank_config.TINY_RERANK_DEFAULTS (answer-head warm-up, then 1 mined + 2
    # random negatives per query, lr 2e-3), for rerank_steps steps of rerank_batch queries.
    rerank_steps: int = 150
    rerank_batch: int = 16
    rerank_negatives: int = 3
    rerank_head_steps: int | None = None  # None: the tiny default (40)
    candidates: int = 10  # K re-ranked per query (R@1/5/10 only look at the top 10)
    # The exports' identity (aurola_model.json): the model id and Qdrant vector name their collections record.
    embedder_name: str = "quickstart-embedder"
    reranker_name: str = "quickstart-reranker"

    def __post_init__(self) -> None:
        if min(self.n_train, self.n_val, self.n_test) < 1:
            raise ValueError(f"split sizes {self.n_train}/{self.n_val}/{self.n_test}: each needs >= 1 clip")
        if (self.embed_batch or 0) > self.n_train or self.rerank_batch > self.n_train:
            raise ValueError(f"batch sizes must not exceed n_train={self.n_train}")

    @classmethod
    def make(cls, workdir: str | Path, *, small: bool = False, seed: int = 0) -> QuickstartConfig:
        """The full quickstart, or the reduced one (``small``: ~1/5 of the data and steps)."""
        if small:
            return cls(
                Path(workdir), True, seed, n_train=400, n_val=40, n_test=40, embed_epochs=12.0,
                embed_batch=32, rerank_steps=25, rerank_batch=8, rerank_head_steps=10, candidates=5,
            )  # fmt: skip
        return cls(Path(workdir), False, seed)

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    def manifest(self, split: str) -> Path:
        return self.data / f"{split}.jsonl"

    @property
    def embedder(self) -> Path:
        return self.workdir / "embedder" / "final"

    @property
    def reranker(self) -> Path:
        return self.workdir / "reranker" / "final"


class Stages:
    """Runs named stages once: a stage whose ``<folder>/DONE`` exists is skipped (unless ``force``, which
    first deletes the quickstart's own outputs in the work folder, nothing else there). Wall time per stage
    is kept in ``timings`` (skipped stages: 0)."""

    OUTPUTS = ("data", "embedder", "reranker", "eval", "results.json")

    def __init__(self, workdir: Path, *, force: bool, say: Say) -> None:
        if force:
            for name in self.OUTPUTS:
                path = workdir / name
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir, self.say = workdir, say
        self.timings: dict[str, float] = {}

    def run(self, name: str, marker: Path, title: str, fn: Callable[[], Any]) -> bool:
        """Run ``fn`` unless ``marker`` exists; returns True when it ran."""
        self.say(f"== {title}")
        if marker.is_file():
            self.say(f"   done in an earlier run ({marker.parent}); skipped (use --force to redo)")
            self.timings[name] = 0.0
            return False
        started = time.perf_counter()
        fn()
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S") + "\n")
        self.timings[name] = round(time.perf_counter() - started, 1)
        self.say(f"   {name} finished in {self.timings[name]:.1f} s")
        return True


def prepare_data(cfg: QuickstartConfig, say: Say) -> dict[str, Path]:
    """Render the synthetic archive (train/validation/test; held-out combos come from training's)."""
    from trainer.synthetic import generate_splits

    say(f"   rendering {cfg.n_train} training, {cfg.n_val} validation and {cfg.n_test} test clips")
    return generate_splits(cfg.data, n_train=cfg.n_train, n_val=cfg.n_val, n_test=cfg.n_test, seed=cfg.seed)


def train_embedder(cfg: QuickstartConfig, progress: Progress) -> Path:
    """Hybrid-NCE from scratch on a fresh tiny thinker (the trainer's --init-tiny path, with its tuned
    defaults unless the config overrides them); resumable."""
    from trainer.config import TrainConfig
    from trainer.train import train

    config = TrainConfig.build(  # build() adds TINY_DEFAULTS, the tiny init scale included
        manifest=str(cfg.manifest("train")), output=str(cfg.workdir / "embedder"), init_tiny=True,
        tiny_config={"seed": cfg.seed}, tag_vocab=str(cfg.data / "tag_vocabulary.json"),
        epochs=cfg.embed_epochs, batch_size=cfg.embed_batch, lr=cfg.embed_lr, device="cpu", save_every=0,
        log_every=5, seed=cfg.seed, name=cfg.embedder_name,
    )  # fmt: skip
    return train(config, resume=True, progress=progress)


def train_reranker(cfg: QuickstartConfig, progress: Progress) -> Path:
    """Mine hard negatives with the trained embedder, fine-tune its weights as the Yes/No re-ranker and
    tune α on the validation split; resumable."""
    from trainer.rerank_config import RerankTrainConfig
    from trainer.rerank_train import train_reranker as run

    config = RerankTrainConfig.build(
        manifest=str(cfg.manifest("train")), output=str(cfg.workdir / "reranker"), embedder=str(cfg.embedder),
        val_manifest=str(cfg.manifest("validation")), tiny=True, group_key="combo_id",
        negatives=cfg.rerank_negatives, max_steps=cfg.rerank_steps, batch_size=cfg.rerank_batch,
        head_warmup_steps=cfg.rerank_head_steps,
        candidates=cfg.candidates, mine_pool=cfg.candidates * 2, device="cpu", save_every=0,
        log_every=5, seed=cfg.seed, name=cfg.reranker_name,
    )  # fmt: skip
    return run(config, resume=True, progress=progress)


def evaluate_stage(cfg: QuickstartConfig, say: Say) -> dict[str, Any]:
    """Held-out T2A/A2T R@1/5/10 through Qdrant, plain and re-ranked (top ``candidates``, α from the
    re-ranker's validation tuning: the test labels are only read to score)."""
    from aurola_qdrant.embedder import AurolaEmbedder
    from aurola_qdrant.reranker import AurolaReranker
    from trainer.evaluate import evaluate
    from trainer.manifest import read_manifest

    items = read_manifest(cfg.manifest("test"))
    embedder = AurolaEmbedder.from_pretrained(cfg.embedder, device="cpu", batch_size=32)
    reranker = AurolaReranker.from_pretrained(cfg.reranker, device="cpu", batch_size=16)
    n_captions = sum(len(i.captions) for i in items)
    say(f"   {len(items)} test clips, {n_captions} captions; re-ranking each query's top {cfg.candidates}")
    result = evaluate(items, embedder, reranker=reranker, candidates=cfg.candidates, batch_size=64)
    out = {"reranked": result.to_dict(), "config": {k: str(v) for k, v in asdict(cfg).items()}}
    return json.loads(json.dumps(out))
