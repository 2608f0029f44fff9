"""`open_embedded`: the engine behind an embedded store folder, chosen by what the folder holds.

    ":memory:"                          qdrant-client local mode in memory (tests, dry runs)
    a folder with meta.json             an existing qdrant-client local-mode store: opened as before, with a
                                        one-line hint to convert it (``aurola-qdrant collection migrate``)
    a folder with aurola_store.json,    Qdrant Edge (`aurola_qdrant.store.edge.EdgeEngine`)
    or no folder / a folder without
    either (``create=True``)

The library never builds clients on its own (`AudioStore` receives one); this is the opener the CLI uses,
offered so that applications open a folder the same way.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from ..errors import StoreLockedError

__all__ = ["LOCAL_MODE_MARKER", "embedded_kind", "migrate_hint", "open_embedded"]

logger = logging.getLogger(__name__)
LOCAL_MODE_MARKER = "meta.json"  # what qdrant-client's local mode writes at the top of its folder
_EDGE_MARKER = "aurola_store.json"  # aurola_qdrant.store.edge.layout.MARKER (not imported: it loads Edge)
Kind = Literal["edge", "local"]


def embedded_kind(path: str | Path) -> Kind | None:
    """``"edge"``, ``"local"`` (qdrant-client local mode) or None when ``path`` holds no store yet."""
    folder = Path(path).expanduser()
    if (folder / _EDGE_MARKER).is_file():
        return "edge"
    if (folder / LOCAL_MODE_MARKER).is_file():
        return "local"
    return None


def migrate_hint(path: str | Path) -> str:
    folder = Path(path).expanduser()
    return (
        f"note: {folder} is a qdrant-client local-mode store (slow and memory-hungry beyond ~20,000 points); "
        f"convert it to Qdrant Edge with: aurola-qdrant collection migrate --qdrant-path {folder}"
    )


def open_embedded(path: str | Path, *, create: bool = True, hint: bool = True) -> Any:
    """The engine for the embedded store at ``path`` (see the module docstring for the rule).

    ``create=False`` refuses a folder that holds no store instead of creating one. ``hint`` logs the
    migrate hint (WARNING) when the folder is a local-mode store.

    Raises:
        FileNotFoundError: no store at ``path`` and ``create=False``.
        StoreLockedError: another process has the store open.
    """
    if str(path) == ":memory:":
        from qdrant_client import QdrantClient

        return QdrantClient(":memory:")
    folder = Path(path).expanduser()
    kind = embedded_kind(folder)
    if kind is None and not create:
        raise FileNotFoundError(f"no embedded Qdrant store at {folder.resolve()}")
    if kind == "local":
        if hint:
            logger.warning("%s", migrate_hint(folder))
        return open_local_mode(folder)
    from .edge import EdgeEngine

    return EdgeEngine(folder)


def open_local_mode(folder: Path) -> Any:
    """``QdrantClient(path=folder)``; its lock failure as `StoreLockedError`."""
    from qdrant_client import QdrantClient

    from .notes import quiet_local_mode_size_warning

    quiet_local_mode_size_warning()  # said with the fix by notes.note_engine
    try:
        return QdrantClient(path=str(folder))
    except RuntimeError as err:
        if "already accessed" not in str(err):
            raise
        raise StoreLockedError(
            f"the embedded store at {folder.resolve()} is in use by another process (an embedded store "
            "serves one process at a time: wait for it to finish, or run a Qdrant server for concurrent "
            "access)"
        ) from None
