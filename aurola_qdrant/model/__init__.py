"""Model plumbing shared by the embedder, the re-ranker and the trainer: loading a thinker, its inputs and
prompts (weight-free), the hidden-state forward pass and the `ThinkerModel` base of both model classes."""

from .base import ThinkerModel, length_batches
from .forward import input_embeddings, last_hidden, position_ids
from .inputs import EncodedPrompt, InputBuilder, audio_token_count
from .loading import LoadedThinker, load_thinker, pick_device, pick_dtype
from .prompting import EmbedPrompts, answer_ids, rerank_prompt

__all__ = [
    "EmbedPrompts",
    "EncodedPrompt",
    "InputBuilder",
    "LoadedThinker",
    "ThinkerModel",
    "answer_ids",
    "audio_token_count",
    "input_embeddings",
    "last_hidden",
    "length_batches",
    "load_thinker",
    "pick_device",
    "pick_dtype",
    "position_ids",
    "rerank_prompt",
]
