"""Audio on shared storage: ``file://``, ``http(s)://``, ``s3://``, ``gs://`` URIs through fsspec.

A *source* is a local path or a URI (``scheme://...``). Paths are opened with the builtin ``open`` exactly
as before; URIs are opened with fsspec (``s3fs``/``gcsfs`` for the cloud schemes, as extras), which reads
byte ranges on demand: decoding one window of a long recording fetches the blocks it needs (and the header),
never the whole object, wherever the server answers range requests (S3, GCS, any HTTP server with
``Accept-Ranges``). Credentials come from the usual environment and config files (AWS_*, ~/.aws,
GOOGLE_APPLICATION_CREDENTIALS, ...); they are never passed through here, and `display` strips the
user-info and query string of a URI before it appears in a log line or a message.

Transient failures (connection resets, timeouts, 5xx/429 answers) are retried with one tenacity policy,
`URI_RETRY`; a read that fails mid-stream reopens the object at the same offset.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import tenacity

__all__ = [
    "URI_RETRY",
    "SourceMissingError",
    "content_hash",
    "display",
    "is_uri",
    "list_uri",
    "list_uri_sizes",
    "open_binary",
    "source_size",
    "suffix",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_BLOCK = 1 << 19  # fsspec read-ahead block: one range request per 512 KiB read
_HASH_CHUNK = 1 << 20


class SourceMissingError(FileNotFoundError):
    """The URI names no object (404 / NoSuchKey)."""


def is_uri(source: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` (any scheme fsspec knows); False for plain paths."""
    return isinstance(source, str) and bool(_URI.match(source))


def display(source: str | os.PathLike[str]) -> str:
    """``source`` as it may be logged: a URI without user-info and query string (signed-URL tokens)."""
    text = os.fspath(source)
    if not is_uri(text):
        return text
    parts = urlsplit(text)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def suffix(source: str | os.PathLike[str]) -> str:
    """The lower-case extension of ``source`` (of a URI's path, ignoring its query string)."""
    text = os.fspath(source)
    name = urlsplit(text).path if is_uri(text) else text
    return PurePosixPath(name).suffix.lower()


def _is_transient(exc: BaseException) -> bool:
    cause = exc.__cause__
    if isinstance(exc, FileNotFoundError) and cause is not None and cause is not exc:
        return _is_transient(cause)  # fsspec's HTTP info turns every failed request into "not found"
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return False
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    if isinstance(status, int):
        return status == 429 or (500 <= status < 600 and status not in (501, 505))
    name = type(exc).__name__
    # aiohttp / botocore / google transport failures, matched by name so none of them is imported here
    return name in {
        "ClientConnectionError", "ClientOSError", "ServerDisconnectedError", "ClientPayloadError",
        "ServerTimeoutError", "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
        "ConnectionClosedError", "ResponseStreamingError", "IncompleteReadError", "TransportError",
    }  # fmt: skip


URI_RETRY = tenacity.Retrying(
    retry=tenacity.retry_if_exception(_is_transient),
    wait=tenacity.wait_exponential_jitter(multiplier=0.2, max=5.0),
    stop=tenacity.stop_after_attempt(5),
    reraise=True,
    before_sleep=lambda rs: logger.info(
        "transient storage error (%s), retry %d",
        type(rs.outcome.exception()).__name__ if rs.outcome else "?",
        rs.attempt_number,
    ),
)
"""Retries of URI opens and reads: transient errors only, five attempts, 0.2-5 s jittered backoff."""


def _retry(fn: Callable[[], T]) -> T:
    return URI_RETRY(fn)


