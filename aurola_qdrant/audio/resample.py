"""Mono mix-down and resampling to the model rate, numerically the same as ``librosa.load(sr=16000)``.

The official AuroLA loader is ``librosa.load(path, sr=16000, mono=True)``: decode as float32, average the
channels (float32 mean over a (channels, frames) view), resample with soxr at quality HQ, and fix the length
to ``ceil(frames * 16000 / sr)``. These functions do exactly those operations in that order, so a vector
computed from our waveform matches one computed from librosa's.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import soxr

from ..errors import AudioDecodeError, InputError

__all__ = [
    "SAMPLE_RATE",
    "SOXR_QUALITY",
    "mix_to_mono",
    "model_length",
    "prepare_waveform",
    "resample_to_model_rate",
]

SAMPLE_RATE = 16000
"""The rate every waveform handed to the model has, in Hz (Whisper feature extractor)."""

SOXR_QUALITY = "HQ"
"""soxr quality preset; librosa's default ``res_type="soxr_hq"`` is the same preset."""

# A 2-D array whose smaller side is at most this long is read as (channels, frames) or (frames, channels).
_MAX_CHANNELS = 16


def mix_to_mono(frames_by_channels: np.ndarray) -> np.ndarray:
    """Average a float32 (frames, channels) block to a 1-D float32 (frames,) array.

    The mean runs over axis 0 of the transposed view, as librosa does, so results are bit-identical.
    """
    if frames_by_channels.shape[1] == 1:
        return np.ascontiguousarray(frames_by_channels[:, 0])
    return np.mean(frames_by_channels.T, axis=0)


def model_length(n_frames: int, sample_rate: int) -> int:
    """Samples at 16 kHz that ``n_frames`` at ``sample_rate`` become: ``ceil(n * 16000 / sr)``."""
    return math.ceil(n_frames * (float(SAMPLE_RATE) / sample_rate))


def resample_to_model_rate(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """Resample a 1-D float32 waveform to 16 kHz (soxr HQ, one shot), length ``model_length(len, sr)``."""
    if sample_rate == SAMPLE_RATE:
        return mono
    out = soxr.resample(mono, sample_rate, SAMPLE_RATE, quality=SOXR_QUALITY)
    n = model_length(mono.shape[0], sample_rate)
    if out.shape[0] < n:  # soxr rounds the length, librosa pads to the ceiling with zeros
        out = np.concatenate([out, np.zeros(n - out.shape[0], dtype=out.dtype)])
    return np.ascontiguousarray(out[:n], dtype=np.float32)


def _to_float32(x: np.ndarray, source: str) -> np.ndarray:
    if x.dtype.kind == "f":
        return x.astype(np.float32, copy=False)
    if x.dtype.kind == "i":  # full scale of a signed integer is 2**(bits-1)
        return (x.astype(np.float64) / float(2 ** (8 * x.dtype.itemsize - 1))).astype(np.float32)
    if x.dtype.kind == "u":  # unsigned PCM (e.g. 8-bit WAV) is offset binary around the midpoint
        half = float(2 ** (8 * x.dtype.itemsize - 1))
        return ((x.astype(np.float64) - half) / half).astype(np.float32)
    raise InputError(f"audio array {source!r} has dtype {x.dtype}; pass float or integer PCM samples")


def _to_frames_by_channels(x: np.ndarray, source: str) -> np.ndarray:
    if x.ndim == 1:
        return x[:, None]
    if x.ndim != 2:
        raise InputError(f"audio array {source!r} has shape {x.shape}; pass 1-D mono or 2-D multichannel")
    rows, cols = x.shape
    if rows < cols and rows <= _MAX_CHANNELS:
        return x.T  # (channels, frames), the librosa/torch layout
    if cols < rows and cols <= _MAX_CHANNELS:
        return x  # (frames, channels), the soundfile layout
    raise InputError(
        f"audio array {source!r} has ambiguous shape {x.shape}; pass (frames, channels) or (channels, frames)"
        f" with at most {_MAX_CHANNELS} channels and more frames than channels"
    )


def prepare_waveform(waveform: np.ndarray, sample_rate: int, *, source: str = "<array>") -> np.ndarray:
    """Turn an in-memory waveform into what the model takes: 1-D float32 mono at 16 kHz.

    Args:
        waveform: 1-D mono, or 2-D in either layout: (frames, channels) as soundfile returns it or
            (channels, frames) as librosa/torchaudio return it. The smaller side is taken as the channel
            axis when it has at most 16 entries and the other side is longer; anything else is refused.
            Float dtypes are used as is (expected in [-1, 1]); integer PCM is scaled to [-1, 1]
            (signed by 2**(bits-1), unsigned around its midpoint).
        sample_rate: rate of ``waveform`` in Hz, a positive int.
        source: how to name this input in error messages.

    Returns:
        A new float32 array of shape (ceil(frames * 16000 / sample_rate),); channels averaged first, then
        resampled with soxr HQ. All-zero (silent) audio is valid and returned as is.

    Raises:
        InputError: bad sample rate, dtype or shape.
        AudioDecodeError: ``empty`` for zero frames, ``non-finite`` for NaN/Inf samples.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Integral) or sample_rate <= 0:
        raise InputError(f"sample_rate={sample_rate!r} for {source!r}; pass a positive int in Hz, e.g. 44100")
    x = _to_frames_by_channels(np.asarray(waveform), source)
    if x.shape[0] == 0:
        raise AudioDecodeError(source, "empty", f"array of shape {np.shape(waveform)} has no frames")
    x = _to_float32(x, source)
    if not np.isfinite(x).all():
        raise AudioDecodeError(source, "non-finite", "the array holds NaN or infinite samples")
    mono = mix_to_mono(x)
    out = resample_to_model_rate(mono, int(sample_rate))
    return out.copy() if np.may_share_memory(out, waveform) else out
