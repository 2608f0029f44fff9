"""Test seam shipped with the library: tiny real-architecture checkpoints built on the fly (no hub)."""

from .checkpoint import TinyThinkerConfig, build_tiny_thinker, qwen_omni_chat_template
from .tokenizer import QWEN_SPECIAL_TOKENS, build_tokenizer

__all__ = [
    "QWEN_SPECIAL_TOKENS",
    "TinyThinkerConfig",
    "build_tiny_thinker",
    "build_tokenizer",
    "qwen_omni_chat_template",
]
