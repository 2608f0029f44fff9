"""plan_windows / iter_windows: tail policy, exact bounds, seamless streaming, bounded memory."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from aurola_qdrant.audio import audio_info, iter_windows, load_audio, plan_windows
from aurola_qdrant.errors import AudioDecodeError, InputError


def test_short_source_is_one_whole_window():
    assert plan_windows(3.2, 10.0) == [(0.0, 3.2)]
    assert plan_windows(10.0, 10.0) == [(0.0, 10.0)]


def test_exact_multiple_has_no_extra_window():
    assert plan_windows(30.0, 10.0) == [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]


def test_long_tail_gets_an_end_aligned_full_window():
    assert plan_windows(25.3, 10.0) == [(0.0, 10.0), (10.0, 20.0), (15.3, 25.3)]


def test_short_tail_is_merged_into_the_last_window():
    assert plan_windows(20.5, 10.0) == [(0.0, 10.0), (10.0, 20.5)]
    assert plan_windows(10.4, 10.0) == [(0.0, 10.4)]
    assert plan_windows(20.5, 10.0, min_last_s=0.0) == [(0.0, 10.0), (10.0, 20.0), (10.5, 20.5)]


def test_overlapping_hop():
    assert plan_windows(25.0, 10.0, 5.0) == [(0.0, 10.0), (5.0, 15.0), (10.0, 20.0), (15.0, 25.0)]
    assert plan_windows(27.0, 10.0, 5.0) == [
        (0.0, 10.0),
        (5.0, 15.0),
        (10.0, 20.0),
        (15.0, 25.0),
        (17.0, 27.0),
    ]


@pytest.mark.parametrize("duration", [0.7, 9.99, 10.0, 10.5, 11.0, 33.3, 100.0, 3601.123])
@pytest.mark.parametrize(("window", "hop"), [(10.0, None), (10.0, 2.5), (3.3, 1.1)])
def test_plans_cover_everything_with_full_length_windows(duration, window, hop):
    bounds = plan_windows(duration, window, hop)
    assert bounds[0][0] == 0.0 and bounds[-1][1] == duration
    starts, ends = [s for s, _ in bounds], [e for _, e in bounds]
    assert starts == sorted(starts) and ends == sorted(ends)
    assert all(b[0] <= a[1] for a, b in itertools.pairwise(bounds))  # no gaps
    for s, e in bounds:
        assert isinstance(s, float) and isinstance(e, float)
        assert e - s >= min(window, duration) - 1e-6
        assert e - s < window + 1.0 + 1e-6  # DEFAULT_MIN_LAST_S


@pytest.mark.parametrize(
    "args", [(0.0, 10.0), (5.0, 0.0), (5.0, 10.0, 11.0), (5.0, 10.0, -1.0), (float("inf"), 1.0)]
)
def test_bad_plans_are_refused(args):
    with pytest.raises(InputError):
        plan_windows(*args)


@pytest.mark.parametrize(
    ("sr", "channels", "seconds", "window", "hop", "block"),
    [
        (44100, 2, 23.7, 5.0, None, 0.37),
        (16000, 1, 12.0, 4.0, 1.5, 1.0),
        (48000, 6, 9.1, 2.0, 2.0, 3.0),
        (22050, 1, 3.0, 10.0, None, 0.5),
    ],
)
def test_windows_match_the_plan_and_the_one_shot_waveform(
    write_audio, sr, channels, seconds, window, hop, block
):
    path = write_audio("w.flac", seconds=seconds, sr=sr, channels=channels)
    whole = load_audio(path).waveform
    segs = list(iter_windows(path, window, hop, block_s=block))
    assert [(s.start_s, s.end_s) for s in segs] == plan_windows(audio_info(path).duration_s, window, hop)
    for seg in segs:
        a, b = round(seg.start_s * 16000), round(seg.end_s * 16000)
        assert seg.waveform.shape == (b - a,) and seg.waveform.dtype == np.float32
        # the streamed resampler agrees with one-shot soxr over the whole file, edges included
        np.testing.assert_allclose(seg.waveform, whole[a:b], rtol=0, atol=1e-6)
        assert (seg.orig_sample_rate, seg.channels, seg.source) == (sr, channels, str(path))


def test_header_errors_raise_at_call_time(tmp_path):
    with pytest.raises(AudioDecodeError, match="missing"):
        iter_windows(tmp_path / "nope.wav", 5.0)
    with pytest.raises(InputError, match="block_s"):
        iter_windows(tmp_path / "nope.wav", 5.0, block_s=0)


def test_nan_in_the_middle_stops_the_stream_after_the_good_windows(write_audio):
    data = np.zeros((16000 * 10, 1), np.float32)
    data[16000 * 7] = np.nan
    segs = []
    with pytest.raises(AudioDecodeError, match="non-finite"):
        for seg in iter_windows(write_audio("n.wav", data=data, subtype="FLOAT"), 2.0, block_s=1.0):
            segs.append(seg)
    assert [s.start_s for s in segs] == [0.0, 2.0, 4.0]  # no silent window stands in for the bad one


def test_truncated_mp3_mid_stream(write_audio):
    path = write_audio("t.mp3", seconds=8.0, sr=44100, format="MP3")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(AudioDecodeError, match="truncated"):
        list(iter_windows(path, 1.0))


def _write_long_stereo(path, seconds: int, sr: int = 48000) -> None:
    """Write a long 16-bit stereo WAV one second at a time, so the test itself stays small in memory."""
    t = np.arange(sr) / sr
    second = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 660 * t)], axis=1)
    with sf.SoundFile(path, "w", sr, 2, "PCM_16") as out:
        for _ in range(seconds):
            out.write(second)


def test_memory_is_bounded_by_the_window_not_the_file(tmp_path):
    path = tmp_path / "long.wav"
    seconds = 20 * 60
    _write_long_stereo(path, seconds)
    decoded_bytes = seconds * 48000 * 2 * 4  # the whole file as float32 stereo: ~460 MB
    tracemalloc.start()
    try:
        count, last_end = 0, 0.0
        for seg in iter_windows(path, 30.0):
            count += 1
            last_end = seg.end_s
            assert seg.waveform.shape == (30 * 16000,)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 40 and last_end == seconds
    assert peak < decoded_bytes / 20, f"peak traced memory {peak / 1e6:.1f} MB"
