"""Synthetic multi-granular audio data: deterministic clips with long/short captions, tags and tag clusters.

Serves the tests, the CPU smoke runs, the Hybrid-NCE vs InfoNCE ablation and the offline quickstart.
numpy + soundfile only. See `attributes` (the 774 attribute combinations, tags, clusters), `render`
(waveforms), `captions` (text) and `dataset` (files and manifests).
"""

from .attributes import (
    ATTRIBUTES,
    COMBOS,
    LOUDNESS,
    N_COMBOS,
    PATTERNS,
    PITCH_BANDS_HZ,
    PITCHED_TYPES,
    PITCHES,
    SOUND_TYPES,
    UNPITCHED_TYPES,
    Combo,
    synthetic_tag_vocabulary,
)
from .captions import long_captions, short_caption, tags_for
from .dataset import SyntheticConfig, generate_dataset, generate_splits, plan_combos
from .render import LOUDNESS_DBFS, render_clip

__all__ = [
    "ATTRIBUTES",
    "COMBOS",
    "LOUDNESS",
    "LOUDNESS_DBFS",
    "N_COMBOS",
    "PATTERNS",
    "PITCHED_TYPES",
    "PITCHES",
    "PITCH_BANDS_HZ",
    "SOUND_TYPES",
    "UNPITCHED_TYPES",
    "Combo",
    "SyntheticConfig",
    "generate_dataset",
    "generate_splits",
    "long_captions",
    "plan_combos",
    "render_clip",
    "short_caption",
    "synthetic_tag_vocabulary",
    "tags_for",
]
