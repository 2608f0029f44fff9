"""The embedded store on Qdrant Edge (``qdrant-edge-py``, pinned): `EdgeEngine` speaks qdrant-client's API
to the store's door. Importing this package imports ``qdrant_edge``; `aurola_qdrant.store.open_embedded`
imports it only when an Edge store is opened."""

from __future__ import annotations

from .engine import EDGE_VERSION, EdgeEngine
from .layout import MARKER, StoreLayout

__all__ = ["EDGE_VERSION", "MARKER", "EdgeEngine", "StoreLayout"]
