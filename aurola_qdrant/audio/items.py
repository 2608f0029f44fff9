"""Audio items: the three ways a caller hands audio to a model, and their one conversion to samples.

An `AudioItem` is a file path, a ``(waveform, sample_rate)`` pair or an `AudioSegment`. Every model
(`AurolaEmbedder`, `AurolaReranker`, the fakes in `aurola_qdrant.testing`) and the search classes take
them through `to_waveform`, so they all decode, resample and refuse overlong files the same way.
"""

from __future__ import annotations

import os
from typing import Any, TypeAlias

import numpy as np

from ..errors import AudioTooLongError, InputError
from .decode import audio_info
from .resample import prepare_waveform
from .segment import AudioSegment, load_audio

__all__ = ["AudioItem", "is_single_item", "to_waveform"]

# A path, a (waveform, sample_rate) pair or an AudioSegment. The pair's waveform may be any array-like
# that `prepare_waveform` takes, so the alias stays wide rather than naming np.ndarray alone.
AudioItem: TypeAlias = str | os.PathLike[str] | tuple[Any, int] | AudioSegment


def is_single_item(items: object) -> bool:
    """Whether ``items`` is one audio item rather than a sequence of them (a path, or an array pair)."""
    return isinstance(items, str | os.PathLike) or (
        isinstance(items, tuple) and len(items) == 2 and isinstance(items[0], np.ndarray)
    )


def to_waveform(item: AudioItem, max_seconds: float | None = None) -> tuple[np.ndarray, str]:
    """Mono 16 kHz float32 samples and a printable source name for any supported audio item.

    Raises:
        AudioDecodeError: a file that cannot be decoded.
        AudioTooLongError: a file longer than ``max_seconds`` (read from its header, before decoding).
        InputError: anything that is not an audio item.
    """
    if isinstance(item, str | os.PathLike):
        path = os.fspath(item)
        if max_seconds is not None:
            info = audio_info(path)  # refuse overlong files from the header, before decoding them
            if info.duration_s > max_seconds:
                raise AudioTooLongError(
                    f"{path}: {info.duration_s:.1f} s exceeds the feature extractor's maximum of "
                    f"{max_seconds:.0f} s; split it with aurola_qdrant.iter_windows first"
                )
        return load_audio(path).waveform, path
    if isinstance(item, AudioSegment):
        name = f"{item.source or '<segment>'}[{item.start_s:.2f}-{item.end_s:.2f}s]"
        return item.waveform, name
    if isinstance(item, tuple) and len(item) == 2:
        return prepare_waveform(item[0], item[1]), "<array>"
    raise InputError(
        f"unsupported audio item of type {type(item).__name__}: pass a path, a (waveform, sample_rate) "
        "pair or an AudioSegment"
    )
