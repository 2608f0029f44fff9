"""Hybrid-NCE, the contrastive loss AuroLA trains its audio/text embedder with, and its InfoNCE sibling.

Reference: AuroLA, Xu et al. 2026, arXiv 2602.18010 (the "Hybrid-NCE" objective); this file follows the
project's restatement in ``shared/METHOD.md``. Loss math is kept as pure functions over embeddings (or over a
similarity matrix) so that the single-process and the cross-device versions (``trainer.distributed``) share
one implementation. Everything runs in log space (logsumexp) in at least float32, so bf16 embeddings and
cosines of exactly 1 at tau = 0.05 (logits of 20) give finite losses and gradients.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "HybridNCEConfig",
    "HybridNCELoss",
    "cluster_set_keys",
    "hard_negative_weights",
    "hybrid_nce",
    "hybrid_nce_from_mask",
    "info_nce",
    "positive_mask",
]


@dataclass(frozen=True)
class HybridNCEConfig:
    """Hyper-parameters of Hybrid-NCE; the defaults are the released values (METHOD.md).

    Attributes:
        alpha: weight of the positive mass in the denominator (> 0). 1 is the usual softmax denominator.
        lam: weight of the extra (same-tag-cluster) positives in the positive mass (>= 0); 0 ignores them.
        beta: hard-negative sharpness (>= 0); 0 weights every negative equally.
        tau: temperature (> 0) dividing the cosine similarities.
        symmetric: also add the text-anchored direction and average the two (default off, as released).
    """

    alpha: float = 1.0
    lam: float = 0.2
    beta: float = 0.1
    tau: float = 0.05
    symmetric: bool = False

    def __post_init__(self) -> None:
        checks = (
            ("alpha", self.alpha > 0, "> 0 (it enters as log(alpha); use 1.0 for the standard denominator)"),
            ("lam", self.lam >= 0, ">= 0 (use 0.0 to ignore extra positives)"),
            ("beta", self.beta >= 0, ">= 0 (use 0.0 for uniform negative weights)"),
            ("tau", self.tau > 0, "> 0 (the released temperature is 0.05)"),
        )
        for name, ok, fix in checks:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"HybridNCEConfig.{name}={value!r} must be a finite number {fix}")
            if not ok:
                raise ValueError(f"HybridNCEConfig.{name}={value!r} is invalid: it must be {fix}")
        if not isinstance(self.symmetric, bool):
            raise ValueError(f"HybridNCEConfig.symmetric={self.symmetric!r} must be True or False")


def cluster_set_keys(cluster_sets: Sequence[Iterable[int]]) -> Tensor:
    """Map each sample's tag-cluster set C_i to an integer positive-group key.

    Empty sets (the drawn caption was not the tag caption) map to -1; equal sets map to equal
    non-negative keys. Keys are a hash of the sorted cluster ids (63-bit blake2b), so they are the same in
    every process and on every rank, which the cross-device loss relies on; a collision between two
    different sets has probability about n^2 / 2^64 for n distinct sets.

    Returns:
        LongTensor of shape (len(cluster_sets),).
    """
    keys: list[int] = []
    for clusters in cluster_sets:
        ids = sorted({int(c) for c in clusters})
        if not ids:
            keys.append(-1)
            continue
        digest = hashlib.blake2b(b"".join(i.to_bytes(8, "little", signed=True) for i in ids), digest_size=8)
        keys.append(int.from_bytes(digest.digest(), "little") >> 1)  # drop one bit: keep it non-negative
    return torch.tensor(keys, dtype=torch.long)


def positive_mask(row_keys: Tensor, col_keys: Tensor, self_cols: Tensor | None = None) -> Tensor:
    """P as a boolean matrix: column j is a positive of row i if it is i's own pair or shares its key.

    Args:
        row_keys: (R,) integer keys from ``cluster_set_keys`` (-1 = no cluster set).
        col_keys: (C,) integer keys of the columns.
        self_cols: (R,) column index of each row's own pair; default ``arange(R)`` (square batches).

    Returns:
        Bool tensor (R, C).
    """
    rows = torch.arange(row_keys.shape[0], device=row_keys.device)  # (R,)
    self_cols = rows if self_cols is None else self_cols.to(row_keys.device)  # (R,)
    same = row_keys[:, None] == col_keys[None, :]  # (R, C)
    mask = same & (row_keys[:, None] >= 0)  # (R, C) equal non-empty sets only
    mask[rows, self_cols] = True  # (R, C) the own pair is always positive
    return mask


def _masked_logsumexp(x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Row-wise logsumexp of x over mask; rows with an empty mask give 0 plus a False flag (no NaN)."""
    has_any = mask.any(dim=1)  # (R,)
    fill = torch.where(has_any[:, None], torch.full_like(x, -math.inf), torch.zeros_like(x))  # (R, C)
    return torch.logsumexp(torch.where(mask, x, fill), dim=1), has_any  # (R,), (R,)


