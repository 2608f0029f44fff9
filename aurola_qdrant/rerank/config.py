"""The fusion weight α of a re-ranker checkpoint (final score ``cos + α·p_yes``), per query direction.

Released checkpoints take α from the registry (`ModelSpec.alpha`). A local folder may carry
``aurola_reranker.json``, written by the re-ranker trainer after tuning α on validation data::

    {"format": 1, "alpha": {"t2a": 0.9, "a2t": 1.5}}

A folder without that file gets α = 1.0 in both directions.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..registry import get_model_spec
from ..search.fusion import DEFAULT_ALPHA, DIRECTIONS

__all__ = [
    "DEFAULT_ALPHA",
    "DIRECTIONS",
    "RERANKER_CONFIG_FILE",
    "RerankerConfig",
    "check_direction",
    "config_for",
]

RERANKER_CONFIG_FILE = "aurola_reranker.json"
_FORMAT = 1


def check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction={direction!r}; use 't2a' (text query) or 'a2t' (audio query)")
    return direction


@dataclass(frozen=True)
class RerankerConfig:
    """Per-direction fusion weights of one re-ranker checkpoint (finite, >= 0)."""

    alpha_t2a: float = DEFAULT_ALPHA
    alpha_a2t: float = DEFAULT_ALPHA

    def __post_init__(self) -> None:
        for name in ("alpha_t2a", "alpha_a2t"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name}={value!r}; pass a finite number such as 0.9")
            if value < 0:
                raise ValueError(f"{name}={value!r} is negative; α weights p_yes and must be >= 0")

    def alpha(self, direction: str) -> float:
        return float(self.alpha_t2a if check_direction(direction) == "t2a" else self.alpha_a2t)

    def to_json(self) -> dict:
        return {"format": _FORMAT, "alpha": {"t2a": self.alpha_t2a, "a2t": self.alpha_a2t}}

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``aurola_reranker.json`` into a checkpoint folder; returns the file."""
        path = Path(folder) / RERANKER_CONFIG_FILE
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> RerankerConfig:
        """Read the folder's ``aurola_reranker.json``; defaults (α = 1.0) when the file is absent.

        Raises:
            ValueError: the file exists but is not valid JSON of the documented shape.
        """
        path = Path(folder) / RERANKER_CONFIG_FILE
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            alpha = data["alpha"]
            return cls(alpha_t2a=alpha.get("t2a", DEFAULT_ALPHA), alpha_a2t=alpha.get("a2t", DEFAULT_ALPHA))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(
                f'{path}: expected {{"alpha": {{"t2a": x, "a2t": y}}}}, could not read it ({exc})'
            ) from exc


def config_for(name: str | os.PathLike[str], model_id: str = "") -> RerankerConfig:
    """α of a re-ranker: the registry's for a released one (by name or repo id), the folder's
    ``aurola_reranker.json`` for a local folder, else 1.0 in both directions."""
    text = os.fspath(name)
    spec = get_model_spec(text) or get_model_spec(model_id)
    if spec is not None and spec.default_alpha:
        return RerankerConfig(alpha_t2a=spec.alpha("t2a"), alpha_a2t=spec.alpha("a2t"))
    folder = Path(text).expanduser()
    return RerankerConfig.load(folder) if folder.is_dir() else RerankerConfig()
