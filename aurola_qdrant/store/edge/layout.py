"""Where an embedded Qdrant Edge store keeps its files, and the lock that gives it to one process.

    <root>/aurola_store.json                   marker: engine "qdrant-edge", edge_version, format 1
    <root>/.lock                               flock held while a process has the store open
    <root>/collections/<name>/collection.json  what Edge has no place for (`CollectionMeta`)
    <root>/collections/<name>/shard/           one Edge shard (its own WAL, segments, edge_config.json)

Qdrant Edge 0.9.0 has no collections: one shard directory per collection is the collection.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from pathlib import Path
from typing import IO, Any

from ...errors import StoreLockedError

__all__ = ["EDGE_ENGINE", "MARKER", "StoreLayout", "write_json_atomic"]

MARKER = "aurola_store.json"
EDGE_ENGINE = "qdrant-edge"
FORMAT = 1
# Qdrant's own rule for collection names is looser; a folder name must be safe on every filesystem
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` so that a crash leaves the old file or the new one, never half:
    a temporary file, fsync, rename, fsync of the folder."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StoreLayout:
    """The folders of one store at ``root``; `lock` takes it for this process."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        self._lock_file: IO[str] | None = None

    @staticmethod
    def is_store(root: str | Path) -> bool:
        """True when ``root`` holds an Edge store written by this library."""
        marker = Path(root).expanduser() / MARKER
        try:
            return json.loads(marker.read_text(encoding="utf-8")).get("engine") == EDGE_ENGINE
        except (OSError, ValueError, AttributeError):
            return False

    def create(self, edge_version: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "collections").mkdir(exist_ok=True)
        if not (self.root / MARKER).is_file():
            marker = {"engine": EDGE_ENGINE, "edge_version": edge_version, "format": FORMAT}
            write_json_atomic(self.root / MARKER, marker)

    def lock(self) -> None:
        """Hold ``<root>/.lock`` (flock, exclusive) until `unlock`.

        Raises:
            StoreLockedError: another process (or another open engine in this one) holds the store.
        """
        f = open(self.root / ".lock", "a+", encoding="utf-8")  # noqa: SIM115 (held until unlock)
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise StoreLockedError(
                f"the embedded store at {self.root.resolve()} is in use by another process (an embedded "
                "store serves one process at a time: wait for it to finish, or run a Qdrant server for "
                "concurrent access)"
            ) from None
        self._lock_file = f

    def unlock(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def collection_dir(self, name: str) -> Path:
        """``<root>/collections/<name>``. Raises ValueError for a name that is not a safe folder name."""
        if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
            raise ValueError(
                f"collection name {name!r} cannot be stored in the embedded store: use letters, digits, "
                "'_', '-' and '.' (up to 255 characters, starting with a letter or digit)"
            )
        return self.root / "collections" / name

    def names(self) -> list[str]:
        """Collections present (a folder with its collection.json), sorted."""
        folder = self.root / "collections"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / "collection.json").is_file())

    def remove(self, name: str) -> None:
        shutil.rmtree(self.collection_dir(name), ignore_errors=True)