def _check_sim(sim: Tensor, pos_mask: Tensor) -> None:
    if sim.ndim != 2 or pos_mask.shape != sim.shape or pos_mask.dtype != torch.bool:
        raise ValueError(
            f"sim must be (R, C) and pos_mask a bool tensor of the same shape; got sim {tuple(sim.shape)}, "
            f"pos_mask {tuple(pos_mask.shape)} {pos_mask.dtype}"
        )


def hard_negative_weights(sim: Tensor, pos_mask: Tensor, *, beta: float = 0.1, tau: float = 0.05) -> Tensor:
    """The hard-negative weights w_ij = |N(i)| softmax_{j in N(i)}(beta * s_ij / tau), 0 on positives.

    Each row's weights average exactly 1 over its negatives (rows without negatives are all 0). Exposed for
    inspection and tests; ``hybrid_nce_from_mask`` folds them into a logsumexp instead of materialising them.

    Args:
        sim: (R, C) cosine similarities s_ij (any float dtype; computed in >= float32).
        pos_mask: (R, C) bool, True where column j is in P(i).

    Returns:
        (R, C) float tensor of weights.
    """
    _check_sim(sim, pos_mask)
    z = sim.to(torch.promote_types(sim.dtype, torch.float32)) / tau  # (R, C)
    neg = ~pos_mask  # (R, C)
    n_neg = neg.sum(dim=1, keepdim=True).to(z.dtype)  # (R, 1)
    lse, _ = _masked_logsumexp(beta * z, neg)  # (R,) finite even for rows without negatives
    log_soft = torch.where(neg, beta * z - lse[:, None], torch.full_like(z, -math.inf))  # (R, C)
    return n_neg * torch.exp(log_soft)  # (R, C), exactly 0 on positives


