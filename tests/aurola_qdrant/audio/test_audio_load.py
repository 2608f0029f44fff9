"""load_audio: the librosa.load(sr=16000, mono=True) pipeline, sample rates, channel counts, ranges."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import soxr

from aurola_qdrant.audio import SAMPLE_RATE, AudioSegment, load_audio
from aurola_qdrant.errors import InputError


def reference_load(path) -> np.ndarray:
    """librosa.load(path, sr=16000, mono=True) written out step by step (librosa is not a dependency)."""
    y, sr = sf.read(path, dtype="float32", always_2d=False)
    y = y.T  # librosa keeps (channels, frames)
    if y.ndim > 1:
        y = np.mean(y, axis=0)
    if sr == SAMPLE_RATE:
        return y
    n = math.ceil(y.shape[-1] * float(SAMPLE_RATE) / sr)
    out = soxr.resample(y, sr, SAMPLE_RATE, quality="soxr_hq")
    return np.pad(out, (0, max(0, n - out.shape[0])))[:n]


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_rates_and_channels_match_the_reference_pipeline(write_audio, sr, channels):
    frames = round(1.3 * sr) + 7  # an odd length, so the ceil-versus-round length rule matters
    data = np.random.default_rng(sr + channels).uniform(-0.5, 0.5, (frames, channels))
    path = write_audio(f"x{sr}_{channels}.wav", sr=sr, subtype="FLOAT", data=data)
    seg = load_audio(path)
    assert seg.sample_rate == SAMPLE_RATE
    assert seg.waveform.dtype == np.float32
    assert seg.waveform.shape == (math.ceil(frames * 16000 / sr),)
    np.testing.assert_array_equal(seg.waveform, reference_load(path))
    assert (seg.start_s, seg.end_s, seg.duration_s) == (0.0, frames / sr, frames / sr)
    assert seg.source_duration_s == frames / sr and seg.channels == channels


def test_channels_are_averaged_before_resampling(write_audio):
    left = np.sin(np.linspace(0, 200, 44100)).astype(np.float32) * 0.5
    path = write_audio("lr.wav", sr=44100, data=np.stack([left, -left], axis=1), subtype="FLOAT")
    seg = load_audio(path)
    assert np.abs(seg.waveform).max() == 0.0  # opposite channels cancel exactly in the mean


def test_range_seeks_and_matches_the_same_slice_resampled(write_audio):
    path = write_audio("long.flac", seconds=6.0, sr=22050, channels=2)
    seg = load_audio(path, start_s=1.5, end_s=4.0)
    full, sr = sf.read(path, dtype="float32", always_2d=True)
    cut = full[round(1.5 * sr) : round(4.0 * sr)]
    ref = soxr.resample(np.mean(cut.T, axis=0), sr, 16000, quality="HQ")
    assert seg.waveform.shape == (math.ceil(cut.shape[0] * 16000 / sr),)
    np.testing.assert_array_equal(seg.waveform[: ref.shape[0]], ref)
    assert (seg.start_s, seg.end_s, seg.source_duration_s) == (1.5, 4.0, 6.0)


def test_range_past_the_end_is_clamped(write_audio):
    seg = load_audio(write_audio("s.wav", seconds=2.0), start_s=1.0, end_s=99.0)
    assert seg.end_s == 2.0 and seg.waveform.shape == (16000,)


@pytest.mark.parametrize(
    ("start", "end"), [(-1.0, None), (1.0, 1.0), (2.0, 1.0), (5.0, None), (float("nan"), None)]
)
def test_bad_ranges_are_input_errors(write_audio, start, end):
    path = write_audio("r.wav", seconds=2.0)
    with pytest.raises(InputError):
        load_audio(path, start_s=start, end_s=end)


def test_segment_validates_its_fields():
    good = np.zeros(10, np.float32)
    with pytest.raises(InputError, match="16000"):
        AudioSegment(good, 8000, 0.0, 1.0, None, 8000, 1, 1.0)
    with pytest.raises(InputError, match="float32"):
        AudioSegment(np.zeros(10), 16000, 0.0, 1.0, None, 8000, 1, 1.0)
    with pytest.raises(InputError, match="bounds"):
        AudioSegment(good, 16000, 2.0, 1.0, None, 8000, 1, 1.0)


def test_segment_from_array():
    seg = AudioSegment.from_array(np.zeros((2, 44100), np.int16), 44100, source="mic")
    assert seg.waveform.shape == (16000,) and seg.channels == 2 and seg.orig_sample_rate == 44100
    assert (seg.start_s, seg.end_s, seg.source) == (0.0, 1.0, "mic")
