"""The AuroLA Yes/No re-ranker and its parts: the class (`reranker`), fusion-weight config (`config`),
shared-prefix planning (`prefix`) and the two-logit scoring passes (`scoring`).

Importing this package is cheap (torch loads on the first scoring call).
"""

from .config import DIRECTIONS, RERANKER_CONFIG_FILE, RerankerConfig, config_for
from .prefix import common_prefix_length, expand_audio_slots, shared_prefix_length, split_audios
from .reranker import AurolaReranker, RerankStats

__all__ = [
    "DIRECTIONS",
    "RERANKER_CONFIG_FILE",
    "AurolaReranker",
    "RerankStats",
    "RerankerConfig",
    "common_prefix_length",
    "config_for",
    "expand_audio_slots",
    "shared_prefix_length",
    "split_audios",
]
