"""Re-ranker training data: one query per sample, with its positive and hard negatives, as Yes/No prompts.

Prompts are the re-ranker's inference prompts exactly: `aurola_qdrant.model.rerank_prompt`, the function
`AurolaReranker.t2a_prompt` / `a2t_prompt` call (a test checks the ids are equal). The target is the first
token of the answer, ``Yes`` or ``No`` (`aurola_qdrant.model.answer_ids`), predicted at the last prompt
position, the very logits inference reads; ``<|im_end|>`` after the answer is not trained (inference never
reads it).

Directions alternate: clip ``index`` is a text→audio query in epochs where ``index + epoch`` is even and an
audio→text query otherwise, so each direction is half of every epoch and every clip serves both. As in
`trainer.data`, a sample is a pure function of (epoch, index) and the seed, so resume needs no loader state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aurola_qdrant.audio import SAMPLE_RATE, load_audio
from aurola_qdrant.model import EncodedPrompt, InputBuilder, answer_ids, rerank_prompt
from trainer.hard_negatives import MinedNegatives
from trainer.manifest import ManifestItem

# answer_ids and rerank_prompt are the library's, re-exported for the re-ranker trainer.
__all__ = ["RerankCollator", "RerankDataset", "RerankSample", "answer_ids", "rerank_prompt"]


@dataclass(frozen=True)
class RerankSample:
    """One query's prompts (positive first) and labels (1 = Yes, 0 = No)."""

    direction: str
    prompts: tuple[EncodedPrompt, ...]
    labels: tuple[int, ...]


class RerankDataset:
    """Samples keyed by (epoch, index): clip ``index`` as a query with 1 positive and ``negatives``
    negatives: up to ``hard`` (default: all ``negatives``) drawn from the query's hard negatives in
    ``mined``, the rest (and any shortfall) random non-matching items."""

    def __init__(
        self,
        items: Sequence[ManifestItem],
        mined: MinedNegatives,
        inputs: InputBuilder,
        *,
        seed: int,
        negatives: int,
        hard: int | None = None,
        max_audio_s: float = 30.0,
    ) -> None:
        if len(mined.a2t) != len(items):
            raise ValueError(f"mined negatives cover {len(mined.a2t)} clips, the manifest has {len(items)}")
        self.items, self.mined, self.inputs = list(items), mined, inputs
        self.seed, self.negatives = seed, negatives
        self.hard = negatives if hard is None else min(hard, negatives)
        if self.hard < 0:
            raise ValueError(f"hard={hard}: use 0..negatives hard negatives per query")
        self.max_samples = round(max_audio_s * SAMPLE_RATE)

    def __len__(self) -> int:
        return len(self.items)

    def direction(self, epoch: int, index: int) -> str:
        return "t2a" if (index + epoch) % 2 == 0 else "a2t"

    def waveform(self, clip: int) -> np.ndarray:
        item = self.items[clip]
        wav = load_audio(item.audio, start_s=item.start_s or 0.0, end_s=item.end_s).waveform
        return np.asarray(wav[: self.max_samples], dtype=np.float32)

    def _draw(self, rng: np.random.Generator, hard: Sequence[int], n_all: int, bad: set[int]) -> list[int]:
        """``negatives`` indices: up to ``self.hard`` hard ones without replacement, then random ones not
        in ``bad``."""
        picked = [int(j) for j in rng.permutation(np.asarray(hard, dtype=np.int64))[: self.hard]]
        tries = 0
        while len(picked) < self.negatives and tries < 100 * self.negatives:
            j = int(rng.integers(n_all))
            tries += 1
            if j not in bad and j not in picked:
                picked.append(j)
        return picked

    def __getitem__(self, key: tuple[int, int]) -> RerankSample:
        epoch, index = key
        rng = np.random.default_rng([self.seed, epoch, index])
        mined = self.mined
        direction = self.direction(epoch, index)
        own = mined.clip_texts[index]
        text = int(own[int(rng.integers(len(own)))])  # the query (t2a) or the positive caption (a2t)
        if direction == "t2a":
            negs = self._draw(rng, mined.t2a[text], len(self.items), set(mined.owners[text]))
            query = mined.texts[text]
            clips = [index, *negs]
            prompts = tuple(rerank_prompt(self.inputs, "t2a", query, self.waveform(c)) for c in clips)
        else:
            negs = self._draw(rng, mined.a2t[index], len(mined.texts), set(own))
            wav = self.waveform(index)
            prompts = tuple(rerank_prompt(self.inputs, "a2t", mined.texts[t], wav) for t in [text, *negs])
        return RerankSample(direction, prompts, (1,) + (0,) * len(negs))


class RerankCollator:
    """Samples -> {"batch": collated prompts, "labels": (N,) 1/0, "t2a": (N,) bool}."""

    def __init__(self, inputs: InputBuilder) -> None:
        self.inputs = inputs

    def __call__(self, samples: Sequence[RerankSample]) -> dict[str, Any]:
        import torch

        prompts = [p for s in samples for p in s.prompts]
        labels = torch.tensor([y for s in samples for y in s.labels], dtype=torch.long)
        t2a = torch.tensor([s.direction == "t2a" for s in samples for _ in s.prompts], dtype=torch.bool)
        return {"batch": self.inputs.collate(prompts), "labels": labels, "t2a": t2a}
