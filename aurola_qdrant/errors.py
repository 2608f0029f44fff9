"""The exception tree of aurola-qdrant.

    AurolaError                      base of everything this library raises on purpose
    ├── UnknownModelError            a registry name that does not exist (also a KeyError)
    ├── ModelLoadError               a checkpoint folder/repo that cannot be loaded as an AuroLA thinker
    ├── InputError                   a text or audio input the model cannot take (also a ValueError)
    │   └── AudioTooLongError        audio longer than the feature extractor accepts
    ├── AudioDecodeError             a file that cannot be decoded into finite audio samples
    ├── CollectionMismatchError      a collection written by another embedder / prompt / dimension
    ├── StoreUnavailableError        Qdrant could not be reached within the retry budget
    ├── StoreLockedError             an embedded store folder already opened by another process
    └── StorageFullError             the disk under the store filled up (what was written is intact)

Every error carries enough context to act on it: the offending value and, where there is one, the fix.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AudioDecodeError",
    "AudioTooLongError",
    "AurolaError",
    "CollectionMismatchError",
    "InputError",
    "ModelLoadError",
    "StorageFullError",
    "StoreLockedError",
    "StoreUnavailableError",
    "UnknownModelError",
]


class AurolaError(Exception):
    """Base class of all errors raised deliberately by aurola-qdrant."""


class UnknownModelError(AurolaError, KeyError):
    """A model name that is neither in the registry nor a local folder nor a repo id."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


class ModelLoadError(AurolaError):
    """A checkpoint that exists but is not a loadable Qwen2.5-Omni thinker (or lacks its tokenizer files)."""


class InputError(AurolaError, ValueError):
    """An input the model cannot take: empty text, audio too short, an unsupported item type."""


class AudioTooLongError(InputError):
    """Audio longer than the feature extractor's maximum; window it with `iter_windows` first."""


class AudioDecodeError(AurolaError):
    """A file that cannot be turned into finite audio samples.

    Attributes:
        path: the file (or a description of the in-memory source).
        reason: a short machine-friendly reason, one of ``missing``, ``unreadable``, ``corrupt``,
            ``truncated``, ``empty``, ``unsupported-format``, ``non-finite``, ``too-short``.
        detail: the human-readable explanation (often the decoder's own message).
    """

    def __init__(self, path: str | Path, reason: str, detail: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        msg = f"cannot decode audio {self.path!r}: {reason}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)

    def __reduce__(self):  # keep the error picklable across worker processes
        return (type(self), (self.path, self.reason, self.detail))


class CollectionMismatchError(AurolaError):
    """The collection was built by a different embedder, prompt version, dimension or windowing."""


class StoreUnavailableError(AurolaError):
    """Qdrant stayed unreachable (or kept failing transiently) past the retry budget."""


class StoreLockedError(AurolaError):
    """An embedded store folder that another process (or client) holds open: one process at a time."""


class StorageFullError(AurolaError):
    """The disk under the store is full; what was written before is intact and a rerun resumes."""
