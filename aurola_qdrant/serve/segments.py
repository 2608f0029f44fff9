"""``GET /v1/audio/{point_id}``: a stored segment as WAV, with HTTP range requests, for playback.

The file read is the point's own payload ``source`` (only what the collection stores can be served: no
path from the request is ever opened), cut to ``[start_s, end_s)`` at the source's own sample rate and
channels, written as 16-bit PCM WAV. Rendered segments are kept in a small LRU (by bytes), so a player's
successive range requests decode once.
"""

from __future__ import annotations

import collections
import io
import re
import threading

import numpy as np
import soundfile as sf

from ..audio.decode import open_audio, read_frames
from ..errors import AudioDecodeError
from ..store import AudioStore
from .errors import ApiError
from .inputs import point

__all__ = ["SegmentAudio", "byte_range"]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` (inclusive) of a single-range ``Range`` header, None without one; 416 otherwise."""
    if header is None:
        return None
    found = _RANGE.match(header.strip())
    if found is None or found.group(1) == found.group(2) == "":
        raise ApiError(416, "range_not_satisfiable", f"unsupported Range {header!r}; send bytes=FIRST-LAST")
    first_s, last_s = found.groups()
    if first_s == "":  # suffix: the last N bytes
        first, last = max(0, size - int(last_s)), size - 1
    else:
        first, last = int(first_s), min(int(last_s) if last_s else size - 1, size - 1)
    if first >= size or first > last:
        raise ApiError(416, "range_not_satisfiable", f"Range {header!r} is outside the {size} bytes")
    return first, last


def render_wav(source: str, start_s: float, end_s: float | None) -> bytes:
    """``[start_s, end_s)`` of ``source`` as 16-bit PCM WAV at its own rate and channels."""
    with open_audio(source) as (handle, info):
        sr = info.sample_rate
        first = round(start_s * sr)
        stop = info.frames if end_s is None else min(info.frames, round(end_s * sr))
        if stop <= first:
            raise ApiError(404, "not_found", f"the stored bounds {start_s}-{end_s} s hold no audio")
        data = read_frames(handle, stop - first, source, start=first or None)
    out = io.BytesIO()
    sf.write(out, np.clip(data, -1.0, 1.0), sr, format="WAV", subtype="PCM_16")
    return out.getvalue()


class SegmentAudio:
    """Stored segments as WAV bytes, cached up to ``cache_bytes``."""

    def __init__(self, store: AudioStore, cache_bytes: int) -> None:
        self.store = store
        self.cache_bytes = cache_bytes
        self._cache: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def wav(self, point_id: str) -> bytes:
        """The WAV of ``point_id``'s segment; 404 for an unknown point, 410 when its file is gone."""
        with self._lock:
            if point_id in self._cache:
                self._cache.move_to_end(point_id)
                return self._cache[point_id]
        payload = point(self.store, point_id)
        source = payload.get("source")
        if not isinstance(source, str):
            raise ApiError(404, "not_found", f"point {point_id!r} has no audio source in its payload")
        end = payload.get("end_s")
        try:
            data = render_wav(
                source, float(payload.get("start_s") or 0.0), None if end is None else float(end)
            )
        except AudioDecodeError as err:
            raise ApiError(
                410, "audio_gone", f"the stored audio of point {point_id!r} cannot be read: {err.reason}"
            ) from None
        with self._lock:
            if len(data) <= self.cache_bytes:
                self._cache[point_id] = data
                self._size += len(data)
                while self._size > self.cache_bytes:
                    _, old = self._cache.popitem(last=False)
                    self._size -= len(old)
        return data
