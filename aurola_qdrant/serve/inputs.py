"""Audio a request hands the service: uploads (size-limited, to a private temp file), URIs (only sources
stored in the collection, or files under a configured ``--audio-root``), and stored points by id."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from qdrant_client import models

from ..audio import AudioSegment, audio_info, load_audio
from ..store import AudioStore
from ..store._net import Net
from .errors import ApiError

__all__ = ["check_duration", "load_point", "point", "resolve_uri", "save_upload"]

_CHUNK = 1024 * 1024


async def save_upload(upload: Any, limit: int, folder: str) -> Path:
    """Write the multipart ``upload`` to a new file in ``folder``; 413 past ``limit`` bytes (the part
    written so far is deleted). The caller deletes the file."""
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=Path(upload.filename or "").suffix[:10], dir=folder)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ApiError(
                        413, "too_large", f"the uploaded file is larger than the limit of {limit:,} bytes"
                    )
                out.write(chunk)
    except BaseException:
        os.unlink(name)
        raise
    if size == 0:
        os.unlink(name)
        raise ApiError(422, "undecodable_audio", f"the uploaded file {upload.filename!r} is empty")
    return Path(name)


def check_duration(path: str | os.PathLike[str], max_s: float, what: str = "the audio") -> None:
    """422 for audio longer than ``max_s`` (read from the header, before decoding anything)."""
    info = audio_info(path)
    if info.duration_s > max_s:
        raise ApiError(
            422,
            "audio_too_long",
            f"{what} is {info.duration_s:.1f} s long; the service takes at most {max_s:.0f} s "
            "(cut a shorter excerpt)",
        )


def _stored(net: Net, uri: str) -> bool:
    either = models.Filter(
        should=[
            models.FieldCondition(key="sources", match=models.MatchValue(value=uri)),
            models.FieldCondition(key="source", match=models.MatchValue(value=uri)),
        ]
    )
    points, _ = net.call("scroll", scroll_filter=either, limit=1, with_payload=False, with_vectors=False)
    return bool(points)


def resolve_uri(uri: str, net: Net, roots: tuple[str, ...]) -> str:
    """The local path of ``uri`` when the service may read it; 422 otherwise (never reads other files)."""
    if not isinstance(uri, str) or not uri.strip():
        raise ApiError(422, "invalid_input", "the audio URI is empty")
    path = uri[len("file://") :] if uri.startswith("file://") else uri
    if "://" in path:
        raise ApiError(
            422, "invalid_input", f"the service reads local files only, not {uri.split('://')[0]}:// URIs"
        )
    if _stored(net, uri) or _stored(net, path):
        return path
    real = os.path.realpath(path)
    for root in roots:
        base = os.path.realpath(root)
        if real.startswith(base.rstrip(os.sep) + os.sep) and os.path.isfile(real):
            return real
    raise ApiError(
        422,
        "uri_not_allowed",
        f"{uri!r} is not a source stored in the collection (nor a file under an --audio-root folder); "
        "upload the file instead",
    )


def point(store: AudioStore, point_id: str) -> dict[str, Any]:
    """The payload of point ``point_id``; 404 when there is none (or the id is malformed)."""
    try:
        key: str | int = str(uuid.UUID(point_id)) if not point_id.isdigit() else int(point_id)
    except ValueError:
        raise ApiError(404, "not_found", f"no point {point_id!r}: ids are UUIDs or integers") from None
    found = store.retrieve([key])
    if not found:
        raise ApiError(404, "not_found", f"no point {point_id!r} in collection {store.collection!r}")
    return dict(found[0].payload or {})


def load_point(store: AudioStore, point_id: str) -> AudioSegment:
    """The decoded segment of a stored point (its payload's source and bounds)."""
    payload = point(store, point_id)
    source = payload.get("source")
    if not isinstance(source, str):
        raise ApiError(404, "not_found", f"point {point_id!r} has no audio source in its payload")
    return load_audio(source, start_s=float(payload.get("start_s") or 0.0), end_s=payload.get("end_s"))
