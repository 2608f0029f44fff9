"""The attribute space of the synthetic clips, their tags and the tag clusters.

Four attributes describe a clip:

    sound type  11 values  sine/square/sawtooth/triangle tone, rising/falling chirp, click train,
                           band-pass noise (8 pitched types), white/pink/brown noise (3 unpitched types)
    pitch        5 values  very low 60-120 Hz, low 150-300, mid 350-700, high 800-1500, very high 1800-2600
    pattern      6 values  steady, pulsing, fading in, fading out, two bursts, swelling
    loudness     3 values  quiet, moderate, loud

Pitch only exists for pitched types (a "high white noise" would be a false caption), so the number of
attribute combinations is 8*5*6*3 + 3*6*3 = 720 + 54 = **774** (`N_COMBOS`).

What "pitch" means per type (so captions stay truthful): the fundamental of a tone, the geometric centre
of a chirp's exponential sweep (which spans 0.3-0.5 octave either side of it), the ringing frequency of
each click of a click train, and the centre of the band of a band-pass noise.

Tags and clusters: every attribute value has a few synonymous tag strings (e.g. "sine tone", "pure tone",
"sine wave"); a clip's tags pick one synonym per attribute. One cluster is one attribute value, so synonyms
share a cluster and different values never do. Hence two clips have equal cluster *sets* exactly when they
have the same attribute combination (with the same tagged attributes), which is when one's tag caption
describes the other just as well: that is when Hybrid-NCE may treat them as extra positives, and the tag
strings may still differ. Cluster ids are the value's position in `ATTRIBUTE_VALUES` order (0..24).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

__all__ = [
    "ATTRIBUTES",
    "COMBOS",
    "LOUDNESS",
    "N_COMBOS",
    "PATTERNS",
    "PITCHED_TYPES",
    "PITCHES",
    "PITCH_BANDS_HZ",
    "SOUND_TYPES",
    "TAG_SYNONYMS",
    "UNPITCHED_TYPES",
    "Combo",
    "synthetic_tag_vocabulary",
]

PITCHED_TYPES: tuple[str, ...] = (
    "sine tone",
    "square tone",
    "sawtooth tone",
    "triangle tone",
    "rising chirp",
    "falling chirp",
    "click train",
    "band-pass noise",
)
UNPITCHED_TYPES: tuple[str, ...] = ("white noise", "pink noise", "brown noise")
SOUND_TYPES: tuple[str, ...] = PITCHED_TYPES + UNPITCHED_TYPES

# Octave-ish bands with gaps between them, so neighbouring bands are told apart by ear and by FFT; the
# top band stays low enough that square/triangle tones keep their 3rd harmonic below Nyquist at 16 kHz.
PITCH_BANDS_HZ: dict[str, tuple[float, float]] = {
    "very low": (60.0, 120.0),
    "low": (150.0, 300.0),
    "mid": (350.0, 700.0),
    "high": (800.0, 1500.0),
    "very high": (1800.0, 2600.0),
}
PITCHES: tuple[str, ...] = tuple(PITCH_BANDS_HZ)
PATTERNS: tuple[str, ...] = ("steady", "pulsing", "fading in", "fading out", "two bursts", "swelling")
LOUDNESS: tuple[str, ...] = ("quiet", "moderate", "loud")
ATTRIBUTES: tuple[str, ...] = ("sound_type", "pitch", "pattern", "loudness")

# Tag strings per attribute value; the first is the canonical one. All strings are distinct across the
# whole table (checked by `synthetic_tag_vocabulary`).
TAG_SYNONYMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("sound_type", "sine tone"): ("sine tone", "pure tone", "sine wave"),
    ("sound_type", "square tone"): ("square tone", "square wave"),
    ("sound_type", "sawtooth tone"): ("sawtooth tone", "sawtooth wave"),
    ("sound_type", "triangle tone"): ("triangle tone", "triangle wave"),
    ("sound_type", "rising chirp"): ("rising chirp", "upward sweep"),
    ("sound_type", "falling chirp"): ("falling chirp", "downward sweep"),
    ("sound_type", "click train"): ("click train", "clicks", "clicking"),
    ("sound_type", "band-pass noise"): ("band-pass noise", "filtered noise"),
    ("sound_type", "white noise"): ("white noise", "hiss"),
    ("sound_type", "pink noise"): ("pink noise",),
    ("sound_type", "brown noise"): ("brown noise", "red noise"),
    ("pitch", "very low"): ("very low pitch", "very low frequency"),
    ("pitch", "low"): ("low pitch", "low frequency"),
    ("pitch", "mid"): ("mid pitch", "mid frequency"),
    ("pitch", "high"): ("high pitch", "high frequency"),
    ("pitch", "very high"): ("very high pitch", "very high frequency"),
    ("pattern", "steady"): ("steady", "constant"),
    ("pattern", "pulsing"): ("pulsing", "beeping"),
    ("pattern", "fading in"): ("fading in", "fade-in"),
    ("pattern", "fading out"): ("fading out", "fade-out"),
    ("pattern", "two bursts"): ("two bursts", "double burst"),
    ("pattern", "swelling"): ("swelling", "rise and fall"),
    ("loudness", "quiet"): ("quiet", "soft"),
    ("loudness", "moderate"): ("moderate volume", "medium volume"),
    ("loudness", "loud"): ("loud", "loud volume"),
}


@dataclass(frozen=True)
class Combo:
    """One attribute combination; `pitch` is None exactly for the unpitched noise types."""

    sound_type: str
    pitch: str | None
    pattern: str
    loudness: str

    def __post_init__(self) -> None:
        if self.sound_type not in SOUND_TYPES:
            raise ValueError(f"unknown sound_type {self.sound_type!r}; use one of {list(SOUND_TYPES)}")
        if self.sound_type in PITCHED_TYPES and self.pitch not in PITCHES:
            raise ValueError(f"pitch {self.pitch!r} for {self.sound_type!r}; use one of {list(PITCHES)}")
        if self.sound_type in UNPITCHED_TYPES and self.pitch is not None:
            raise ValueError(f"pitch {self.pitch!r} given for unpitched {self.sound_type!r}; use None")
        if self.pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {self.pattern!r}; use one of {list(PATTERNS)}")
        if self.loudness not in LOUDNESS:
            raise ValueError(f"unknown loudness {self.loudness!r}; use one of {list(LOUDNESS)}")

    def values(self) -> dict[str, str | None]:
        """The attribute values by attribute name (`ATTRIBUTES` order)."""
        return {
            "sound_type": self.sound_type,
            "pitch": self.pitch,
            "pattern": self.pattern,
            "loudness": self.loudness,
        }


def _all_combos() -> tuple[Combo, ...]:
    pitched = (
        Combo(t, p, pat, loud)
        for t, p, pat, loud in itertools.product(PITCHED_TYPES, PITCHES, PATTERNS, LOUDNESS)
    )
    unpitched = (
        Combo(t, None, pat, loud) for t, pat, loud in itertools.product(UNPITCHED_TYPES, PATTERNS, LOUDNESS)
    )
    return (*pitched, *unpitched)


# The combo id used in manifests (`metadata.combo_id`) is the index in this tuple; it is stable.
COMBOS: tuple[Combo, ...] = _all_combos()
N_COMBOS: int = len(COMBOS)


def synthetic_tag_vocabulary() -> dict[str, int]:
    """Every tag the generator can emit -> its cluster id (one cluster per attribute value, 25 in all).

    Raises:
        RuntimeError: if the synonym table maps one tag string to two values (a programming error).
    """
    vocab: dict[str, int] = {}
    for cluster, synonyms in enumerate(TAG_SYNONYMS.values()):
        for tag in synonyms:
            if tag in vocab:
                raise RuntimeError(f"tag {tag!r} is listed under two attribute values")
            vocab[tag] = cluster
    return vocab
