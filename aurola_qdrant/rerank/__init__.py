"""Re-ranker internals: fusion-weight config, shared-prefix planning and the two-logit Yes/No scoring.

The public class is `aurola_qdrant.reranker.AurolaReranker`; these modules hold its pieces.
"""

from .config import DIRECTIONS, RERANKER_CONFIG_FILE, RerankerConfig, config_for
from .prefix import common_prefix_length, expand_audio_slots, shared_prefix_length, split_audios

__all__ = [
    "DIRECTIONS",
    "RERANKER_CONFIG_FILE",
    "RerankerConfig",
    "common_prefix_length",
    "config_for",
    "expand_audio_slots",
    "shared_prefix_length",
    "split_audios",
]
