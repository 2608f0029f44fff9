"""Hard negatives for the re-ranker, mined with the trained embedder (METHOD.md, Re-ranker).

For every distinct caption text (text→audio) and every clip (audio→text) the embedder ranks all candidates
of the other modality; the negatives kept are the best-ranked candidates that do NOT match, inside a
similarity band that keeps likely false negatives out:

- a candidate is a match (never a negative) when the caption text belongs to the clip. Texts are compared
  after case folding and whitespace normalisation, so a caption shared by two clips matches both; clips
  with byte-identical audio and equal bounds are the same clip; with ``group_key``, clips whose
  ``metadata[group_key]`` values are equal (e.g. a source-recording id) all match each other's texts;
- a non-matching candidate is skipped when its cosine exceeds ``positive cosine - margin`` (the positive
  cosine being the query's best-scoring match) or the absolute ``ceiling``: such near-ties are the most
  likely unlabelled matches.

Everything is numpy on L2-normalised embeddings; `band_negatives` is the pure core.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aurola_qdrant.audio import AudioItem, load_audio
from aurola_qdrant.ids import file_id
from aurola_qdrant.protocols import Embedder
from trainer.manifest import ManifestItem

__all__ = [
    "MinedNegatives",
    "MiningConfig",
    "band_negatives",
    "clip_audio",
    "clip_texts",
    "match_groups",
    "mine_hard_negatives",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MiningConfig:
    """Which retrieved candidates become hard negatives.

    pool: how deep in each query's ranking negatives are taken from (best first); None = the whole list.
    keep: negatives kept per query (the hardest that pass the band).
    margin: skip candidates with cosine > positive cosine - margin (negative values admit candidates
        scoring up to |margin| above the positive).
    ceiling: skip candidates with cosine above this absolute value; None = no ceiling.
    group_key: metadata field whose equal values mark clips as matching each other (None = off).
    """

    pool: int | None = 50
    keep: int = 8
    margin: float = 0.0
    ceiling: float | None = 0.98
    group_key: str | None = None

    def __post_init__(self) -> None:
        if self.pool is not None and (not isinstance(self.pool, int) or self.pool < 1):
            raise ValueError(f"MiningConfig.pool={self.pool!r}; use an integer >= 1, or None for all")
        if not isinstance(self.keep, int) or self.keep < 1:
            raise ValueError(f"MiningConfig.keep={self.keep!r}; use an integer >= 1")
        if not math.isfinite(self.margin):
            raise ValueError(f"MiningConfig.margin={self.margin!r}; use a finite cosine margin such as 0.0")
        if self.ceiling is not None and not -1.0 <= self.ceiling <= 1.0:
            raise ValueError(f"MiningConfig.ceiling={self.ceiling!r}; use a cosine in [-1, 1], or None")


def band_negatives(sim: np.ndarray, match: np.ndarray, config: MiningConfig) -> list[list[int]]:
    """Per row of ``sim`` (queries, candidates), the hard-negative column indices, hardest first.

    ``match`` (same shape, bool) marks the correct candidates; a row without any match uses no margin
    (only the ceiling). Matches are never returned, whatever the band.
    """
    sim = np.asarray(sim, dtype=np.float64)
    match = np.asarray(match, dtype=bool)
    if sim.shape != match.shape or sim.ndim != 2:
        raise ValueError(f"sim and match must be the same 2-D shape, got {sim.shape} and {match.shape}")
    depth = sim.shape[1] if config.pool is None else min(config.pool, sim.shape[1])
    out: list[list[int]] = []
    for row, ok in zip(sim, match, strict=True):
        limit = row[ok].max() - config.margin if ok.any() else np.inf
        if config.ceiling is not None:
            limit = min(limit, config.ceiling)
        order = np.argsort(-row, kind="stable")[:depth]  # (depth,) best retrieved first
        keep = [int(j) for j in order if not ok[j] and row[j] <= limit]
        out.append(keep[: config.keep])
    return out


def _norm_text(text: str) -> str:
    return " ".join(text.casefold().split())


def _clip_keys(items: Sequence[ManifestItem], group_key: str | None) -> list[int]:
    """One key per clip; equal keys = the same clip for matching purposes. Clips are joined when their
    audio (content hash and bounds) is equal or, with ``group_key``, their group values are equal."""
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[Any, int] = {}
    for i, item in enumerate(items):
        keys: list[Any] = [("audio", file_id(item.audio), item.start_s or 0.0, item.end_s)]
        if group_key is not None and item.metadata.get(group_key) is not None:
            keys.append(("group", json.dumps(item.metadata[group_key], sort_keys=True)))
        for key in keys:
            parent[root(i)] = root(first.setdefault(key, i))
    return [root(i) for i in range(len(items))]


def clip_audio(item: ManifestItem) -> AudioItem:
    """The clip as the embedder takes it: its path, or the decoded excerpt when the manifest gives bounds."""
    if item.start_s is None and item.end_s is None:
        return str(item.audio)
    return load_audio(item.audio, start_s=item.start_s or 0.0, end_s=item.end_s)


def clip_texts(item: ManifestItem) -> list[str]:
    """The distinct query texts of a clip: its captions, then its short caption and tag caption."""
    return list(dict.fromkeys([*item.captions, *(text for _, text in item.granularities())]))


def match_groups(
    items: Sequence[ManifestItem], group_key: str | None = None
) -> tuple[list[str], list[frozenset[int]], list[list[int]]]:
    """(texts, owners, texts_of_clip): the distinct (normalised) texts, the clips each text matches, and
    each clip's own text indices. A text matches every clip with the same key as a clip that carries it."""
    keys = _clip_keys(items, group_key)
    index: dict[str, int] = {}
    texts: list[str] = []
    carriers: list[set[Any]] = []
    own: list[list[int]] = []
    for i, item in enumerate(items):
        mine = []
        for text in clip_texts(item):
            j = index.setdefault(_norm_text(text), len(texts))
            if j == len(texts):
                texts.append(text)
                carriers.append(set())
            carriers[j].add(keys[i])
            mine.append(j)
        own.append(list(dict.fromkeys(mine)))
    by_key: dict[Any, list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    owners = [frozenset(c for key in keys_ for c in by_key[key]) for keys_ in carriers]
    # a clip's texts are every text that matches it (also those carried by a same-key clip)
    texts_of = [[] for _ in items]  # type: list[list[int]]
    for j, clips in enumerate(owners):
        for c in clips:
            texts_of[c].append(j)
    return texts, owners, [sorted(set(t)) for t in texts_of]


@dataclass(frozen=True)
class MinedNegatives:
    """Mining result over one manifest (indices refer to ``texts`` and to the manifest's clips).

    texts: distinct query texts; owners[t]: clips text t matches; clip_texts[c]: texts that match clip c;
    t2a[t]: hard-negative clips for text t; a2t[c]: hard-negative texts for clip c (hardest first).
    """

    texts: tuple[str, ...]
    owners: tuple[tuple[int, ...], ...]
    clip_texts: tuple[tuple[int, ...], ...]
    t2a: tuple[tuple[int, ...], ...]
    a2t: tuple[tuple[int, ...], ...]
    config: MiningConfig

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        data = {k: v for k, v in asdict(self).items() if k != "config"}
        data["config"] = asdict(self.config)
        path.write_text(json.dumps(data) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> MinedNegatives:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        tup = lambda rows: tuple(tuple(int(x) for x in r) for r in rows)  # noqa: E731
        return cls(
            tuple(data["texts"]), tup(data["owners"]), tup(data["clip_texts"]), tup(data["t2a"]),
            tup(data["a2t"]), MiningConfig(**data["config"]),
        )  # fmt: skip

    def summary(self) -> str:
        t, a = [len(r) for r in self.t2a], [len(r) for r in self.a2t]
        return (
            f"{len(self.texts)} texts x {len(self.a2t)} clips; negatives per text {np.mean(t):.1f} "
            f"(none for {t.count(0)}), per clip {np.mean(a):.1f} (none for {a.count(0)})"
        )


def mine_hard_negatives(
    items: Sequence[ManifestItem],
    embedder: Embedder,
    config: MiningConfig = MiningConfig(),
    chunk: int = 1024,
) -> MinedNegatives:
    """Embed every clip and distinct text with ``embedder`` (an `AurolaEmbedder`, or any `Embedder`) and
    mine both directions.

    Raises AudioDecodeError/AudioTooLongError for unusable clips, ValueError for an empty manifest."""
    if not items:
        raise ValueError("the manifest holds no items to mine negatives from")
    texts, owners, texts_of = match_groups(items, config.group_key)
    audio = embedder.embed_audio([clip_audio(it) for it in items])  # (n_clips, d)
    text = embedder.embed_text(texts)  # (n_texts, d)
    t2a: list[list[int]] = []
    for s in range(0, len(texts), chunk):  # bounded memory: chunk x n_clips similarities at a time
        sim = text[s : s + chunk] @ audio.T
        match = np.zeros(sim.shape, dtype=bool)
        for r, clips in enumerate(owners[s : s + chunk]):
            match[r, list(clips)] = True
        t2a.extend(band_negatives(sim, match, config))
    a2t: list[list[int]] = []
    for s in range(0, len(items), chunk):
        sim = audio[s : s + chunk] @ text.T
        match = np.zeros(sim.shape, dtype=bool)
        for r, own in enumerate(texts_of[s : s + chunk]):
            match[r, own] = True
        a2t.extend(band_negatives(sim, match, config))
    mined = MinedNegatives(
        tuple(texts), tuple(tuple(sorted(o)) for o in owners), tuple(tuple(t) for t in texts_of),
        tuple(tuple(r) for r in t2a), tuple(tuple(r) for r in a2t), config,
    )  # fmt: skip
    log.info("mined hard negatives: %s", mined.summary())
    return mined
