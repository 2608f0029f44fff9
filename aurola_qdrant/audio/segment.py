"""`AudioSegment`, the unit of audio the embedder takes, and `load_audio`, which makes one from a file."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .decode import check_decoded_length, ensure_finite, open_audio, read_frames
from .resample import SAMPLE_RATE, mix_to_mono, prepare_waveform, resample_to_model_rate

__all__ = ["AudioSegment", "load_audio"]


@dataclass(frozen=True, eq=False)
class AudioSegment:
    """A mono 16 kHz waveform cut from a source, with where it came from.

    Attributes:
        waveform: float32, shape (samples,), mono, at ``sample_rate``.
        sample_rate: always `SAMPLE_RATE` (16000).
        start_s, end_s: bounds of the segment within the source, in seconds of the source's own timeline.
        source: the file path, or None for in-memory audio.
        orig_sample_rate: the source's native rate in Hz.
        channels: the source's channel count (the waveform itself is always mono).
        source_duration_s: the whole source's duration in seconds.

    Compared by identity (``eq=False``): two segments with equal samples are still different objects.
    """

    waveform: np.ndarray
    sample_rate: int
    start_s: float
    end_s: float
    source: str | None
    orig_sample_rate: int
    channels: int
    source_duration_s: float

    def __post_init__(self) -> None:
        w = self.waveform
        if not isinstance(w, np.ndarray) or w.ndim != 1 or w.dtype != np.float32 or w.size == 0:
            shape, dtype = getattr(w, "shape", None), getattr(w, "dtype", type(w).__name__)
            raise InputError(
                f"AudioSegment.waveform must be a non-empty 1-D float32 array, got shape={shape} "
                f"dtype={dtype}; build segments with load_audio, iter_windows or AudioSegment.from_array"
            )
        if self.sample_rate != SAMPLE_RATE:
            raise InputError(
                f"AudioSegment.sample_rate={self.sample_rate!r}; segments are at {SAMPLE_RATE} Hz, "
                "resample with prepare_waveform first"
            )
        if not (0.0 <= self.start_s <= self.end_s) or not math.isfinite(self.end_s):
            raise InputError(
                f"AudioSegment bounds start_s={self.start_s!r}, end_s={self.end_s!r} are invalid"
            )

    @property
    def duration_s(self) -> float:
        """``end_s - start_s``: the span of the source this segment covers, in seconds."""
        return self.end_s - self.start_s

    @classmethod
    def from_array(cls, waveform: np.ndarray, sample_rate: int, *, source: str | None = None) -> AudioSegment:
        """Wrap an in-memory ``(waveform, sample_rate)`` as a whole-source segment (`prepare_waveform`)."""
        w = np.asarray(waveform)
        mono = prepare_waveform(w, sample_rate, source=source or "<array>")
        frames = max(w.shape) if w.ndim == 2 else w.shape[0]  # prepare_waveform refused anything else
        channels = min(w.shape) if w.ndim == 2 else 1
        duration = frames / int(sample_rate)
        return cls(mono, SAMPLE_RATE, 0.0, duration, source, int(sample_rate), channels, duration)


def load_audio(
    path: str | os.PathLike[str], *, start_s: float = 0.0, end_s: float | None = None
) -> AudioSegment:
    """Decode ``path`` (or the range [start_s, end_s) of it) to a mono 16 kHz float32 segment.

    Channels are averaged first, then the result is resampled with soxr HQ, exactly as
    ``librosa.load(path, sr=16000, mono=True)`` does; the waveform has ``ceil(n * 16000 / sr)`` samples for
    ``n`` decoded frames. A sub-range seeks to ``round(start_s * sr)`` and decodes only up to
    ``round(end_s * sr)``; ``end_s`` past the end is clamped to the duration. All-silent audio is valid and
    returned as is. Nothing that fails to decode is ever replaced by silence.

    Raises:
        AudioDecodeError: ``missing``, ``unreadable``, ``corrupt``, ``truncated``, ``empty``,
            ``unsupported-format`` or ``non-finite`` (see `open_audio`).
        InputError: a range that is negative, empty or starts at or after the end of the file.
    """
    if not (math.isfinite(start_s) and start_s >= 0.0) or (end_s is not None and not end_s > start_s):
        raise InputError(f"bad range start_s={start_s!r}, end_s={end_s!r}; need 0 <= start_s < end_s")
    with open_audio(path) as (handle, info):
        sr = info.sample_rate
        stop_s = info.duration_s if end_s is None else min(float(end_s), info.duration_s)
        first, stop = round(start_s * sr), min(info.frames, round(stop_s * sr))
        if stop <= first:
            raise InputError(
                f"range start_s={start_s!r}, end_s={end_s!r} holds no audio in {str(path)!r} "
                f"(duration {info.duration_s:.3f} s)"
            )
        data = read_frames(handle, stop - first, path, start=first or None)
    check_decoded_length(data.shape[0], stop - first, info)
    ensure_finite(data, path)
    mono = mix_to_mono(data)
    if mono.shape[0] < stop - first:  # tolerated MP3 length-estimate slack only
        mono = np.concatenate([mono, np.zeros(stop - first - mono.shape[0], dtype=np.float32)])
    waveform = resample_to_model_rate(mono, sr)
    return AudioSegment(
        waveform=waveform,
        sample_rate=SAMPLE_RATE,
        start_s=float(start_s),
        end_s=float(stop_s),
        source=str(path),
        orig_sample_rate=sr,
        channels=info.channels,
        source_duration_s=info.duration_s,
    )
