"""Synthetic data: determinism, truthful attributes and captions, balanced splits, tag clusters."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from trainer.manifest import read_manifest, tag_cluster_set
from trainer.synthetic import (
    COMBOS,
    N_COMBOS,
    PITCH_BANDS_HZ,
    PITCHED_TYPES,
    PITCHES,
    SOUND_TYPES,
    Combo,
    generate_dataset,
    generate_splits,
    long_captions,
    plan_combos,
    render_clip,
    short_caption,
    synthetic_tag_vocabulary,
    tags_for,
)
from trainer.synthetic.attributes import TAG_SYNONYMS
from trainer.synthetic.captions import (
    _LOUD_ADJ,
    _LOUD_NOUN,
    _PATTERN_VERB,
    _PITCH_ADJ,
    _PITCH_WORD,
    _TYPE_NOUNS,
)

SR = 16000


def _render(sound_type: str, pitch: str | None, pattern: str = "steady", loudness: str = "moderate", seed=0):
    rng = np.random.default_rng(seed)
    return render_clip(Combo(sound_type, pitch, pattern, loudness), rng, duration_s=1.5, sample_rate=SR)


def _dominant_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / SR)[np.argmax(spec)])


def _frame_rms(x: np.ndarray, hop: int = 160) -> np.ndarray:
    n = len(x) // hop
    return np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))


def _segments(x: np.ndarray) -> int:
    """Number of 'on' runs of 10 ms frames above 30 % of the loudest frame."""
    on = _frame_rms(x) > 0.3 * _frame_rms(x).max()
    return int(on[0]) + int(np.sum(on[1:] & ~on[:-1]))


def test_combination_count_and_tag_vocabulary():
    assert N_COMBOS == len(COMBOS) == 8 * 5 * 6 * 3 + 3 * 6 * 3 == 774
    assert len(set(COMBOS)) == N_COMBOS
    vocab = synthetic_tag_vocabulary()
    assert sorted(set(vocab.values())) == list(range(25))
    for (attr, _value), synonyms in TAG_SYNONYMS.items():
        assert len({vocab[s] for s in synonyms}) == 1, (attr, synonyms)
    rng = np.random.default_rng(0)
    for combo in COMBOS[::7]:
        tags = tags_for(combo, rng)
        assert all(t in vocab for t in tags)
        assert len(tags) == (4 if combo.pitch else 3)
        # same combination, independently drawn synonyms -> same cluster set (Hybrid-NCE extra positive)
        assert tag_cluster_set(tags, vocab) == tag_cluster_set(tags_for(combo, rng), vocab)
    a, b = Combo("sine tone", "high", "steady", "loud"), Combo("sine tone", "very high", "steady", "loud")
    assert tag_cluster_set(tags_for(a, rng), vocab) != tag_cluster_set(tags_for(b, rng), vocab)
    assert tags_for(a, rng, ["sound_type"])[0] in TAG_SYNONYMS[("sound_type", "sine tone")]


def test_invalid_combo_rejected():
    with pytest.raises(ValueError, match="unpitched"):
        Combo("white noise", "high", "steady", "loud")
    with pytest.raises(ValueError, match="pitch"):
        Combo("sine tone", None, "steady", "loud")
    with pytest.raises(ValueError, match="pattern"):
        Combo("sine tone", "low", "wobbling", "loud")


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path: Path):
    runs = [generate_dataset(tmp_path / name, 12, seed=s) for name, s in (("a", 3), ("b", 3), ("c", 4))]
    assert runs[0].read_bytes() == runs[1].read_bytes()
    assert runs[0].read_bytes() != runs[2].read_bytes()
    wavs = sorted((tmp_path / "a" / "audio").glob("*.wav"))
    assert len(wavs) == 12
    for wav in wavs:
        assert wav.read_bytes() == (tmp_path / "b" / "audio" / wav.name).read_bytes()
    assert wavs[0].read_bytes() != (tmp_path / "c" / "audio" / wavs[0].name).read_bytes()


def test_manifest_lines_and_audio_files(tmp_path: Path):
    manifest = generate_dataset(tmp_path, 20, seed=1, split_name="val", clip_seconds=(1.0, 1.2), n_captions=3)
    assert manifest == tmp_path / "val.jsonl"
    assert json.loads(manifest.read_text().splitlines()[0])["audio"] == "audio/val_00000.wav"
    items = read_manifest(manifest)
    assert [it.id for it in items] == [f"val_{i:05d}" for i in range(20)]
    for it in items:
        audio, sr = sf.read(it.audio, dtype="float32")
        assert sr == SR and audio.ndim == 1 and 1.0 <= len(audio) / SR <= 1.2
        assert sf.info(str(it.audio)).subtype == "PCM_16"
        meta = it.metadata
        combo = COMBOS[meta["combo_id"]]
        assert (combo.sound_type, combo.pitch, combo.pattern, combo.loudness) == (
            meta["sound_type"],
            meta["pitch"],
            meta["pattern"],
            meta["loudness"],
        )
        assert len(it.captions) == 3 == len(set(it.captions)) and it.caption_long == it.captions[0]
        assert it.caption_short == short_caption(combo)
        assert [k for k, _ in it.granularities()] == ["long", "short", "tags"]
        if combo.pitch is not None:
            lo, hi = PITCH_BANDS_HZ[combo.pitch]
            assert lo <= meta["frequency_hz"] <= hi
    assert len({it.metadata["combo_id"] for it in items}) == 20  # balanced: no repeated combination
    assert json.loads((tmp_path / "tag_vocabulary.json").read_text()) == synthetic_tag_vocabulary()


def test_other_sample_rate(tmp_path: Path):
    manifest = generate_dataset(tmp_path, 3, seed=0, sample_rate=22050, clip_seconds=(0.5, 0.5))
    audio, sr = sf.read(read_manifest(manifest)[0].audio)
    assert sr == 22050 and len(audio) == round(0.5 * 22050)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"clip_seconds": (0.05, 1.0)}, "clip_seconds"),
        ({"clip_seconds": (2.0, 1.0)}, "clip_seconds"),
        ({"sample_rate": 4000}, "sample_rate"),
        ({"n_captions": 9}, "n_captions"),
        ({"tag_attributes": ["colour"]}, "tag_attributes"),
        ({"split_name": "a/b"}, "split_name"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate_dataset(tmp_path, 2, seed=0, **kwargs)


def test_plan_combos_balanced_and_pool():
    assert len(set(plan_combos(200, 5))) == 200
    counts = Counter(plan_combos(2 * N_COMBOS + 10, 5))
    assert set(counts) == set(range(N_COMBOS)) and set(counts.values()) <= {2, 3}
    assert set(plan_combos(50, 5, pool=[1, 2, 3])) == {1, 2, 3}
    assert plan_combos(30, 5, balanced=False) == plan_combos(30, 5, balanced=False)
    with pytest.raises(ValueError, match="pool"):
        plan_combos(3, 0, pool=[N_COMBOS])


def test_splits_use_disjoint_seeds_and_training_combos(tmp_path: Path):
    paths = generate_splits(tmp_path, n_train=30, n_val=4, n_test=12, seed=9, clip_seconds=(1.0, 1.0))
    assert set(paths) == {"train", "validation", "test"}
    split = {name: read_manifest(p) for name, p in paths.items()}
    train_combos = {it.metadata["combo_id"] for it in split["train"]}
    for name in ("validation", "test"):
        combos = [it.metadata["combo_id"] for it in split[name]]
        assert set(combos) <= train_combos and len(set(combos)) == len(combos)
    first = [sf.read(split[name][0].audio)[0] for name in paths]
    assert not np.array_equal(first[0], first[2])
    assert "test" not in generate_splits(tmp_path / "x", n_train=2, n_val=1, n_test=0, seed=1)


@pytest.mark.parametrize("sound_type", ["sine tone", "square tone", "sawtooth tone", "triangle tone"])
@pytest.mark.parametrize("pitch", PITCHES)
def test_tone_fundamental_lies_in_its_band(sound_type, pitch):
    x, params = _render(sound_type, pitch)
    lo, hi = PITCH_BANDS_HZ[pitch]
    assert lo - 2 <= _dominant_hz(x) <= hi + 2
    assert abs(_dominant_hz(x) - params["frequency_hz"]) < 3


@pytest.mark.parametrize("pitch", ["very low", "mid", "very high"])
def test_click_and_band_noise_energy_in_band(pitch):
    lo, hi = PITCH_BANDS_HZ[pitch]
    x, _ = _render("click train", pitch, seed=2)
    assert 0.85 * lo <= _dominant_hz(x) <= 1.15 * hi
    x, _ = _render("band-pass noise", pitch, seed=2)
    power = np.abs(np.fft.rfft(x)) ** 2
    median_hz = np.fft.rfftfreq(len(x), 1 / SR)[np.searchsorted(np.cumsum(power), power.sum() / 2)]
    assert 0.8 * lo <= median_hz <= 1.25 * hi


@pytest.mark.parametrize("pitch", PITCHES)
def test_chirps_move_the_right_way(pitch):
    for sound_type, sign in (("rising chirp", 1), ("falling chirp", -1)):
        x, params = _render(sound_type, pitch, seed=3)
        third = len(x) // 3
        start, end = _dominant_hz(x[:third]), _dominant_hz(x[-third:])
        assert sign * (end - start) > 0.3 * params["frequency_hz"]


def test_noise_colours_tilt_downwards():
    def high_to_low(sound_type):
        x, _ = _render(sound_type, None, seed=4)
        power = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / SR)
        return power[(f > 2000) & (f < 6000)].sum() / power[(f > 50) & (f < 500)].sum()

    white, pink, brown = (high_to_low(t) for t in ("white noise", "pink noise", "brown noise"))
    assert white > 3 * pink > 0 and pink > 3 * brown > 0


def test_loudness_levels_are_ordered_for_every_type():
    lowest_loud, highest_quiet = np.inf, 0.0
    for sound_type in SOUND_TYPES:
        pitch = "mid" if sound_type in PITCHED_TYPES else None
        rms = {}
        for loudness in ("quiet", "moderate", "loud"):
            x, _ = _render(sound_type, pitch, loudness=loudness, seed=5)
            assert np.max(np.abs(x)) <= 0.99
            rms[loudness] = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
        assert rms["quiet"] < rms["moderate"] < rms["loud"], sound_type
        lowest_loud, highest_quiet = min(lowest_loud, rms["loud"]), max(highest_quiet, rms["quiet"])
    assert lowest_loud > 3 * highest_quiet


@pytest.mark.parametrize("sound_type", ["sine tone", "sawtooth tone", "white noise"])
def test_temporal_patterns(sound_type):
    pitch = None if sound_type == "white noise" else "low"
    quarter = lambda x: [float(np.sqrt(np.mean(q**2))) for q in np.array_split(x, 4)]  # noqa: E731
    q = quarter(_render(sound_type, pitch, "fading in")[0])
    assert q[3] > 2 * q[1] > 0 and q[1] > q[0]
    q = quarter(_render(sound_type, pitch, "fading out")[0])
    assert q[0] > 2 * q[2] > 0 and q[2] > q[3]
    q = quarter(_render(sound_type, pitch, "swelling")[0])
    assert min(q[1], q[2]) > 1.5 * max(q[0], q[3])
    steady = _frame_rms(_render(sound_type, pitch, "steady")[0])[2:-2]
    assert steady.min() > 0.5 * steady.max()
    for seed in range(4):
        assert _segments(_render(sound_type, pitch, "two bursts", seed=seed)[0]) == 2
        assert _segments(_render(sound_type, pitch, "pulsing", seed=seed)[0]) >= 4


def test_captions_name_every_attribute():
    rng = np.random.default_rng(0)
    for combo in COMBOS:
        captions = long_captions(combo, rng, 5)
        assert len(set(captions)) == 5
        for text in captions:
            low = text.lower()
            assert text[0].isupper() and text.endswith(".") and "  " not in text
            assert any(noun in low for noun in _TYPE_NOUNS[combo.sound_type])
            assert any(w in low for w in _LOUD_ADJ[combo.loudness] + _LOUD_NOUN[combo.loudness])
            assert any(v in low for v in _PATTERN_VERB[combo.pattern])
            if combo.pitch is None:
                assert "pitch" not in low and "frequency" not in low
            else:
                word = _PITCH_WORD[combo.pitch]
                options = (f"{word} pitch", f"{word} frequency", *_PITCH_ADJ[combo.pitch])
                assert any(w in low for w in options)
            assert " a a" not in low and " a u" not in low
    loud_sine = Combo("sine tone", "high", "pulsing", "loud")
    assert short_caption(loud_sine) == "a loud pulsing high-pitched sine tone"
    quiet_pink = Combo("pink noise", None, "two bursts", "quiet")
    assert short_caption(quiet_pink) == "a quiet double-burst pink noise"
    assert len({short_caption(c) for c in COMBOS}) == N_COMBOS
