"""Model names → Hugging Face repo ids, plus resolution of local folders and raw repo ids."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UnknownModelError

__all__ = ["ModelSpec", "get_model_spec", "list_models", "looks_like_path", "resolve_model"]


@dataclass(frozen=True)
class ModelSpec:
    """One released AuroLA checkpoint.

    ``default_alpha`` maps a query direction (``"t2a"``, ``"a2t"``) to the fusion weight α in
    ``cos + α·p_yes`` for a re-ranker (METHOD.md: published values range 0.1–3.0; 0.9 was used for the
    7B AudioCaps text→audio setting). ``None`` for embedders.
    """

    name: str
    repo_id: str
    role: str  # "embedder" | "reranker"
    size: str  # "3B" | "7B"
    description: str
    base_embedder: str | None = None
    default_alpha: tuple[tuple[str, float], ...] | None = None

    def alpha(self, direction: str) -> float:
        if not self.default_alpha:
            raise ValueError(f"{self.name} is not a re-ranker; it has no fusion weight")
        return dict(self.default_alpha)[direction]


_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "aurola-3b", "Jazzcharles/AuroLA-3B", "embedder", "3B", "AuroLA 3B embedder (full training data)"
    ),
    ModelSpec(
        "aurola-7b", "Jazzcharles/AuroLA-7B", "embedder", "7B", "AuroLA 7B embedder (full training data)"
    ),
    ModelSpec(
        "aurola-3b-pt", "Jazzcharles/AuroLA-3B-PT", "embedder", "3B", "AuroLA 3B embedder, eval sets held out"
    ),
    ModelSpec(
        "aurola-7b-pt", "Jazzcharles/AuroLA-7B-PT", "embedder", "7B", "AuroLA 7B embedder, eval sets held out"
    ),
    ModelSpec(
        "aurola-rerank-3b",
        "Jazzcharles/AuroLA-rerank-3B",
        "reranker",
        "3B",
        "AuroLA 3B Yes/No re-ranker (pairs with aurola-3b)",
        base_embedder="aurola-3b",
        default_alpha=(("t2a", 0.9), ("a2t", 0.9)),
    ),
    ModelSpec(
        "aurola-rerank-7b",
        "Jazzcharles/AuroLA-rerank-7B",
        "reranker",
        "7B",
        "AuroLA 7B Yes/No re-ranker (pairs with aurola-7b)",
        base_embedder="aurola-7b",
        default_alpha=(("t2a", 0.9), ("a2t", 0.9)),
    ),
)
_BY_NAME = {m.name: m for m in _MODELS}


def list_models(role: str | None = None) -> list[ModelSpec]:
    """All registered models, optionally only those of one role (``"embedder"`` or ``"reranker"``)."""
    return [m for m in _MODELS if role is None or m.role == role]


def get_model_spec(name: str) -> ModelSpec | None:
    """The registry entry for ``name`` (a registry name or its repo id), or ``None``."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    return next((m for m in _MODELS if m.repo_id == name), None)


def looks_like_path(text: str) -> bool:
    """True for what can only be meant as a folder: it starts with ``/``, ``.`` or ``~``, ends with a
    separator, holds a backslash or os.sep other than one ``owner/name`` slash, or has two slashes or more."""
    if text.startswith(("/", ".", "~")) or text.endswith(("/", os.sep)) or text.count("/") > 1:
        return True
    return "\\" in text or (os.sep != "/" and os.sep in text)


def resolve_model(name_or_path: str | os.PathLike[str]) -> str:
    """Turn a registry name, a local folder or a ``owner/name`` repo id into what ``from_pretrained`` takes.

    Raises:
        UnknownModelError: a path-like ``name_or_path`` (see `looks_like_path`) that is no folder ("no such
            folder: …"), or a name that is none of the three (the message lists the known names).
    """
    text = os.fspath(name_or_path)
    if text in _BY_NAME:
        return _BY_NAME[text].repo_id
    path = Path(text).expanduser()
    if path.is_dir():
        return str(path.resolve())
    known = ", ".join(m.name for m in _MODELS)
    if looks_like_path(text):
        what = "not a folder" if path.exists() else "no such folder"
        raise UnknownModelError(
            f"{what}: {text} (a --model that is a path must be a checkpoint folder; or use a registry "
            f"name: {known})"
        )
    # A repo id has exactly one slash; anything else that is not a folder is a typo.
    if text.count("/") == 1 and all(text.split("/")):
        return text
    raise UnknownModelError(
        f"unknown model {text!r}: not a registry name, an existing folder or an 'owner/name' repo id. "
        f"Known names: {known}"
    )
