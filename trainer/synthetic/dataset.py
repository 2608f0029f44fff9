"""Writing synthetic datasets: WAV files plus a JSONL manifest per split, deterministic by seed.

Layout written by `generate_dataset(out_dir, n, seed=..., split_name="train")`:

    out_dir/audio/train_00000.wav ...   mono 16-bit PCM WAV (PCM_16: compact, and libsndfile writes no
                                        timestamped PEAK chunk for it, so files are byte-identical per seed)
    out_dir/train.jsonl                 one `trainer.manifest` line per clip (see below)
    out_dir/tag_vocabulary.json         `synthetic_tag_vocabulary()`, for Hybrid-NCE's tag clusters

A manifest line: `id`, `audio` (relative), `caption` (n_captions long paraphrases; the first is also
`caption_long`), `caption_short`, `tags`, and `metadata` = {combo_id, sound_type, pitch, pattern,
loudness, frequency_hz, level_dbfs, duration_s}.

Combination sampling: with `balanced=True` the clips cycle through shuffled permutations of the allowed
combinations, so a split of n <= 774 clips has n distinct combinations (distinct short captions and tag
sets: text->audio retrieval among them is well posed) and larger splits use each about n/774 times.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from trainer.manifest import ManifestItem, write_manifest, write_tag_vocabulary

from .attributes import ATTRIBUTES, COMBOS, N_COMBOS, synthetic_tag_vocabulary
from .captions import N_TEMPLATES, long_captions, short_caption, tags_for
from .render import render_clip

__all__ = ["SyntheticConfig", "generate_dataset", "generate_splits", "plan_combos"]

logger = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class SyntheticConfig:
    """How clips are rendered and described. Raises ValueError on a bad value, naming the fix."""

    clip_seconds: tuple[float, float] = (1.0, 2.0)
    sample_rate: int = 16000
    balanced: bool = True
    n_captions: int = 5
    tag_attributes: tuple[str, ...] = ATTRIBUTES

    def __post_init__(self) -> None:
        lo, hi = self.clip_seconds
        if not 0.1 <= lo <= hi:
            raise ValueError(f"clip_seconds={self.clip_seconds}; use (min, max) with 0.1 <= min <= max")
        if self.sample_rate < 8000:
            raise ValueError(f"sample_rate={self.sample_rate} is too low; use >= 8000 (default 16000)")
        if not 1 <= self.n_captions <= N_TEMPLATES:
            raise ValueError(f"n_captions={self.n_captions}; use 1..{N_TEMPLATES}")
        bad = [a for a in self.tag_attributes if a not in ATTRIBUTES]
        if bad or not self.tag_attributes:
            raise ValueError(f"tag_attributes={self.tag_attributes}; use a non-empty subset of {ATTRIBUTES}")


def plan_combos(n: int, seed: int, *, balanced: bool = True, pool: Sequence[int] | None = None) -> list[int]:
    """The combo ids (indices into `COMBOS`) of a split's n clips, deterministic by seed.

    balanced: concatenated shuffled permutations of `pool` (without replacement until exhausted);
    otherwise i.i.d. uniform draws from `pool`. Raises ValueError for n < 1 or an empty/invalid pool.
    """
    if n < 1:
        raise ValueError(f"n={n}; generate at least 1 clip")
    ids = np.arange(N_COMBOS) if pool is None else np.unique(np.asarray(pool, dtype=np.int64))
    if ids.size == 0 or ids.min() < 0 or ids.max() >= N_COMBOS:
        raise ValueError(f"combo pool must be a non-empty subset of 0..{N_COMBOS - 1}")
    rng = np.random.default_rng([seed, 0])
    if not balanced:
        return [int(i) for i in rng.choice(ids, size=n)]
    cycles = -(-n // ids.size)
    return [int(i) for i in np.concatenate([rng.permutation(ids) for _ in range(cycles)])[:n]]


def generate_dataset(
    out_dir: str | Path,
    n: int,
    *,
    seed: int,
    split_name: str = "train",
    clip_seconds: tuple[float, float] = (1.0, 2.0),
    sample_rate: int = 16000,
    balanced: bool = True,
    n_captions: int = 5,
    tag_attributes: Sequence[str] = ATTRIBUTES,
    combo_pool: Sequence[int] | None = None,
) -> Path:
    """Render n clips and write them with their manifest; returns the manifest path `out_dir/<split>.jsonl`.

    Same arguments -> byte-identical WAVs and manifest. `tag_attributes` picks which attributes are
    tagged (fewer -> coarser tag clusters, more clips sharing a cluster set); `combo_pool` restricts the
    combinations (used to keep held-out splits inside the training combinations).
    Raises ValueError for invalid arguments; OSError if the folder cannot be written.
    """
    lo, hi = clip_seconds
    cfg = SyntheticConfig((float(lo), float(hi)), sample_rate, balanced, n_captions, tuple(tag_attributes))
    if not split_name or "/" in split_name:
        raise ValueError(f"split_name={split_name!r}; use a plain name such as 'train'")
    out = Path(out_dir)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    items = []
    for idx, combo_id in enumerate(plan_combos(n, seed, balanced=cfg.balanced, pool=combo_pool)):
        combo = COMBOS[combo_id]
        rng = np.random.default_rng([seed, 1, idx])  # one stream per clip: clip idx never depends on others
        duration = float(rng.uniform(*cfg.clip_seconds))
        audio, params = render_clip(combo, rng, duration_s=duration, sample_rate=cfg.sample_rate)
        name = f"{split_name}_{idx:05d}"
        wav = out / "audio" / f"{name}.wav"
        buffer = io.BytesIO()  # encoding in memory then one write is ~3x faster than sf.write to a path
        sf.write(buffer, audio, cfg.sample_rate, subtype="PCM_16", format="WAV")
        wav.write_bytes(buffer.getvalue())
        captions = long_captions(combo, rng, cfg.n_captions)
        items.append(
            ManifestItem(
                audio=wav.absolute(),
                captions=tuple(captions),
                caption_long=captions[0],
                caption_short=short_caption(combo),
                tags=tuple(tags_for(combo, rng, cfg.tag_attributes)),
                id=name,
                metadata={"combo_id": combo_id, **combo.values(), **params},
            )
        )
    manifest = write_manifest(out / f"{split_name}.jsonl", items)
    write_tag_vocabulary(out / "tag_vocabulary.json", synthetic_tag_vocabulary())
    logger.info("wrote %d synthetic clips to %s in %.1f s", n, manifest, time.perf_counter() - started)
    return manifest


def generate_splits(
    out_dir: str | Path, *, n_train: int, n_val: int, n_test: int, seed: int, **kwargs: Any
) -> dict[str, Path]:
    """Write train/validation/test splits with disjoint seeds (spawned from `seed`); returns name -> manifest.

    A held-out split with n = 0 is skipped (absent from the result).

    Validation and test clips only use combinations present in the training split (the task is
    generalising over within-combination variation, not zero-shot), each split balanced on its own.
    Extra keyword arguments go to `generate_dataset`. Raises ValueError as `generate_dataset` does.
    """
    child = [int(s.generate_state(1, np.uint32)[0]) for s in np.random.SeedSequence(seed).spawn(3)]
    balanced = bool(kwargs.get("balanced", True))
    train_pool = sorted(set(plan_combos(n_train, child[0], balanced=balanced)))
    out: dict[str, Path] = {}
    for name, n, split_seed in zip(SPLIT_NAMES, (n_train, n_val, n_test), child, strict=True):
        if n == 0 and name != "train":
            continue
        pool = None if name == "train" else train_pool
        out[name] = generate_dataset(out_dir, n, seed=split_seed, split_name=name, combo_pool=pool, **kwargs)
    return out
