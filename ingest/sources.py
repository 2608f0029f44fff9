"""Where the files to ingest come from: directories, globs, manifests (JSONL/CSV) and path lists on stdin.

Each SOURCE is read as (first match wins):

    ``-``                      one path per line on stdin (blank lines and ``#`` comments skipped)
    an existing directory      walked recursively; files whose name ends with one of the configured
                               extensions (case-insensitive), in sorted order
    an existing ``.jsonl`` /   a manifest: one row per file, a ``path`` column (relative paths are relative
    ``.csv`` file              to the manifest's folder) plus metadata columns that become payload fields
                               (CSV values are strings; JSONL values keep their JSON types; empty CSV
                               cells and JSON nulls are left out)
    an existing file           that file, whatever its extension
    anything with * ? [        a glob (``**`` recurses), files only, sorted; no extension filter
    a URI (``scheme://``)      ``file://``, ``http(s)://``, ``s3://``, ``gs://`` (fsspec): a manifest
                               object (``.jsonl``/``.csv``; relative rows resolve against its URI) is
                               read as one, another object is that file, a prefix (``s3://b/prefix/``)
                               is listed recursively with the extension filter, as a directory is;
                               HTTP servers list nothing reliably: give http(s) archives as manifests

Every file is identified by its absolute path (``os.path.abspath``: normalised, symlinks kept) or its URI
as written, which is what the payload's ``source``/``sources`` hold and what ``--shard`` hashes. A path
listed twice is ingested once, with the metadata of its first listing.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import os
import posixpath
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aurola_qdrant.audio.uri import display, is_uri, list_uri_sizes, open_binary, suffix
from aurola_qdrant.errors import InputError

from .config import check_metadata

__all__ = ["MANIFEST_EXTENSIONS", "SourceFile", "in_shard", "iter_source_files", "read_manifest"]

MANIFEST_EXTENSIONS = (".jsonl", ".csv")
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class SourceFile:
    """One file to ingest: ``path`` (absolute) and the payload ``metadata`` its listing gave it; ``size``
    in bytes where the listing reported it (an object store's prefix listing), else None."""

    path: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    size: int | None = field(default=None, compare=False)


def in_shard(path: str, shard: tuple[int, int]) -> bool:
    """True when ``path`` belongs to shard ``(I, N)``: SHA-1 of the path, as an integer, modulo N == I.

    Stable across processes, machines and Python versions (unlike ``hash``), so N workers given the same
    SOURCE arguments (and seeing the files under the same paths) cover every file exactly once.
    """
    index, count = shard
    if count == 1:
        return True
    return int.from_bytes(hashlib.sha1(path.encode("utf-8")).digest()[:8], "big") % count == index


def _absolute(path: str) -> str:
    """A path made absolute (``os.path.abspath`` of ``~``-expanded); a URI as it is."""
    return path if is_uri(path) else os.path.abspath(os.path.expanduser(path))


def _row_to_file(row: Mapping[str, Any], base: Path | str, where: str, path_key: str) -> SourceFile:
    raw = row.get(path_key)
    if not isinstance(raw, str) or not raw.strip():
        raise InputError(f"{where}: no {path_key!r} value (each row needs the audio file's path)")
    meta = {k: v for k, v in row.items() if k != path_key and v is not None and v != ""}
    try:
        check_metadata(meta, where)
    except ValueError as err:
        raise InputError(str(err)) from None
    text = raw.strip()
    if is_uri(text):
        return SourceFile(text, meta)
    if isinstance(base, str):  # a manifest under a URI: relative rows live beside it
        return SourceFile(text if os.path.isabs(text) else posixpath.join(base, text), meta)
    path = Path(text).expanduser()
    return SourceFile(os.path.abspath(path if path.is_absolute() else base / path), meta)


def _open_manifest(manifest: str | Path) -> tuple[IO[str], Path | str]:
    if isinstance(manifest, str) and is_uri(manifest):
        try:
            with open_binary(manifest) as raw:
                data = raw.read()
        except (OSError, ImportError) as err:
            raise InputError(f"cannot read manifest {display(manifest)!r}: {err}") from err
        return io.StringIO(data.decode("utf-8"), newline=""), manifest.rsplit("/", 1)[0] + "/"
    path = Path(manifest)
    try:
        return path.open(encoding="utf-8", newline=""), path.parent
    except OSError as err:
        raise InputError(f"cannot read manifest {str(path)!r}: {err}") from err


def read_manifest(manifest: str | Path, *, path_key: str = "path") -> Iterator[SourceFile]:
    """Rows of a JSONL or CSV manifest (a path or a URI) as SourceFiles (see the module docstring).

    Raises:
        InputError: an unreadable manifest, a row without a path, a malformed JSON line, or a metadata
            column that uses a reserved payload field (the message names the file and line).
    """
    fh, base = _open_manifest(manifest)
    manifest = display(manifest) if isinstance(manifest, str) else manifest
    with fh:
        if suffix(manifest) == ".csv":
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or path_key not in reader.fieldnames:
                raise InputError(f"{manifest}: CSV header {reader.fieldnames} lacks the {path_key!r} column")
            for lineno, row in enumerate(reader, start=2):
                yield _row_to_file(row, base, f"{manifest}:{lineno}", path_key)
            return
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{manifest}:{lineno}: not a JSON object ({err})") from err
            if not isinstance(row, dict):
                raise InputError(f"{manifest}:{lineno}: expected a JSON object, got {type(row).__name__}")
            yield _row_to_file(row, base, f"{manifest}:{lineno}", path_key)


def _walk(root: Path, extensions: tuple[str, ...]) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.lower().endswith(extensions):
                yield os.path.abspath(os.path.join(dirpath, name))


def _path_list(stream: IO[str]) -> Iterator[SourceFile]:
    for line in stream:
        text = line.strip()
        if text and not text.startswith("#"):
            yield SourceFile(_absolute(text))


def _expand(
    spec: str | Path | SourceFile, extensions: tuple[str, ...], stdin: IO[str]
) -> Iterator[SourceFile]:
    if isinstance(spec, SourceFile):
        yield SourceFile(_absolute(spec.path), dict(spec.metadata))
        return
    text = os.fspath(spec)
    if text == "-":
        yield from _path_list(stdin)
        return
    if is_uri(text):
        yield from _expand_uri(text, extensions)
        return
    path = Path(text).expanduser()
    if path.is_dir():
        yield from (SourceFile(p) for p in _walk(path, extensions))
    elif path.is_file() and path.suffix.lower() in MANIFEST_EXTENSIONS:
        yield from read_manifest(path)
    elif path.exists():
        yield SourceFile(os.path.abspath(path))
    elif _GLOB_CHARS & set(text):
        matches = sorted(m for m in glob.glob(os.path.expanduser(text), recursive=True) if os.path.isfile(m))
        yield from (SourceFile(os.path.abspath(m)) for m in matches)
    else:
        raise InputError(f"source {text!r} is not a file, a directory, a manifest, '-' or a glob pattern")


def _expand_uri(uri: str, extensions: tuple[str, ...]) -> Iterator[SourceFile]:
    if suffix(uri) in MANIFEST_EXTENSIONS:
        yield from read_manifest(uri)
        return
    try:
        listed = list_uri_sizes(uri, extensions)
    except FileNotFoundError:
        raise InputError(f"source {display(uri)!r} names no object and no prefix") from None
    except (OSError, ImportError) as err:
        raise InputError(f"cannot list source {display(uri)!r}: {err}") from err
    yield from (SourceFile(u, size=size) for u, size in listed)


def iter_source_files(
    specs: Iterable[str | Path | SourceFile],
    extensions: tuple[str, ...],
    *,
    shard: tuple[int, int] = (0, 1),
    stdin: IO[str] | None = None,
) -> Iterator[SourceFile]:
    """Every file named by ``specs`` that belongs to ``shard``, each path once, in listing order.

    Raises:
        InputError: a SOURCE that is none of the accepted kinds, that names no file at all (an empty
            folder, a glob that matches nothing, an empty list), or a bad manifest row.
    """
    seen: set[str] = set()
    for spec in specs:
        found = 0
        for item in _expand(spec, extensions, stdin if stdin is not None else sys.stdin):
            found += 1
            if item.path in seen or not in_shard(item.path, shard):
                continue
            seen.add(item.path)
            yield item
        if not found:  # before sharding: an empty shard is fine, a SOURCE that names nothing is a mistake
            name = display(spec.path if isinstance(spec, SourceFile) else os.fspath(spec))
            what = "stdin" if name == "-" else repr(name)
            raise InputError(
                f"SOURCE {what} matches no file (directories are searched for {', '.join(extensions)}; "
                "use --ext to add extensions)"
            )
