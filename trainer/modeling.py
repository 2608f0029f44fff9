"""The trainable model: a complete thinker (vision tower and LM head kept so the export is a full checkpoint
that `AurolaEmbedder.from_pretrained` loads), and the module whose forward gives both sides' embeddings.

`aurola_qdrant.model.load_thinker` drops the vision tower (``visual = None``), after which
``save_pretrained`` no longer writes a complete folder; so training loads its own full copy here, with the
same tokenizer rules (``<emb>`` added only when missing, left padding), and borrows the library's
`InputBuilder`/`last_hidden` for everything the embedding depends on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from aurola_qdrant.audio import SAMPLE_RATE, load_audio
from aurola_qdrant.embedder import AurolaEmbedder
from aurola_qdrant.model import LoadedThinker, last_hidden
from aurola_qdrant.prompts import EMB_TOKEN
from aurola_qdrant.registry import resolve_model
from trainer.manifest import ManifestItem
from trainer.metrics import recalls

__all__ = ["PairEncoder", "TrainingThinker", "load_training_thinker", "source_folder", "validate"]

log = logging.getLogger(__name__)

_NON_WEIGHT_PATTERNS = ["*.json", "*.jinja", "*.txt", "*.model", "*.tiktoken"]


def source_folder(name_or_path: str) -> Path:
    """A local folder holding the model's files: the folder itself, or the hub snapshot (non-weight files)."""
    source = resolve_model(name_or_path)
    if Path(source).is_dir():
        return Path(source)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(source, allow_patterns=_NON_WEIGHT_PATTERNS))


@dataclass
class TrainingThinker:
    """A full thinker for training, its `LoadedThinker` view, and whether ``<emb>`` was added to it."""

    thinker: LoadedThinker
    source: Path
    added_emb: bool


def load_training_thinker(name_or_path: str, *, dtype: torch.dtype = torch.float32) -> TrainingThinker:
    """Load every weight (vision tower and LM head included) on CPU; the caller places it on devices."""
    import transformers

    folder = source_folder(name_or_path)
    source = resolve_model(name_or_path)
    tokenizer = transformers.AutoTokenizer.from_pretrained(source)
    fe = transformers.WhisperFeatureExtractor.from_pretrained(source)
    model = transformers.Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(
        source, dtype=dtype, attn_implementation="sdpa"
    )
    added = EMB_TOKEN not in tokenizer.get_vocab()
    if added:  # same rule as load_thinker: resize only when the token is new
        tokenizer.add_tokens([EMB_TOKEN])
        model.resize_token_embeddings(len(tokenizer))
    tokenizer.padding_side = "left"
    thinker = LoadedThinker(
        model=model,
        tokenizer=tokenizer,
        feature_extractor=fe,
        device=torch.device("cpu"),
        dtype=dtype,
        name=str(name_or_path),
        model_id=folder.name,
        revision="training",
        vector_name="training",
    )
    return TrainingThinker(thinker, folder, added)


class PairEncoder(torch.nn.Module):
    """``forward(a, b) -> (emb_a, emb_b)``: L2-normalised float32 embeddings ``(B, H)`` of two collated
    prompt batches, read where `AurolaEmbedder` reads them (last position of the cut prompt), with grad.

    Both sides go through one forward so DDP sees a single graph per step."""

    def __init__(self, thinker: torch.nn.Module) -> None:
        super().__init__()
        self.thinker = thinker

    def embed(self, batch: dict[str, Any]) -> torch.Tensor:
        hidden = last_hidden(self.thinker, batch)[:, -1, :]  # (B, H) read position
        return F.normalize(hidden.float(), dim=-1)  # (B, H)

    def forward(self, a: dict[str, Any], b: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.embed(a), self.embed(b)


def validate(
    thinker: LoadedThinker, model: torch.nn.Module, items: list[ManifestItem], batch_size: int = 32
) -> dict[str, float]:
    """Brute-force T2A/A2T R@1/5/10 of ``model`` (the training thinker, adapters included) on ``items``,
    through `AurolaEmbedder` exactly as inference embeds (no training audio policy)."""
    from dataclasses import replace

    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        embedder = AurolaEmbedder(replace(thinker, model=model, device=device), batch_size=batch_size)
        texts = [c for item in items for c in item.captions]
        owners = [i for i, item in enumerate(items) for _ in item.captions]
        clips = [load_audio(it.audio, start_s=it.start_s or 0.0, end_s=it.end_s).waveform for it in items]
        audio = embedder.embed_audio([(np.asarray(w), SAMPLE_RATE) for w in clips])
        return recalls(embedder.embed_text(texts), audio, owners)
    finally:
        model.train(was_training)
