"""Heavy optional imports with an install hint instead of a bare ImportError."""

from __future__ import annotations

import importlib
from types import ModuleType

_HINTS = {
    "torch": "pip install torch  (CPU-only: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
    "transformers": "pip install 'transformers>=5'",
    "peft": "pip install 'aurola-qdrant[train]'",
    "accelerate": "pip install accelerate",
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise ImportError naming the package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only on broken installs
        top = module.split(".")[0]
        hint = _HINTS.get(top, f"pip install {top}")
        raise ImportError(f"aurola-qdrant needs {top!r} for this feature: {hint}") from exc
