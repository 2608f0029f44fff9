"""Fixed-length windows over long recordings, planned from the duration alone and streamed from disk.

Windowing is this project's own extension: the official AuroLA evaluation embeds each clip whole (METHOD.md).

Tail policy (shared by `plan_windows` and `iter_windows`):
    * a source no longer than one window gives exactly one segment, the whole source;
    * otherwise windows start at 0, hop, 2*hop, ... while they fit inside the source; the audio left after
      the last of them (the tail) is
        - nothing (within half a 16 kHz sample): done;
        - shorter than ``min_last_s``: merged into the last window, which then ends at the end of the source
          (so the last window is up to ``window_s + min_last_s`` long);
        - otherwise: covered by one more full-length window aligned to end at the end of the source (it
          overlaps the window before it).
    Every second of the source is therefore covered, and no window is shorter than ``window_s``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np
import soxr

from ..errors import InputError
from .decode import AudioInfo, audio_info, check_decoded_length, ensure_finite, open_audio, read_frames
from .resample import SAMPLE_RATE, SOXR_QUALITY, mix_to_mono, model_length
from .segment import AudioSegment

__all__ = ["DEFAULT_BLOCK_S", "DEFAULT_MIN_LAST_S", "iter_windows", "plan_windows"]

DEFAULT_MIN_LAST_S = 1.0
"""Tails shorter than this (seconds) are merged into the last window rather than given their own."""

DEFAULT_BLOCK_S = 5.0
"""Seconds of source audio decoded per read while streaming."""

_EPS_S = 0.5 / SAMPLE_RATE  # half an output sample: below this, two instants are the same sample
_DECIMALS = 6  # bounds are rounded to microseconds so that they print and hash the same everywhere


def plan_windows(
    duration_s: float, window_s: float, hop_s: float | None = None, *, min_last_s: float = DEFAULT_MIN_LAST_S
) -> list[tuple[float, float]]:
    """Window bounds ``[(start_s, end_s), ...]`` for a source of ``duration_s`` seconds, without decoding.

    ``hop_s`` defaults to ``window_s`` (no overlap) and must satisfy ``0 < hop_s <= window_s``. The tail
    policy is in this module's docstring. Starts and ends are non-decreasing; the first start is 0.0 and
    the last end is exactly ``duration_s``. `iter_windows` yields exactly these bounds for a file whose
    header duration (`audio_info`) is ``duration_s``.

    Raises:
        InputError: a non-positive or non-finite duration/window, a hop outside (0, window], a negative
            ``min_last_s``.
    """
    hop = window_s if hop_s is None else hop_s
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise InputError(f"duration_s={duration_s!r}; need a positive number of seconds")
    if not (math.isfinite(window_s) and window_s > 0):
        raise InputError(f"window_s={window_s!r}; need a positive number of seconds, e.g. 10.0")
    if not (math.isfinite(hop) and 0 < hop <= window_s):
        raise InputError(f"hop_s={hop_s!r}; need 0 < hop_s <= window_s={window_s!r} (gaps are not supported)")
    if not (math.isfinite(min_last_s) and min_last_s >= 0):
        raise InputError(f"min_last_s={min_last_s!r}; need a non-negative number of seconds")
    duration_s, window_s, hop = float(duration_s), float(window_s), float(hop)
    if duration_s <= window_s + _EPS_S:
        return [(0.0, duration_s)]
    n_full = math.floor((duration_s - window_s + _EPS_S) / hop) + 1
    bounds = [(round(k * hop, _DECIMALS), round(k * hop + window_s, _DECIMALS)) for k in range(n_full)]
    tail = duration_s - ((n_full - 1) * hop + window_s)
    if tail <= _EPS_S or tail < min_last_s:  # no tail, or one short enough to merge into the last window
        bounds[-1] = (bounds[-1][0], duration_s)
    else:
        bounds.append((round(duration_s - window_s, _DECIMALS), duration_s))
    return bounds


def iter_windows(
    path: str | os.PathLike[str],
    window_s: float,
    hop_s: float | None = None,
    *,
    min_last_s: float = DEFAULT_MIN_LAST_S,
    block_s: float = DEFAULT_BLOCK_S,
) -> Iterator[AudioSegment]:
    """Stream ``path`` as 16 kHz mono segments with the bounds of `plan_windows` (header duration).

    The file is decoded ``block_s`` seconds at a time, each block is averaged to mono and fed to one
    `soxr.ResampleStream` (quality HQ), so the 16 kHz stream is continuous across blocks: it equals the
    one-shot resampling of the whole file, not a concatenation of separately resampled pieces. Window
    ``(s, e)`` is samples ``round(s * 16000):round(e * 16000)`` of that stream. At most about
    ``window_s + block_s`` seconds of audio are held at once, whatever the file's length.

    The header is checked when this is called (so a missing or corrupt file raises here); decoding errors
    found later (``truncated``, ``non-finite``) are raised by the iterator, after the windows before them
    were yielded. Note that a window from here may differ from ``load_audio(path, start_s=s, end_s=e)`` in
    its first and last few milliseconds, where that one-shot resampling of the cut sees the cut's edges.

    Raises:
        AudioDecodeError: as `load_audio`.
        InputError: as `plan_windows`, or a non-positive ``block_s``.
    """
    if not (math.isfinite(block_s) and block_s > 0):
        raise InputError(f"block_s={block_s!r}; need a positive number of seconds, e.g. 5.0")
    info = audio_info(path)
    bounds = plan_windows(info.duration_s, window_s, hop_s, min_last_s=min_last_s)
    return _stream(path, info, bounds, max(1, round(block_s * info.sample_rate)))


def _stream(
    path: str | os.PathLike[str], info: AudioInfo, bounds: list[tuple[float, float]], block: int
) -> Iterator[AudioSegment]:
    sr = info.sample_rate
    resampler = None
    if sr != SAMPLE_RATE:
        resampler = soxr.ResampleStream(sr, SAMPLE_RATE, 1, dtype="float32", quality=SOXR_QUALITY)
    stream_len = model_length(info.frames, sr)  # what a one-shot (librosa-style) resampling would give
    buf = np.zeros(0, dtype=np.float32)
    buf_start = 0  # index in the 16 kHz stream of buf[0]
    produced = 0  # 16 kHz samples produced so far
    read = 0  # source frames decoded so far
    with open_audio(path) as (handle, _):
        for start_s, end_s in bounds:
            first, stop = round(start_s * SAMPLE_RATE), round(end_s * SAMPLE_RATE)
            buf, buf_start = buf[max(0, first - buf_start) :], max(buf_start, first)
            while produced < stop and read < info.frames:
                want = min(block, info.frames - read)
                data = read_frames(handle, want, path)
                read += data.shape[0]
                if data.shape[0] < want:  # ends early: truncated, unless it is MP3 length slack
                    check_decoded_length(read, info.frames, info)
                ensure_finite(data, path)
                mono = mix_to_mono(data)
                if data.shape[0] < want:
                    mono = np.concatenate([mono, np.zeros(info.frames - read, dtype=np.float32)])
                    read = info.frames
                last = read >= info.frames
                out = mono if resampler is None else resampler.resample_chunk(mono, last=last)
                if last and produced + out.shape[0] < stream_len:  # pad to the ceiling, as load_audio does
                    out = np.concatenate([out, np.zeros(stream_len - produced - out.shape[0], np.float32)])
                produced += out.shape[0]
                buf = np.concatenate([buf, out[max(0, buf_start - (produced - out.shape[0])) :]])
            yield AudioSegment(
                waveform=buf[first - buf_start : stop - buf_start].copy(),
                sample_rate=SAMPLE_RATE,
                start_s=start_s,
                end_s=end_s,
                source=str(path),
                orig_sample_rate=sr,
                channels=info.channels,
                source_duration_s=info.duration_s,
            )
