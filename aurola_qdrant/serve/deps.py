"""The serve extra's imports, with the install hint when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["INSTALL_HINT", "missing", "need"]

INSTALL_HINT = 'pip install "aurola-qdrant[serve]"'
_PACKAGES = ("fastapi", "uvicorn", "python_multipart", "prometheus_client")


def need(module: str) -> ModuleType:
    """Import ``module`` or raise ImportError naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"the search service needs {module.split('.')[0]!r}: {INSTALL_HINT}") from exc


def missing() -> list[str]:
    """The serve extra's packages that cannot be imported here."""
    out = []
    for name in _PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError:
            out.append(name)
    return out
