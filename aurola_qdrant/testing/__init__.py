"""Test seams shipped with the library.

- `FakeEmbedder` / `FakeReranker` (`fakes`): torch-free, deterministic models satisfying the protocols,
  for unit-testing code built on `aurola_qdrant` without a checkpoint.
- `build_tiny_thinker` (`checkpoint`, `tokenizer`): tiny real-architecture checkpoints built on the fly
  (no hub), for exercising the real model code.
- `reference`, `reference_rerank`: the official Hugging Face computation the golden tests compare with.

Names are imported on first use, so importing the fakes never loads what the checkpoint builders need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .checkpoint import TinyThinkerConfig, build_tiny_thinker, qwen_omni_chat_template
    from .fakes import FakeEmbedder, FakeReranker
    from .tokenizer import QWEN_SPECIAL_TOKENS, build_tokenizer

_WHERE = {
    "FakeEmbedder": ".fakes",
    "FakeReranker": ".fakes",
    "TinyThinkerConfig": ".checkpoint",
    "build_tiny_thinker": ".checkpoint",
    "qwen_omni_chat_template": ".checkpoint",
    "QWEN_SPECIAL_TOKENS": ".tokenizer",
    "build_tokenizer": ".tokenizer",
}

__all__ = [
    "QWEN_SPECIAL_TOKENS",
    "FakeEmbedder",
    "FakeReranker",
    "TinyThinkerConfig",
    "build_tiny_thinker",
    "build_tokenizer",
    "qwen_omni_chat_template",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'aurola_qdrant.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
