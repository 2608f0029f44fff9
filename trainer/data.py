"""Training data: deterministic batches of (audio, caption) prompts and of (text, text) warm-up pairs.

Determinism is what makes resume exact without saving DataLoader state: epoch e visits the items in the
permutation ``default_rng([seed, e]).permutation(n)``, cut into global batches (the last incomplete one is
dropped so every contrastive batch has the same number of negatives); each rank takes its contiguous slice.
Everything random about one sample (which caption granularity is drawn) comes from
``default_rng([seed, e, index])``, so a sample is a pure function of (epoch, index) no matter which worker
builds it. A data position is therefore just (epoch, batches done in that epoch).

Prompts are built and batched by `aurola_qdrant.model.EmbedPrompts`, from the tokenizer and feature
extractor alone: the very code `AurolaEmbedder` runs at inference (never a second copy).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aurola_qdrant.audio import SAMPLE_RATE, load_audio
from aurola_qdrant.model import EmbedPrompts, EncodedPrompt, LoadedThinker
from trainer.losses import cluster_set_keys
from trainer.manifest import ManifestItem, draw_caption, tag_cluster_set

__all__ = [
    "AudioPolicy",
    "ClipDataset",
    "EpochBatches",
    "PairCollator",
    "TextPairDataset",
    "prompt_embedder",
    "read_text_pairs",
]

log = logging.getLogger(__name__)


def prompt_embedder(thinker: LoadedThinker) -> EmbedPrompts:
    """The embedding prompts of ``thinker``'s checkpoint: no weights, so cheap to send to loader workers."""
    return EmbedPrompts.from_tokenizer(thinker.tokenizer, thinker.feature_extractor)


@dataclass(frozen=True)
class AudioPolicy:
    """Training-time clip policy (METHOD.md): zero-pad clips shorter than ``min_s``, keep the first
    ``max_s`` seconds of longer ones. ``enabled=False`` passes clips through unchanged."""

    enabled: bool = True
    min_s: float = 2.0
    max_s: float = 30.0

    def apply(self, waveform: np.ndarray) -> np.ndarray:
        if not self.enabled:
            return waveform
        lo, hi = round(self.min_s * SAMPLE_RATE), round(self.max_s * SAMPLE_RATE)
        waveform = waveform[:hi]
        if waveform.shape[0] < lo:
            waveform = np.concatenate([waveform, np.zeros(lo - waveform.shape[0], dtype=np.float32)])
        return waveform


class ClipDataset:
    """Manifest items as (audio prompt, caption prompt, tag-cluster set) samples, keyed by (epoch, index).

    The caption granularity is drawn uniformly per draw (``draw_caption``); C_i is the drawn tag caption's
    cluster set, else empty. Decoding honours the manifest's start_s/end_s.
    """

    def __init__(
        self,
        items: Sequence[ManifestItem],
        prompts: EmbedPrompts,
        *,
        seed: int,
        tag_vocab: Mapping[str, int] | None = None,
        policy: AudioPolicy = AudioPolicy(),
    ) -> None:
        self.items, self.prompts, self.seed = list(items), prompts, seed
        self.tag_vocab, self.policy = dict(tag_vocab or {}), policy

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> tuple[EncodedPrompt, EncodedPrompt, frozenset[int]]:
        epoch, index = key
        item = self.items[index]
        caption, is_tag = draw_caption(item, np.random.default_rng([self.seed, epoch, index]))
        # The tag caption's clusters come from the vocabulary; unknown tags get stable singleton clusters.
        clusters = tag_cluster_set(item.tags, self.tag_vocab) if is_tag else frozenset()
        segment = load_audio(item.audio, start_s=item.start_s or 0.0, end_s=item.end_s)
        wav = self.policy.apply(segment.waveform)
        return self.prompts.audio_prompt(wav, str(item.audio)), self.prompts.text_prompt(caption), clusters


def read_text_pairs(path: str | Path) -> list[tuple[str, str]]:
    """Read a JSONL of {"a": text, "b": text} warm-up pairs. Raises ValueError naming the bad line."""
    pairs = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) and row[k].strip() for k in "ab"):
            raise ValueError(f"{path}:{number}: want {{'a': text, 'b': text}} with non-empty texts")
        pairs.append((row["a"], row["b"]))
    return pairs


def manifest_text_pairs(items: Sequence[ManifestItem]) -> list[tuple[str, ...]]:
    """Per clip, its distinct caption texts (all granularities and captions); clips with one are skipped."""
    groups = []
    for item in items:
        texts = tuple(dict.fromkeys([*item.captions, *(t for _, t in item.granularities())]))
        if len(texts) >= 2:
            groups.append(texts)
    return groups


class TextPairDataset:
    """(text a, text b) prompt pairs for the text-only warm-up. ``groups`` are explicit pairs or, from a
    manifest, a clip's captions: two different ones are drawn per (epoch, index)."""

    def __init__(self, groups: Sequence[Sequence[str]], prompts: EmbedPrompts, *, seed: int) -> None:
        self.groups, self.prompts, self.seed = [tuple(g) for g in groups], prompts, seed

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, key: tuple[int, int]) -> tuple[EncodedPrompt, EncodedPrompt, frozenset[int]]:
        epoch, index = key
        texts = self.groups[index]
        i, j = np.random.default_rng([self.seed, epoch, index]).choice(len(texts), size=2, replace=False)
        return self.prompts.text_prompt(texts[i]), self.prompts.text_prompt(texts[j]), frozenset()


class PairCollator:
    """Samples -> {"a": batch, "b": batch, "clusters": (B,) keys}; "a" is the anchor side (audio)."""

    def __init__(self, prompts: EmbedPrompts) -> None:
        self.prompts = prompts

    def __call__(
        self, samples: Sequence[tuple[EncodedPrompt, EncodedPrompt, frozenset[int]]]
    ) -> dict[str, Any]:
        return {
            "a": self.prompts.collate([s[0] for s in samples]),
            "b": self.prompts.collate([s[1] for s in samples]),
            "clusters": cluster_set_keys([s[2] for s in samples]),
        }


@dataclass(frozen=True)
class EpochBatches:
    """This rank's batches of (epoch, index) keys for one epoch, starting after ``skip`` global batches."""

    n_items: int
    global_batch: int
    seed: int
    epoch: int
    skip: int = 0
    rank: int = 0
    world_size: int = 1

    @property
    def per_epoch(self) -> int:
        return self.n_items // self.global_batch

    def __len__(self) -> int:
        return max(0, self.per_epoch - self.skip)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n_items)
        local = self.global_batch // self.world_size
        for b in range(self.skip, self.per_epoch):
            chunk = order[b * self.global_batch : (b + 1) * self.global_batch]
            yield [(self.epoch, int(i)) for i in chunk[self.rank * local : (self.rank + 1) * local]]
