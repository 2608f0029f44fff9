"""The literal AuroLA prompts (METHOD.md). Byte-exact: a one-character change silently ruins retrieval
quality with the released weights, so every string here is covered by a test against METHOD.md's text.

Messages use the Hugging Face chat format (``[{"role": ..., "content": [items]}]``). No system message is
passed, so the checkpoint's chat template inserts its default system turn.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AUDIO_EMBED_INSTRUCTION",
    "EMBED_ANSWER",
    "EMB_TOKEN",
    "PROMPT_VERSION",
    "RERANK_A2T_QUERY",
    "RERANK_ANSWERS",
    "RERANK_CANDIDATE",
    "RERANK_INSTRUCTION",
    "RERANK_QUERY",
    "RERANK_T2A_TEMPLATE",
    "TEXT_EMBED_SUFFIX",
    "audio_embed_messages",
    "rerank_a2t_messages",
    "rerank_t2a_messages",
    "text_embed_messages",
]

# Recorded in every collection: bump it whenever any string below changes.
PROMPT_VERSION = "aurola-2602.18010-v1"

EMB_TOKEN = "<emb>"
EMBED_ANSWER = "<emb>."
AUDIO_EMBED_INSTRUCTION = "\nSummarize above audio in one word: "
TEXT_EMBED_SUFFIX = "\nSummarize above sentence in one word: "

RERANK_INSTRUCTION = (
    "I will provide you with a query and a candidate. Please evaluate whether the candidate matches the "
    "query. If it does, respond with 'Yes'; if it doesn't, respond with 'No'."
)
RERANK_QUERY = "Query:"
RERANK_CANDIDATE = "Candidate:"
RERANK_T2A_TEMPLATE = "Find an audio containing the sound events in the following caption: {caption}"
RERANK_A2T_QUERY = "Find a caption describing the sound events in the given audio."
# The judge's answers: P(Yes) compares the next-token logits of their first tokens, in this order.
RERANK_ANSWERS = ("Yes", "No")

# A content item standing for one audio clip; the chat template renders it as
# <|audio_bos|><|AUDIO|><|audio_eos|>, and the input builder expands <|AUDIO|> to one token per frame.
AUDIO_ITEM: dict[str, Any] = {"type": "audio"}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def audio_embed_messages() -> list[dict[str, Any]]:
    """The embedding prompt for one audio clip (audio first, then the instruction)."""
    return [
        {"role": "user", "content": [dict(AUDIO_ITEM), _text(AUDIO_EMBED_INSTRUCTION)]},
        {"role": "assistant", "content": [_text(EMBED_ANSWER)]},
    ]


def text_embed_messages(caption: str) -> list[dict[str, Any]]:
    """The embedding prompt for one caption."""
    return [
        {"role": "user", "content": [_text(f"{caption}{TEXT_EMBED_SUFFIX}")]},
        {"role": "assistant", "content": [_text(EMBED_ANSWER)]},
    ]


def rerank_t2a_messages(caption: str) -> list[dict[str, Any]]:
    """Re-ranker prompt, text query → audio candidate (the generation prompt is added by the renderer)."""
    return [
        {
            "role": "user",
            "content": [
                _text(RERANK_INSTRUCTION),
                _text(RERANK_QUERY),
                _text(RERANK_T2A_TEMPLATE.format(caption=caption)),
                _text(RERANK_CANDIDATE),
                dict(AUDIO_ITEM),
            ],
        }
    ]


def rerank_a2t_messages(caption: str) -> list[dict[str, Any]]:
    """Re-ranker prompt, audio query → caption candidate."""
    return [
        {
            "role": "user",
            "content": [
                _text(RERANK_INSTRUCTION),
                _text(RERANK_QUERY),
                dict(AUDIO_ITEM),
                _text(RERANK_A2T_QUERY),
                _text(RERANK_CANDIDATE),
                _text(caption),
            ],
        }
    ]
