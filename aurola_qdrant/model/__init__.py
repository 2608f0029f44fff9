"""Model plumbing shared by the embedder, the re-ranker and the trainer."""

from .forward import input_embeddings, last_hidden, position_ids
from .inputs import EncodedPrompt, InputBuilder, audio_token_count
from .loading import LoadedThinker, load_thinker, pick_device, pick_dtype

__all__ = [
    "EncodedPrompt",
    "InputBuilder",
    "LoadedThinker",
    "audio_token_count",
    "input_embeddings",
    "last_hidden",
    "load_thinker",
    "pick_device",
    "pick_dtype",
    "position_ids",
]
