"""Planning a file before decoding it: content hash, header, and the segment bounds it will be cut into.

The number and bounds of a file's segments come from its header alone (`audio_info` + `plan_windows`),
so the point ids of a file are known before any audio is decoded; `iter_windows` later yields exactly
these bounds. Probing reads the whole file once (to hash it) but decodes nothing.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aurola_qdrant.audio import audio_info, plan_windows
from aurola_qdrant.audio.uri import content_hash, display, is_uri, source_size
from aurola_qdrant.errors import AudioDecodeError, InputError
from aurola_qdrant.ids import file_id, point_id

from .sources import SourceFile

__all__ = ["Failure", "FilePlan", "probe"]


@dataclass(frozen=True)
class Failure:
    """A file that could not be ingested: ``reason`` is a short code (AudioDecodeError reasons, plus
    ``too-short`` and ``error``), ``detail`` the human explanation."""

    path: str
    reason: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class FilePlan:
    """A probed file: its content hash, header facts and planned segment bounds (seconds)."""

    path: str
    file_id: str
    sample_rate: int
    channels: int
    duration_s: float
    size_bytes: int
    bounds: tuple[tuple[float, float], ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_segments(self) -> int:
        return len(self.bounds)

    @property
    def head_id(self) -> str:
        """Point id of segment 0 (the point that carries the file's completion flag)."""
        return point_id(self.file_id, *self.bounds[0])

    def point_ids(self) -> list[str]:
        """Every point id this file will have, in segment order."""
        return [point_id(self.file_id, start, end) for start, end in self.bounds]


def _os_reason(err: OSError) -> str:
    return "missing" if isinstance(err, FileNotFoundError) or err.errno == errno.ENOENT else "unreadable"


def probe(item: SourceFile, window_s: float, hop_s: float) -> FilePlan | Failure:
    """Hash ``item.path`` (a path or a URI) and plan its segments from the header; any problem becomes a
    `Failure`."""
    remote = is_uri(item.path)
    try:
        info = audio_info(item.path)  # first: cheap, and it names missing/empty/corrupt files precisely
        fid = content_hash(item.path) if remote else file_id(item.path)  # equal values for equal bytes
        size = item.size if item.size is not None else source_size(item.path)  # listed: no request
        bounds = plan_windows(info.duration_s, window_s, hop_s)
    except AudioDecodeError as err:
        return Failure(item.path, err.reason, err.detail)
    except InputError as err:
        return Failure(item.path, "corrupt", str(err))
    except OSError as err:
        return Failure(item.path, _os_reason(err), display(str(err)) if remote else str(err))
    except Exception as err:
        if not remote:
            raise
        # a storage client's own errors, past its retries (credentials never reach the message)
        return Failure(item.path, "unreadable", f"{type(err).__name__}: {display(str(err))}")
    return FilePlan(
        path=item.path,
        file_id=fid,
        sample_rate=info.sample_rate,
        channels=info.channels,
        duration_s=info.duration_s,
        size_bytes=size,
        bounds=tuple(bounds),
        metadata=dict(item.metadata),
    )
