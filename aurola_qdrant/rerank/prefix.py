"""Planning the prompt prefix shared by all K candidates of one query.

Both re-ranker prompts read ``<system turn><user> instruction, "Query:", query, "Candidate:" <candidate>
<end of turn><assistant>``: everything up to "Candidate:" is the same for every candidate, so its KV cache
can be computed once. Tokenisation is not always compositional at that boundary (a caption glued to
"Candidate:" can merge with the colon under a BPE whose merges cross it), so the shared part is never
assumed: it is the longest prefix on which the tokenisation of the query-only text *and* the tokenisation
of every full prompt agree. Causal attention then makes the split exact: positions before the split see
only those identical tokens, so their keys/values are those of the full computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..model.inputs import EncodedPrompt, InputBuilder, audio_token_count
from ..prompts import RERANK_CANDIDATE

__all__ = [
    "common_prefix_length",
    "expand_audio_slots",
    "prefix_ids",
    "shared_prefix_length",
    "split_audios",
]


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Number of leading ids on which ``a`` and ``b`` agree."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def shared_prefix_length(
    prefix_ids: Sequence[int], full_ids: Sequence[Sequence[int]], *, min_suffix: int = 1
) -> int:
    """Length of the prefix to compute once: the part of ``prefix_ids`` that starts every full prompt.

    Each full prompt keeps at least ``min_suffix`` ids of its own (the read position must be computed per
    candidate). ``prefix_ids`` must not extend past the query (it caps the result, so candidate content —
    e.g. equal-length audio placeholders — can never be mistaken for shared). Returns 0 when nothing can be
    shared (the caller then runs the full computation).
    """
    if not full_ids:
        return 0
    n = len(prefix_ids)
    for ids in full_ids:
        n = min(n, common_prefix_length(prefix_ids, ids), len(ids) - min_suffix)
    return max(n, 0)


def expand_audio_slots(ids: Sequence[int], audio_token_id: int, frames: Sequence[int]) -> list[int]:
    """Repeat each ``<|AUDIO|>`` id once per audio-encoder output frame (``frames`` = valid mel frames per
    clip, in order), as `InputBuilder.encode` does for whole prompts.

    Raises:
        ValueError: the number of ``<|AUDIO|>`` slots differs from ``len(frames)``.
    """
    slots = sum(1 for t in ids if t == audio_token_id)
    if slots != len(frames):
        raise ValueError(f"{slots} audio slots but {len(frames)} clips")
    out: list[int] = []
    clips = iter(frames)
    for t in ids:
        if t == audio_token_id:
            out.extend([audio_token_id] * audio_token_count(next(clips)))
        else:
            out.append(t)
    return out


def split_audios(
    prompt: EncodedPrompt, s: int, audio_token_id: int
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """The prompt's clips whose ``<|AUDIO|>`` run starts before ``s`` (the prefix's) and the others (the
    suffix's). The caller never splits a run."""
    ids = prompt.input_ids
    starts = [
        i for i, t in enumerate(ids) if t == audio_token_id and (i == 0 or ids[i - 1] != audio_token_id)
    ]
    pairs = list(zip(prompt.audios, starts, strict=True))
    return tuple(a for a, st in pairs if st < s), tuple(a for a, st in pairs if st >= s)


def prefix_ids(
    inputs: InputBuilder, messages: list[dict[str, Any]], candidate: str, audios: Sequence[np.ndarray]
) -> list[int]:
    """Ids of the rendered prompt up to and including "Candidate:", with the clips in ``audios`` (the ones
    before it) expanded to their frame counts; ``candidate`` is how the candidate's rendering begins.
    Empty when the rendering does not split there (nothing is shared then)."""
    text = inputs.render(messages, add_generation_prompt=True)
    cut = text.rfind(RERANK_CANDIDATE + candidate)
    if cut < 0:
        return []
    ids = inputs.tokenizer(text[: cut + len(RERANK_CANDIDATE)], add_special_tokens=False)["input_ids"]
    frames = [inputs.n_frames(int(a.shape[0])) for a in audios]
    try:
        return expand_audio_slots(ids, inputs.audio_token_id, frames)
    except ValueError:
        return []
