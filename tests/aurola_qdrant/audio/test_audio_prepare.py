"""prepare_waveform: layouts, dtypes and validation of in-memory (waveform, sample_rate) items."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soxr

from aurola_qdrant.audio import prepare_waveform
from aurola_qdrant.errors import AudioDecodeError, InputError

RNG = np.random.default_rng(7)
STEREO = RNG.uniform(-0.5, 0.5, (22050, 2)).astype(np.float32)  # (frames, channels)


def _expected_mono(frames_by_channels: np.ndarray, sr: int) -> np.ndarray:
    mono = np.mean(frames_by_channels.T, axis=0)
    out = soxr.resample(mono, sr, 16000, quality="HQ")
    n = math.ceil(mono.shape[0] * 16000 / sr)
    return np.pad(out, (0, n - out.shape[0]))[:n]


def test_both_2d_layouts_give_the_same_result():
    a = prepare_waveform(STEREO, 22050)
    b = prepare_waveform(np.ascontiguousarray(STEREO.T), 22050)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, _expected_mono(STEREO, 22050))
    assert a.dtype == np.float32 and a.shape == (16000,)


def test_mono_layouts_agree():
    mono = STEREO[:, 0].copy()
    ref = prepare_waveform(mono, 22050)
    np.testing.assert_array_equal(ref, prepare_waveform(mono[None, :], 22050))
    np.testing.assert_array_equal(ref, prepare_waveform(mono[:, None], 22050))


def test_16k_input_is_returned_as_a_copy():
    x = STEREO[:, 0].copy()
    out = prepare_waveform(x, 16000)
    np.testing.assert_array_equal(out, x)
    out[0] = 5.0
    assert x[0] != 5.0


@pytest.mark.parametrize(
    ("dtype", "scale", "offset"),
    [
        (np.int16, 2**15, 0),
        (np.int32, 2**31, 0),
        (np.int8, 2**7, 0),
        (np.uint8, 2**7, 2**7),
        (np.float64, 1, 0),
    ],
)
def test_dtypes_are_scaled_to_unit_range(dtype, scale, offset):
    ints = np.array([0, 0.25, -0.5, 0.99] * 100)
    x = (ints * scale + offset).astype(dtype)
    out = prepare_waveform(x, 16000)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ints, atol=1.0 / 2**7)


def test_six_channels_channel_first():
    x = RNG.uniform(-0.5, 0.5, (6, 4800)).astype(np.float32)
    np.testing.assert_array_equal(prepare_waveform(x, 48000), _expected_mono(x.T, 48000))


@pytest.mark.parametrize("shape", [(40, 40), (32, 64), (2, 2, 100), ()])
def test_ambiguous_or_bad_shapes_are_refused(shape):
    with pytest.raises(InputError, match="shape"):
        prepare_waveform(np.zeros(shape, np.float32), 16000)


@pytest.mark.parametrize("sr", [0, -16000, 16000.0, True, "16000"])
def test_bad_sample_rates_are_refused(sr):
    with pytest.raises(InputError, match="sample_rate"):
        prepare_waveform(np.zeros(100, np.float32), sr)


def test_empty_and_non_finite_are_decode_errors():
    with pytest.raises(AudioDecodeError, match="empty") as info:
        prepare_waveform(np.zeros((0,), np.float32), 16000, source="clip-7")
    assert info.value.path == "clip-7"
    bad = np.zeros(1000, np.float32)
    bad[3] = np.nan
    with pytest.raises(AudioDecodeError, match="non-finite"):
        prepare_waveform(bad, 16000)


def test_complex_and_bool_dtypes_are_refused():
    for x in (np.zeros(100, np.complex64), np.zeros(100, bool)):
        with pytest.raises(InputError, match="dtype"):
            prepare_waveform(x, 16000)
