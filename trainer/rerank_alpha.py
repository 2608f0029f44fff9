"""After re-ranker training: the fusion weight α per direction, tuned on validation data, saved with the
export (``final/aurola_reranker.json``) and in ``<output>/alpha.json``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from trainer.events import AlphaEvent, NoteEvent, Progress
from trainer.manifest import read_manifest
from trainer.rerank_config import RerankTrainConfig

__all__ = ["tune_and_save_alpha"]

log = logging.getLogger(__name__)


def tune_and_save_alpha(
    config: RerankTrainConfig, final: Path, *, device: str | None = None, progress: Progress | None = None
) -> dict[str, float]:
    """Choose α per direction on the validation manifest (never test data) and write it into ``final``
    (``aurola_reranker.json``) and ``<output>/alpha.json``. Returns ``{"t2a": a, "a2t": b}``."""
    from aurola_qdrant.embedder import AurolaEmbedder
    from aurola_qdrant.rerank import RerankerConfig
    from aurola_qdrant.reranker import AurolaReranker
    from trainer.evaluate import tune_alpha

    if not config.val_manifest:
        raise ValueError("tuning alpha needs val_manifest (validation data, never the test set)")
    embedder = AurolaEmbedder.from_pretrained(config.embedder, device=device)
    reranker = AurolaReranker.from_pretrained(final, device=device)
    items = read_manifest(config.val_manifest)
    if progress:
        n = sum(len(i.captions) for i in items) + len(items)
        progress(NoteEvent(f"tuning alpha: re-ranking the top {config.candidates} of {n} validation queries"))
    alpha = tune_alpha(items, embedder, reranker, candidates=config.candidates, grid=config.alpha_grid)
    RerankerConfig(alpha_t2a=alpha["t2a"], alpha_a2t=alpha["a2t"]).save(final)
    record = {"alpha": alpha, "grid": list(config.alpha_grid), "candidates": config.candidates,
              "validation": config.val_manifest}  # fmt: skip
    (Path(config.output) / "alpha.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info("alpha tuned on %s: %s", config.val_manifest, alpha)
    if progress:
        progress(AlphaEvent(alpha))
    return alpha
