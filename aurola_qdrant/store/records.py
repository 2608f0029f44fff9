"""`SegmentRecord` (one segment to store) and the payload field names the store owns.

Payload of every point (file-level facts are repeated on each segment so that any hit is self-contained):

    source        str        path/URI under which the content was first stored
    sources       list[str]  every path/URI this content has been seen under (keyword-indexed)
    file_id       str        SHA-256 of the file bytes (aurola_qdrant.ids.file_id)
    start_s       float      segment start, seconds from the start of the file
    end_s         float      segment end, seconds
    duration_s    float      duration of the whole source file, seconds (not of the segment)
    sample_rate   int        of the source file, Hz
    channels      int        of the source file
    segment_index int        0-based position of the segment in the file (0 = the file's head point)
    n_segments    int        number of segments the file was cut into by the writer
    complete_<vector_name>  bool  set on all of a file's points once every segment has that vector

plus the user's own metadata, whose keys must not collide with the fields above or the ``complete_`` prefix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..ids import point_id

__all__ = [
    "COMPLETE_PREFIX",
    "RESERVED_FIELDS",
    "SegmentRecord",
    "complete_field",
]

COMPLETE_PREFIX = "complete_"
RESERVED_FIELDS = frozenset(
    {
        "source",
        "sources",
        "file_id",
        "start_s",
        "end_s",
        "duration_s",
        "sample_rate",
        "channels",
        "segment_index",
        "n_segments",
    }
)


class AudioFacts(Protocol):
    """What a record needs to know of its whole source file (`AudioInfo` and ingest's plans have it)."""

    @property
    def duration_s(self) -> float: ...
    @property
    def sample_rate(self) -> int: ...
    @property
    def channels(self) -> int: ...


def complete_field(vector_name: str) -> str:
    """Payload key of the completion flag of ``vector_name`` (e.g. ``complete_aurola-3b``)."""
    return COMPLETE_PREFIX + vector_name


def _finite_non_negative(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


@dataclass(frozen=True)
class SegmentRecord:
    """One audio segment to store as one point (its vector is passed alongside, row by row).

    Attributes:
        file_id: content hash of the source file (`aurola_qdrant.ids.file_id`).
        source: path or URI the file was read from.
        start_s, end_s: segment bounds in seconds (end_s > start_s; ids round them to milliseconds).
        segment_index: 0-based index of the segment within the file, < n_segments.
        n_segments: number of segments of this file.
        duration_s: duration of the whole source file in seconds.
        sample_rate: of the source file in Hz; channels: of the source file.
        metadata: the user's own JSON-serialisable payload (copied on construction); reserved keys
            are refused.

    Raises:
        ValueError: any field out of range, or metadata that is not JSON-serialisable or uses a
            reserved key (see `RESERVED_FIELDS` and `COMPLETE_PREFIX`).
    """

    file_id: str
    source: str
    start_s: float
    end_s: float
    segment_index: int
    n_segments: int
    duration_s: float
    sample_rate: int
    channels: int
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.file_id, str) or not self.file_id:
            raise ValueError(f"file_id must be a non-empty content hash string, got {self.file_id!r}")
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(f"source must be a non-empty path or URI string, got {self.source!r}")
        _finite_non_negative("start_s", self.start_s)
        _finite_non_negative("end_s", self.end_s)
        _finite_non_negative("duration_s", self.duration_s)
        _positive_int("n_segments", self.n_segments)
        _positive_int("sample_rate", self.sample_rate)
        _positive_int("channels", self.channels)
        if isinstance(self.segment_index, bool) or not isinstance(self.segment_index, int):
            raise ValueError(f"segment_index must be an integer, got {self.segment_index!r}")
        if not 0 <= self.segment_index < self.n_segments:
            raise ValueError(
                f"segment_index must be in [0, n_segments={self.n_segments}), got {self.segment_index!r}"
            )
        self._check_metadata()
        # a private copy: later edits of the caller's dict cannot change a frozen record (stays picklable)
        object.__setattr__(self, "metadata", dict(self.metadata))
        point_id(self.file_id, self.start_s, self.end_s)  # validates end_s > start_s at ms resolution

    def _check_metadata(self) -> None:
        if not isinstance(self.metadata, Mapping):
            raise ValueError(
                f"metadata must be a mapping of str -> JSON value, got {type(self.metadata).__name__}"
            )
        for key in self.metadata:
            if not isinstance(key, str):
                raise ValueError(f"metadata keys must be strings, got {key!r}")
            if key in RESERVED_FIELDS or key.startswith(COMPLETE_PREFIX):
                raise ValueError(
                    f"metadata key {key!r} is reserved by aurola-qdrant (reserved: {sorted(RESERVED_FIELDS)} "
                    f"and keys starting with {COMPLETE_PREFIX!r}); rename it, e.g. to 'user_{key}'"
                )
        try:
            json.dumps(dict(self.metadata), allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"metadata must be JSON-serialisable (finite numbers, str, lists, dicts): {err}"
            ) from err

    @classmethod
    def of_segment(
        cls,
        file_id: str,
        source: str,
        audio: AudioFacts,
        bounds: Sequence[tuple[float, float]],
        index: int,
        metadata: Mapping[str, Any] | None = None,
    ) -> SegmentRecord:
        """The record of segment ``index`` of a file: the one place a file's facts (``audio``: its header's
        duration, sample rate and channels, e.g. an `AudioInfo` or a planned file) and its planned
        ``bounds`` become a point. Raises ValueError like the constructor."""
        start, end = bounds[index]
        return cls(
            file_id=file_id,
            source=source,
            start_s=start,
            end_s=end,
            segment_index=index,
            n_segments=len(bounds),
            duration_s=audio.duration_s,
            sample_rate=audio.sample_rate,
            channels=audio.channels,
            metadata=metadata if metadata is not None else {},
        )

    @property
    def point_id(self) -> str:
        """Deterministic point id (`aurola_qdrant.ids.point_id` of file_id and bounds)."""
        return point_id(self.file_id, self.start_s, self.end_s)

    def payload(self) -> dict[str, Any]:
        """The payload of a *new* point for this segment (``sources`` starts as ``[source]``)."""
        return {
            **self.metadata,
            "source": self.source,
            "sources": [self.source],
            "file_id": self.file_id,
            "start_s": float(self.start_s),
            "end_s": float(self.end_s),
            "duration_s": float(self.duration_s),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "segment_index": self.segment_index,
            "n_segments": self.n_segments,
        }
