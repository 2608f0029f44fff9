"""Fixtures for the audio tests: files written into tmp_path with soundfile."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

Writer = Callable[..., Path]


def tone(frames: int, sample_rate: int, channels: int = 1, *, seed: int = 0) -> np.ndarray:
    """(frames, channels) float32: a different chirp-plus-noise per channel, well inside [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / sample_rate
    cols = [
        0.4 * np.sin(2 * np.pi * (220 + 110 * c) * t * (1 + 0.5 * t)) + 0.05 * rng.standard_normal(frames)
        for c in range(channels)
    ]
    return np.stack(cols, axis=1).astype(np.float32)


@pytest.fixture
def write_audio(tmp_path: Path) -> Writer:
    """write_audio(name, seconds=1.0, sr=16000, channels=1, format=None, subtype=None, data=None) -> path."""

    def _write(
        name: str,
        seconds: float = 1.0,
        sr: int = 16000,
        channels: int = 1,
        format: str | None = None,
        subtype: str | None = None,
        data: np.ndarray | None = None,
    ) -> Path:
        path = tmp_path / name
        if data is None:
            data = tone(round(seconds * sr), sr, channels)
        sf.write(path, data, sr, format=format, subtype=subtype)
        return path

    return _write
