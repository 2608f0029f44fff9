"""Text for a synthetic clip: long paraphrases, a short caption and tags, all true to its attributes.

- long captions: one sentence naming every attribute the clip has; 5 templates x a few wordings per
  attribute, chosen by the RNG, so the same combination is described in many ways;
- short caption: canonical and deterministic, "a loud pulsing high-pitched sine tone";
- tags: one synonym per tagged attribute (see `attributes.TAG_SYNONYMS`), in random order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .attributes import ATTRIBUTES, TAG_SYNONYMS, Combo

__all__ = ["N_TEMPLATES", "long_captions", "short_caption", "tags_for"]

_TYPE_NOUNS: dict[str, tuple[str, ...]] = {
    "sine tone": ("sine tone", "pure sine tone", "pure tone"),
    "square tone": ("square-wave tone", "square tone", "hollow square-wave tone"),
    "sawtooth tone": ("sawtooth tone", "buzzy sawtooth-wave tone", "sawtooth-wave tone"),
    "triangle tone": ("triangle-wave tone", "triangle tone", "mellow triangle-wave tone"),
    "rising chirp": ("rising chirp", "upward frequency sweep", "chirp sweeping upward"),
    "falling chirp": ("falling chirp", "downward frequency sweep", "chirp sweeping downward"),
    "click train": ("train of clicks", "click train", "series of rapid clicks"),
    "band-pass noise": ("band-pass noise", "narrow band of filtered noise", "band of filtered noise"),
    "white noise": ("white noise", "white-noise hiss", "broadband hiss"),
    "pink noise": ("pink noise", "rushing pink noise"),
    "brown noise": ("brown noise", "rumbling brown noise", "deep brown-noise rumble"),
}
_LOUD_ADJ = {
    "quiet": ("quiet", "soft", "faint"),
    "moderate": ("moderately loud", "medium-volume", "moderate-level"),
    "loud": ("loud", "strong", "powerful"),
}
_LOUD_NOUN = {
    "quiet": ("low volume", "quiet level"),
    "moderate": ("medium volume", "moderate level"),
    "loud": ("high volume", "loud level"),
}
_PITCH_ADJ = {
    "very low": ("very low-pitched", "very deep"),
    "low": ("low-pitched", "deep"),
    "mid": ("mid-pitched", "medium-pitched"),
    "high": ("high-pitched",),
    "very high": ("very high-pitched", "piercing, very high-pitched"),
}
_PITCH_WORD = {
    "very low": "very low",
    "low": "low",
    "mid": "medium",
    "high": "high",
    "very high": "very high",
}
_PATTERN_VERB = {
    "steady": ("stays steady throughout", "continues at a constant level", "holds without any change"),
    "pulsing": ("pulses on and off repeatedly", "beeps in a regular rhythm", "repeats in short rapid pulses"),
    "fading in": ("fades in gradually", "starts silent and slowly grows", "gradually fades in from silence"),
    "fading out": ("fades out gradually", "begins at full level and dies away", "slowly fades to silence"),
    "two bursts": (
        "sounds in two separate bursts",
        "plays twice with a gap in between",
        "comes in two bursts",
    ),
    "swelling": (
        "swells up and then fades away",
        "rises in volume and then falls again",
        "grows then recedes",
    ),
}
_SHORT_PATTERN = {
    "steady": "steady",
    "pulsing": "pulsing",
    "fading in": "fading-in",
    "fading out": "fading-out",
    "two bursts": "double-burst",
    "swelling": "swelling",
}
_SHORT_LOUD = {"quiet": "quiet", "moderate": "medium-volume", "loud": "loud"}

# {L} loudness adjective, {Ln} loudness noun, {P} pitch adjective, {Pc} pitch clause, {T} type, {V} verb.
_TEMPLATES: tuple[str, ...] = (
    "a {L} {P} {T} {V}.",
    "there is a {L} {T} {Pc} that {V}.",
    "this clip contains a {P} {T} played at a {Ln}; it {V}.",
    "you can hear a {L} {T} {Pc}, which {V}.",
    "the sound is a {P} {T} at a {Ln} that {V}.",
)
N_TEMPLATES = len(_TEMPLATES)


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _tidy(text: str) -> str:
    """Collapse the gaps left by an absent pitch, fix a/an, capitalise."""
    text = re.sub(r"\s+", " ", text).replace(" ,", ",").strip()
    text = re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", text)
    return text[0].upper() + text[1:]


def _pitch_clause(combo: Combo) -> str:
    if combo.pitch is None:
        return ""
    word = _PITCH_WORD[combo.pitch]
    if combo.sound_type.endswith("chirp"):
        return f"around a {word} pitch"
    if combo.sound_type == "band-pass noise":
        return f"centred on a {word} frequency"
    return f"at a {word} pitch"


def long_captions(combo: Combo, rng: np.random.Generator, k: int) -> list[str]:
    """`k` sentences (1 <= k <= N_TEMPLATES), each from a different template, all naming every attribute."""
    if not 1 <= k <= N_TEMPLATES:
        raise ValueError(f"k={k} long captions requested; use 1..{N_TEMPLATES}")
    out = []
    for template_index in rng.permutation(N_TEMPLATES)[:k]:
        parts = {
            "L": _pick(rng, _LOUD_ADJ[combo.loudness]),
            "Ln": _pick(rng, _LOUD_NOUN[combo.loudness]),
            "P": "" if combo.pitch is None else _pick(rng, _PITCH_ADJ[combo.pitch]),
            "Pc": _pitch_clause(combo),
            "T": _pick(rng, _TYPE_NOUNS[combo.sound_type]),
            "V": _pick(rng, _PATTERN_VERB[combo.pattern]),
        }
        out.append(_tidy(_TEMPLATES[int(template_index)].format(**parts)))
    return out


def short_caption(combo: Combo) -> str:
    """The canonical short phrase, e.g. "a loud pulsing high-pitched sine tone" (deterministic)."""
    pitch = "" if combo.pitch is None else _PITCH_ADJ[combo.pitch][0]
    text = f"a {_SHORT_LOUD[combo.loudness]} {_SHORT_PATTERN[combo.pattern]} {pitch} {combo.sound_type}"
    return _tidy(text)[0].lower() + _tidy(text)[1:]


def tags_for(combo: Combo, rng: np.random.Generator, tag_attributes: Sequence[str] = ATTRIBUTES) -> list[str]:
    """One synonym per attribute in `tag_attributes` that the clip has (pitch is skipped for noises),
    shuffled. Raises ValueError for an unknown attribute name."""
    unknown = [a for a in tag_attributes if a not in ATTRIBUTES]
    if unknown:
        raise ValueError(f"unknown tag attributes {unknown}; use a subset of {list(ATTRIBUTES)}")
    values = combo.values()
    tags = [
        _pick(rng, TAG_SYNONYMS[(attr, value)])
        for attr in ATTRIBUTES
        if attr in tag_attributes and (value := values[attr]) is not None
    ]
    return [tags[int(i)] for i in rng.permutation(len(tags))]
