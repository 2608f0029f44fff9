"""`EmbedderInfo`: what produced a named vector, recorded in the collection so mismatches are refused."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["EmbedderInfo"]

# Qdrant stores vectors in folders named after them, and the name is also part of a payload key
# (`complete_<vector_name>`): keep to the alphabet that is path-safe and valid unquoted in a payload key.
_VECTOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


def _optional_seconds(name: str, value: float | None) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive number of seconds or None (whole clips), got {value!r}")


@dataclass(frozen=True)
class EmbedderInfo:
    """Identity of the embedder behind one named vector of a collection.

    Attributes:
        vector_name: the Qdrant named vector, e.g. ``"aurola-3b"`` (letters, digits, ``_ -``; <= 100 chars).
        model_id: registry name, hub repo id or local folder name of the checkpoint.
        revision: hub revision / commit of the checkpoint, or None when unknown (e.g. a local folder).
        prompt_version: version of the prompt templates used to embed (a change alters the vectors).
        dim: vector size (> 0).
        window_s: window length in seconds for long recordings, None when whole clips are embedded.
        hop_s: hop between window starts in seconds (<= window_s), None when window_s is None.

    Two infos are *query compatible* when model_id, revision, prompt_version and dim agree; they are
    *write compatible* when, in addition, the windowing (window_s, hop_s) agrees.
    """

    vector_name: str
    model_id: str
    revision: str | None
    prompt_version: str
    dim: int
    window_s: float | None = None
    hop_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.vector_name, str) or not _VECTOR_NAME.match(self.vector_name):
            raise ValueError(
                f"vector_name must be 1-100 chars of letters, digits, '_', '-' starting with a letter or "
                f"digit (e.g. 'aurola-3b'), got {self.vector_name!r}"
            )
        for name in ("model_id", "prompt_version"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        if self.revision is not None and (not isinstance(self.revision, str) or not self.revision.strip()):
            raise ValueError(f"revision must be a non-empty string or None, got {self.revision!r}")
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or not 1 <= self.dim <= 65536:
            raise ValueError(f"dim must be an integer in [1, 65536] (Qdrant's limit), got {self.dim!r}")
        _optional_seconds("window_s", self.window_s)
        _optional_seconds("hop_s", self.hop_s)
        if self.window_s is None and self.hop_s is not None:
            raise ValueError(f"hop_s={self.hop_s!r} needs window_s; set window_s or leave hop_s None")
        if self.window_s is not None and self.hop_s is not None and self.hop_s > self.window_s:
            raise ValueError(
                f"hop_s ({self.hop_s!r}) must be <= window_s ({self.window_s!r}); "
                "gaps between windows would leave audio unindexed"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of all fields (what is stored in the collection metadata)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmbedderInfo:
        """Inverse of `to_dict`; unknown keys are ignored (records written by newer versions stay readable).

        Raises:
            ValueError: a required key is missing or a value is invalid.
        """
        required = ("vector_name", "model_id", "prompt_version", "dim")
        missing = [key for key in required if key not in data]
        if missing:
            raise ValueError(f"embedder record lacks {missing}; got keys {sorted(data)}")
        return cls(
            vector_name=data["vector_name"],
            model_id=data["model_id"],
            revision=data.get("revision"),
            prompt_version=data["prompt_version"],
            dim=int(data["dim"]),
            window_s=data.get("window_s"),
            hop_s=data.get("hop_s"),
        )

    def query_key(self) -> tuple[Any, ...]:
        """The fields that must agree for query vectors to be comparable with stored ones."""
        return (self.model_id, self.revision, self.prompt_version, self.dim)

    def write_key(self) -> tuple[Any, ...]:
        """The fields that must agree for new points to be consistent with stored ones (adds windowing)."""
        return (*self.query_key(), self.window_s, self.hop_s)

    def describe(self) -> str:
        """One-line human description used in error messages."""
        window = "whole clips" if self.window_s is None else f"window {self.window_s}s hop {self.hop_s}s"
        return (
            f"{self.vector_name}: model {self.model_id!r} revision {self.revision!r} "
            f"prompt {self.prompt_version!r} dim {self.dim}, {window}"
        )
