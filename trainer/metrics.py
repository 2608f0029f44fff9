"""Retrieval recall by brute force (numpy), for quick validation during training and for the eval command.

Protocol (METHOD.md): text->audio, every caption is a query with exactly one correct audio; audio->text,
every audio is a query whose rank is the best rank among its ground-truth captions. Ties are broken against
the query (a correct item tied with a wrong one counts as ranked below it), so a constant embedding never
scores well by accident.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["a2t_ranks", "recall_at_k", "recalls", "t2a_ranks"]


def t2a_ranks(sim: np.ndarray, gt: Sequence[int]) -> np.ndarray:
    """0-based rank of each caption's correct audio. ``sim``: (n_captions, n_audio); ``gt[i]`` the audio
    index of caption i. Returns (n_captions,) int."""
    sim = np.asarray(sim, dtype=np.float64)
    target = np.asarray(gt, dtype=np.int64)
    if sim.ndim != 2 or target.shape != (sim.shape[0],):
        raise ValueError(
            f"sim must be (n_queries, n_items) and gt (n_queries,); got {sim.shape}, {target.shape}"
        )
    correct = sim[np.arange(sim.shape[0]), target][:, None]  # (Q, 1)
    return (sim >= correct).sum(axis=1) - 1  # items scoring at least as high, minus the correct one itself


def a2t_ranks(sim: np.ndarray, gt: Sequence[Sequence[int]]) -> np.ndarray:
    """0-based best rank among each audio's captions. ``sim``: (n_audio, n_captions); ``gt[i]`` the caption
    indices of audio i (non-empty). Returns (n_audio,) int."""
    sim = np.asarray(sim, dtype=np.float64)
    if sim.ndim != 2 or len(gt) != sim.shape[0]:
        raise ValueError(
            f"sim must be (n_audio, n_captions) with one gt list per row; got {sim.shape}, {len(gt)}"
        )
    ranks = np.empty(sim.shape[0], dtype=np.int64)
    for i, cols in enumerate(gt):
        idx = np.asarray(cols, dtype=np.int64)
        if idx.size == 0:
            raise ValueError(f"audio {i} has no ground-truth caption")
        best = sim[i, idx].max()
        wrong = np.ones(sim.shape[1], dtype=bool)
        wrong[idx] = False
        ranks[i] = int(
            (sim[i, wrong] >= best).sum()
        )  # wrong captions at least as similar as the best right one
    return ranks


def recall_at_k(sim: np.ndarray, gt: Sequence[int] | Sequence[Sequence[int]], k: int) -> float:
    """Fraction of queries whose correct item is in the top k. ``gt`` as ints -> text->audio protocol
    (`t2a_ranks`); ``gt`` as lists -> audio->text protocol (`a2t_ranks`)."""
    if k < 1:
        raise ValueError(f"k={k}; use k >= 1")
    multi = len(gt) > 0 and not np.isscalar(gt[0])
    ranks = a2t_ranks(sim, gt) if multi else t2a_ranks(sim, gt)  # type: ignore[arg-type]
    return float((ranks < k).mean())


def recalls(
    text_emb: np.ndarray, audio_emb: np.ndarray, caption_audio: Sequence[int], ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """T2A and A2T R@k (fractions) from L2-normalised embeddings: ``text_emb`` (n_captions, D),
    ``audio_emb`` (n_audio, D), ``caption_audio[c]`` the audio index of caption c."""
    sim = np.asarray(text_emb) @ np.asarray(audio_emb).T  # (C, A) cosine
    owners = np.asarray(caption_audio, dtype=np.int64)
    audio_caps = [np.flatnonzero(owners == a).tolist() for a in range(audio_emb.shape[0])]
    out = {f"t2a_r{k}": recall_at_k(sim, owners.tolist(), k) for k in ks}
    out.update({f"a2t_r{k}": recall_at_k(sim.T, audio_caps, k) for k in ks})
    return out
