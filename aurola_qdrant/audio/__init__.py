"""Audio loading for AuroLA: any file or array in, mono 16 kHz float32 segments out.

- `load_audio` decodes a file (or a range of it) like ``librosa.load(sr=16000, mono=True)``, the official
  AuroLA loader: channels averaged, then soxr HQ resampling.
- `prepare_waveform` does the same for in-memory ``(waveform, sample_rate)`` pairs.
- `to_waveform` turns any `AudioItem` (a path, a ``(waveform, sample_rate)`` pair or an `AudioSegment`) into
  those samples: the one conversion every model and search class uses.
- `iter_windows` streams fixed-length windows of a long recording with bounded memory; `plan_windows`
  computes their bounds from the duration alone, and `audio_info` reads that duration from the header.

Failures raise `aurola_qdrant.errors.AudioDecodeError` with a ``reason`` (``missing``, ``unreadable``,
``corrupt``, ``truncated``, ``empty``, ``unsupported-format``, ``non-finite``); silence is never
substituted for audio that failed to decode. All-silent audio is valid audio.
"""

from __future__ import annotations

from .decode import AudioInfo, audio_info
from .items import AudioItem, to_waveform
from .resample import SAMPLE_RATE, prepare_waveform
from .segment import AudioSegment, load_audio
from .windows import DEFAULT_BLOCK_S, DEFAULT_MIN_LAST_S, iter_windows, plan_windows

__all__ = [
    "DEFAULT_BLOCK_S",
    "DEFAULT_MIN_LAST_S",
    "SAMPLE_RATE",
    "AudioInfo",
    "AudioItem",
    "AudioSegment",
    "audio_info",
    "iter_windows",
    "load_audio",
    "plan_windows",
    "prepare_waveform",
    "to_waveform",
]