def hybrid_nce_from_mask(
    sim: Tensor,
    pos_mask: Tensor,
    *,
    alpha: float = 1.0,
    lam: float = 0.2,
    beta: float = 0.1,
    tau: float = 0.05,
    self_cols: Tensor | None = None,
) -> Tensor:
    """Per-row Hybrid-NCE losses from a similarity matrix (anchors are rows, candidates are columns).

    Row i's loss is ``-log(Pos_i / (alpha * Pos_i + sum_{j in N(i)} w_ij exp(s_ij / tau)))`` with
    ``Pos_i = exp(s_ii/tau) + lam * sum_{j in P(i), j != i} exp(s_ij/tau)`` (see ``hybrid_nce``). A row
    without negatives (every column a positive) has loss exactly ``log(alpha)``.

    Args:
        sim: (R, C) cosine similarities, C >= R; upcast to at least float32, gradients flow back to it.
        pos_mask: (R, C) bool, True for P(i) (must include each row's own column; see ``positive_mask``).
        self_cols: (R,) column of each row's own pair; default ``arange(R)`` (the diagonal).

    Returns:
        (R,) per-row losses in float32 (float64 if ``sim`` is float64). Not reduced: callers choose the
        normaliser (the batch mean in ``hybrid_nce``, the global batch in the distributed loss).
    """
    _check_sim(sim, pos_mask)
    z = sim.to(torch.promote_types(sim.dtype, torch.float32)) / tau  # (R, C) logits s_ij / tau
    rows = torch.arange(z.shape[0], device=z.device)  # (R,)
    own = torch.zeros_like(pos_mask)  # (R, C)
    own[rows, rows if self_cols is None else self_cols.to(z.device)] = True  # (R, C) the own pair
    if not bool((pos_mask | ~own).all()):
        raise ValueError("pos_mask must be True at each row's own column (self_cols / the diagonal)")
    extra = pos_mask & ~own  # (R, C) same-cluster positives j != i
    neg = ~pos_mask  # (R, C) N(i)

    # log Pos_i: the own logit plus log(lam) + extra logits; with lam == 0 the extras are simply left out
    pos_terms = own | extra if lam > 0 else own  # (R, C)
    pos_logits = z + extra.to(z.dtype) * (math.log(lam) if lam > 0 else 0.0)  # (R, C)
    log_pos, _ = _masked_logsumexp(pos_logits, pos_terms)  # (R,)

    # log sum_N w_ij exp(z_ij) = log|N| + LSE_N((1 + beta) z) - LSE_N(beta z); beta = 0 gives log sum_N exp(z)
    n_neg = neg.sum(dim=1).to(z.dtype)  # (R,)
    lse_hard, has_neg = _masked_logsumexp((1.0 + beta) * z, neg)  # (R,), (R,)
    lse_norm, _ = _masked_logsumexp(beta * z, neg)  # (R,)
    log_neg = torch.log(n_neg.clamp_min(1.0)) + lse_hard - lse_norm  # (R,) finite dummy on empty rows

    log_alpha_pos = math.log(alpha) + log_pos  # (R,)
    log_den = torch.where(has_neg, torch.logaddexp(log_alpha_pos, log_neg), log_alpha_pos)  # (R,)
    return log_den - log_pos  # (R,)


def _check_pair(audio_emb: Tensor, text_emb: Tensor, clusters: Tensor | None) -> None:
    if audio_emb.ndim != 2 or audio_emb.shape != text_emb.shape or audio_emb.shape[0] == 0:
        raise ValueError(
            f"audio_emb and text_emb must both be non-empty (B, D); got {tuple(audio_emb.shape)} and "
            f"{tuple(text_emb.shape)}"
        )
    if not (audio_emb.is_floating_point() and text_emb.is_floating_point()):
        raise ValueError(f"embeddings must be floating point; got {audio_emb.dtype} and {text_emb.dtype}")
    if clusters is not None and (
        clusters.shape != (audio_emb.shape[0],)
        or clusters.is_floating_point()
        or clusters.dtype is torch.bool
    ):
        raise ValueError(
            f"clusters must be an integer tensor of shape ({audio_emb.shape[0]},) from cluster_set_keys; "
            f"got {clusters.dtype} {tuple(clusters.shape)}"
        )


