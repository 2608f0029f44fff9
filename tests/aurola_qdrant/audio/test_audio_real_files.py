"""Real-world sound files shipped by Debian packages (see tests/data/real/SOURCES.md) decode and window."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from aurola_qdrant.audio import audio_info, iter_windows, load_audio

REAL = Path(__file__).resolve().parents[2] / "data" / "real"
EXPECTED = {  # name: (format, subtype, sample rate, channels)
    "Front_Center.wav": ("WAV", "PCM_16", 48000, 1),
    "service-login.oga": ("OGG", "VORBIS", 22050, 2),
    "phone-outgoing-busy.oga": ("OGG", "VORBIS", 8000, 1),
    "complete.oga": ("OGG", "VORBIS", 44100, 2),
}


def test_every_real_file_is_listed_in_sources():
    sources = (REAL / "SOURCES.md").read_text()
    on_disk = {p.name for p in REAL.iterdir() if p.name != "SOURCES.md"}
    assert on_disk == set(EXPECTED)
    assert all(name in sources for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_loads(name):
    path = REAL / name
    info = audio_info(path)
    assert (info.format, info.subtype, info.sample_rate, info.channels) == EXPECTED[name]
    assert 0.5 < info.duration_s < 5.0
    seg = load_audio(path)
    assert seg.waveform.shape == (math.ceil(info.frames * 16000 / info.sample_rate),)
    assert np.isfinite(seg.waveform).all() and np.abs(seg.waveform).max() > 0.01
    streamed = np.concatenate([s.waveform for s in iter_windows(path, 60.0)])
    np.testing.assert_allclose(streamed, seg.waveform[: streamed.shape[0]], atol=1e-6)