def _fs(uri: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError as err:  # pragma: no cover - fsspec is a core dependency
        raise ImportError("reading URIs needs fsspec: pip install fsspec") from err
    try:
        return fsspec.core.url_to_fs(uri)
    except ImportError as err:
        scheme = uri.split("://", 1)[0]
        extra = {"s3": "s3", "gs": "gcs", "gcs": "gcs"}.get(scheme)
        hint = f'pip install "aurola-qdrant[{extra}]"' if extra else f"install fsspec's {scheme} backend"
        raise ImportError(f"reading {scheme}:// sources needs an extra package: {hint} ({err})") from None


def _info(uri: str) -> dict[str, Any]:
    fs, path = _fs(uri)
    try:
        return dict(_retry(lambda: fs.info(path)))
    except FileNotFoundError as err:
        raise SourceMissingError(f"no such object: {display(uri)}") from err


def source_size(source: str | os.PathLike[str]) -> int:
    """Size of ``source`` in bytes (``os.path.getsize`` for a path). Raises OSError."""
    if not is_uri(source):
        return os.path.getsize(source)
    size = _info(os.fspath(source)).get("size")
    return int(size) if size is not None else 0


class _RetryingReader(io.RawIOBase):
    """A seekable read-only file over an fsspec object that reopens it at the same offset when a read
    fails transiently (a connection reset halfway through a long recording)."""

    def __init__(self, fs: Any, path: str, size: int) -> None:
        super().__init__()
        self._fs, self._path, self._size, self._pos = fs, path, size, 0
        self._fh: Any = self._open()

    def _open(self) -> Any:
        return _retry(lambda: self._fs.open(self._path, "rb", block_size=_BLOCK))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        want = self._size - self._pos if size is None or size < 0 else min(size, self._size - self._pos)
        if want <= 0:
            return b""

        def attempt() -> bytes:
            try:
                self._fh.seek(self._pos)
                return bytes(self._fh.read(want))
            except Exception as exc:
                if _is_transient(exc):
                    self._fh = self._open()
                raise

        data = _retry(attempt)
        self._pos += len(data)
        return data

    def close(self) -> None:
        try:
            self._fh.close()
        finally:
            super().close()


@contextmanager
def open_binary(source: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A seekable binary file for ``source``: ``open(path, "rb")`` for a path, an fsspec range reader
    with retries for a URI.

    Raises:
        SourceMissingError: (a FileNotFoundError) the URI names no object.
        OSError: the path cannot be opened; ImportError: the URI's fsspec backend is not installed.
    """
    if not is_uri(source):
        with open(source, "rb") as fh:
            yield fh
        return
    uri = os.fspath(source)
    info = _info(uri)
    if info.get("type") == "directory":
        raise IsADirectoryError(f"{display(uri)} is a directory")
    fs, path = _fs(uri)
    reader = _RetryingReader(fs, path, int(info.get("size") or 0))
    try:
        yield io.BufferedReader(reader, buffer_size=64 * 1024)
    finally:
        reader.close()


def content_hash(source: str | os.PathLike[str]) -> str:
    """SHA-256 of the bytes of ``source`` (a path or a URI), streamed in 1 MiB blocks: the same value as
    `aurola_qdrant.ids.file_id` of a local copy, so the same audio gets the same point ids wherever it
    lives."""
    digest = hashlib.sha256()
    with open_binary(source) as fh:
        while block := fh.read(_HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def list_uri(uri: str, extensions: tuple[str, ...]) -> list[str]:
    """Directory-style listing: every object under the prefix ``uri`` (recursively) whose name ends with
    one of ``extensions`` (case-insensitive), sorted, as full URIs. A URI naming one object gives itself.

    Raises:
        SourceMissingError: nothing exists at ``uri``.
    """
    return [u for u, _ in list_uri_sizes(uri, extensions)]


def list_uri_sizes(uri: str, extensions: tuple[str, ...]) -> list[tuple[str, int | None]]:
    """`list_uri` with each object's size in bytes as the listing reported it (None where it did not):
    progress knows the work ahead without a request per object."""
    fs, path = _fs(uri)
    scheme = uri.split("://", 1)[0]
    try:
        info = _retry(lambda: fs.info(path))
    except FileNotFoundError:
        info = None
    if info is not None and info.get("type") != "directory":
        return [(uri, _bytes(info))]
    try:
        found = _retry(lambda: fs.find(path, detail=True))
    except FileNotFoundError:
        found = {}
    if not found and info is None:
        raise SourceMissingError(f"no such object or prefix: {display(uri)}")
    names = sorted(p for p in found if p.lower().endswith(extensions))
    full = [n if is_uri(n) else f"{scheme}://{n.lstrip('/') if scheme != 'file' else n}" for n in names]
    return [(u, _bytes(found[n])) for u, n in zip(full, names, strict=True)]


def _bytes(info: Any) -> int | None:
    size = info.get("size") if isinstance(info, dict) else None
    return int(size) if isinstance(size, int | float) else None


def local_path(source: str | os.PathLike[str]) -> Path | None:
    """The local path of a plain path or a ``file://`` URI; None for remote URIs."""
    text = os.fspath(source)
    if not is_uri(text):
        return Path(text)
    if text.startswith("file://"):
        return Path(urlsplit(text).path)
    return None
