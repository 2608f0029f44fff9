"""The identity of a checkpoint: the model id and Qdrant vector name a collection records for it.

A released model is known by its registry name (``aurola-3b``) or hub repo id. A local folder used to be
known by its own name, which made every trained export ``final``. Exports now carry an identity record,
``aurola_model.json`` (``{"name": "my-run", "role": "embedder"}``), written by the trainer; a folder
without one keeps its folder name, so collections written with older exports still match them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import ModelLoadError
from ..registry import get_model_spec

__all__ = ["IDENTITY_FILE", "local_model_id", "read_identity", "vector_name_for", "write_identity"]

IDENTITY_FILE = "aurola_model.json"

# The alphabet of a Qdrant vector name here (see aurola_qdrant.store.embedder_info): path-safe, 1-100 chars.
_INVALID = re.compile(r"[^A-Za-z0-9_-]")


def write_identity(folder: str | Path, name: str, *, role: str) -> Path:
    """Write ``folder/aurola_model.json`` naming the checkpoint ``name`` (``role``: embedder or reranker).

    Raises:
        ValueError: ``name`` gives no usable vector name (it needs at least one letter or digit).
    """
    if not isinstance(name, str) or not any(c.isascii() and c.isalnum() for c in name):
        raise ValueError(f"model name {name!r} needs at least one letter or digit, e.g. 'my-embedder'")
    if role not in ("embedder", "reranker"):
        raise ValueError(f"role must be 'embedder' or 'reranker', got {role!r}")
    path = Path(folder) / IDENTITY_FILE
    path.write_text(json.dumps({"name": name, "role": role}, indent=2) + "\n", encoding="utf-8")
    return path


def read_identity(folder: str | Path) -> str | None:
    """The name recorded in ``folder/aurola_model.json``, or ``None`` when the folder has no record.

    Raises:
        ModelLoadError: the record exists but is not ``{"name": "<non-empty string>", ...}``.
    """
    path = Path(folder) / IDENTITY_FILE
    if not path.is_file():
        return None
    try:
        name = json.loads(path.read_text(encoding="utf-8"))["name"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(
            f'{path}: expected {{"name": "<model name>"}}, could not read it ({exc}); fix or delete the file'
        ) from exc
    if not isinstance(name, str) or not name.strip():
        raise ModelLoadError(f'{path}: "name" must be a non-empty string, got {name!r}')
    return name.strip()


def local_model_id(folder: str | Path) -> str:
    """The model id of a local checkpoint: its recorded name, else (older exports) the folder's name."""
    return read_identity(folder) or Path(folder).resolve().name


def vector_name_for(name: str, model_id: str) -> str:
    """The Qdrant vector name: the registry name for a released model, else the sanitised model id
    (last path part, lower-cased, each other character turned into ``-``, starting with a letter or digit,
    at most 100 chars: the names older versions gave stay the same wherever Qdrant accepted them)."""
    spec = get_model_spec(name)
    if spec is not None:
        return spec.name
    base = model_id.rstrip("/").split("/")[-1].lower()
    return _INVALID.sub("-", base).lstrip("-_")[:100] or "aurola"