def hybrid_nce(
    audio_emb: Tensor,
    text_emb: Tensor,
    clusters: Tensor | None = None,
    *,
    alpha: float = 1.0,
    lam: float = 0.2,
    beta: float = 0.1,
    tau: float = 0.05,
    symmetric: bool = False,
) -> Tensor:
    """Hybrid-NCE over a batch of B audio-caption pairs (AuroLA, Xu et al. 2026, arXiv 2602.18010).

    Objective: each audio a_i must pick out its caption t_i among all B captions, like InfoNCE, with three
    changes. (1) Captions of other clips that were drawn as tag captions with exactly the same set of tag
    clusters as i's (``C_j = C_i``, non-empty) count as extra positives, weighted lam, instead of negatives.
    (2) Negatives are re-weighted by ``w_ij = |N(i)| softmax_{N(i)}(beta s_ij / tau)``: weights average 1,
    harder (more similar) negatives weigh more as beta grows. (3) The positive mass enters the denominator
    scaled by alpha::

        Pos_i = exp(s_ii/tau) + lam * sum_{j in P(i), j != i} exp(s_ij/tau)
        L     = -(1/B) sum_i log( Pos_i / (alpha * Pos_i + sum_{j in N(i)} w_ij exp(s_ij/tau)) )

    with s_ij = a_i . t_j. alpha = 1 is the usual softmax denominator; alpha < 1 weakens the positive's
    self-normalisation (the loss keeps pulling the positive up even once it dominates the negatives;
    alpha -> 0 approaches the decoupled contrastive loss, and the per-row minimum is log(alpha) < 0),
    alpha > 1 saturates earlier. The weights are not detached: gradients flow through them, as the formula
    is written. Released values: alpha=1.0, lam=0.2, beta=0.1, tau=0.05, one direction (audio-anchored).

    Relation to siblings: with lam=0, beta=0, alpha=1 it is exactly ``info_nce`` (one-directional InfoNCE,
    i.e. cross-entropy over the rows of s/tau). ``symmetric=True`` adds the text-anchored direction (rows of
    s^T with the same positive structure, since "same cluster set" is symmetric) and returns the mean of the
    two directions, so the scale matches the one-directional loss (as in CLIP). The cross-device version is
    ``trainer.distributed.distributed_hybrid_nce``.

    Args:
        audio_emb: (B, D) L2-normalised audio embeddings (not re-normalised here: the caller owns that).
        text_emb: (B, D) L2-normalised caption embeddings, row i paired with audio row i.
        clusters: (B,) integer positive-group keys from ``cluster_set_keys`` (-1 = empty C_i); None means
            no extra positives (P(i) = {i}).

    Returns:
        Scalar loss, float32 for bf16/fp16/fp32 inputs (float64 for float64); the math is done in that
        precision and gradients flow back to the inputs in their own dtype.

    Raises:
        ValueError: on mismatched shapes, non-float embeddings or a malformed ``clusters``.
    """
    _check_pair(audio_emb, text_emb, clusters)
    HybridNCEConfig(alpha=alpha, lam=lam, beta=beta, tau=tau, symmetric=symmetric)  # validate values
    dtype = torch.promote_types(audio_emb.dtype, torch.float32)
    a = audio_emb.to(dtype)  # (B, D)
    t = text_emb.to(dtype)  # (B, D)
    sim = a @ t.T  # (B, B) s_ij
    no_keys = torch.full((a.shape[0],), -1, device=a.device)  # (B,) every C_i empty
    keys = no_keys if clusters is None else clusters.to(a.device)  # (B,)
    mask = positive_mask(keys, keys)  # (B, B) symmetric
    rows = partial(hybrid_nce_from_mask, alpha=alpha, lam=lam, beta=beta, tau=tau)
    loss = rows(sim, mask).mean()  # () audio-anchored
    if symmetric:
        loss = 0.5 * (loss + rows(sim.T, mask.T).mean())  # () + text-anchored
    return loss


def info_nce(audio_emb: Tensor, text_emb: Tensor, tau: float = 0.05) -> Tensor:
    """One-directional (audio-anchored) InfoNCE: cross-entropy of each row of s/tau against its diagonal.

    The sibling Hybrid-NCE reduces to with lam=0, beta=0, alpha=1. Shapes and dtypes as in ``hybrid_nce``.
    """
    _check_pair(audio_emb, text_emb, None)
    dtype = torch.promote_types(audio_emb.dtype, torch.float32)
    logits = audio_emb.to(dtype) @ text_emb.to(dtype).T / tau  # (B, B)
    return F.cross_entropy(logits, torch.arange(logits.shape[0], device=logits.device))  # ()


class HybridNCELoss(torch.nn.Module):
    """``hybrid_nce`` with its hyper-parameters bound from a ``HybridNCEConfig``.

    ``forward(audio_emb, text_emb, clusters=None)`` takes the shapes documented on ``hybrid_nce``.
    """

    def __init__(self, config: HybridNCEConfig | None = None) -> None:
        super().__init__()
        self.config = config or HybridNCEConfig()

    def forward(self, audio_emb: Tensor, text_emb: Tensor, clusters: Tensor | None = None) -> Tensor:
        return hybrid_nce(audio_emb, text_emb, clusters, **asdict(self.config))

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self.config).items())
