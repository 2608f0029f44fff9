"""Cross-device negatives for Hybrid-NCE: gather embeddings from all ranks, gradients on the local shard.

The release trained with a global batch of 512 pairs over 8 GPUs, negatives drawn from every GPU and
gradients flowing through the local shard only (METHOD.md). Every function here is the identity when
``torch.distributed`` is not initialised or the world has a single rank, so the same training loop runs on
one CPU, one GPU or many.

Why every rank computes the *whole* global loss (not only its own anchor rows): with the gathered copies of
other ranks' embeddings held as constants, rank r can only differentiate through its own shard. The global
loss depends on rank r's captions not only in r's own rows but also as candidate columns of every other
rank's rows; computing just the local rows would silently drop those column gradients (the "local rows"
shortcut is only exact with an all_gather whose backward pass sends gradients back across ranks). Computing
the full (B, B) loss on each rank is exact and cheap (B = 512 gives a 512 x 512 matrix).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from trainer.losses import HybridNCEConfig, hybrid_nce

__all__ = ["distributed_hybrid_nce", "gather_nograd", "gather_with_grad", "make_accelerator", "world_size"]


def make_accelerator(device: str | None, *, bf16: bool) -> Any:
    """The `accelerate.Accelerator` both training loops run on.

    ``device="cpu"`` forces CPU. A launcher that starts several processes (``accelerate launch
    --multi_gpu --num_processes N`` or ``torchrun``) on a machine without CUDA also gets CPU ranks that
    talk over gloo: left to itself, accelerate would find no GPU and run N independent single-process
    trainings that overwrite each other's checkpoints. Some parameters (the audio encoder's bos/eos
    embedding; the whole audio encoder in the text-only warm-up) get no gradient in some steps, so DDP is
    told to look for unused parameters, or it would wait forever for their gradients.

    On CUDA it also switches cuDNN attention off for this (training) process: measured on an H100 (torch
    2.11, bf16 autocast), that kernel's backward returned NaN for left-padded re-ranker batches within 10
    steps (autograd anomaly mode named ScaledDotProductCudnnAttentionBackward0), while fp32 and the other
    SDPA kernels trained cleanly. Inference never builds an accelerator and keeps the kernel.
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    cpu = device == "cpu" or (device is None and launched and not torch.cuda.is_available())
    if not cpu and torch.cuda.is_available():
        torch.backends.cuda.enable_cudnn_sdp(False)  # NaN gradients in bf16 (see above)
    return Accelerator(
        cpu=cpu,
        mixed_precision="bf16" if bf16 else "no",
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )


def world_size(group: dist.ProcessGroup | None = None) -> int:
    """Number of ranks in ``group`` (the default group if None); 1 when torch.distributed is not in use."""
    if not (dist.is_available() and dist.is_initialized()):
        return 1
    return dist.get_world_size(group)


def _gather_padded(x: Tensor, group: dist.ProcessGroup | None) -> list[Tensor]:
    """All ranks' ``x`` (detached), in rank order; sizes along dim 0 may differ between ranks.

    Collectives need equal shapes, so the sizes are exchanged first and every shard is padded to the
    largest one, then trimmed back.
    """
    n = world_size(group)
    size = torch.tensor([x.shape[0]], dtype=torch.long, device=x.device)  # (1,)
    sizes = [torch.zeros_like(size) for _ in range(n)]
    dist.all_gather(sizes, size, group=group)
    counts = [int(s.item()) for s in sizes]
    padded = x.detach().new_zeros((max(counts), *x.shape[1:]))  # (max_n, ...)
    padded[: x.shape[0]] = x.detach()
    shards = [torch.empty_like(padded) for _ in range(n)]
    dist.all_gather(shards, padded.contiguous(), group=group)
    return [shard[:count] for shard, count in zip(shards, counts, strict=True)]


def gather_with_grad(x: Tensor, group: dist.ProcessGroup | None = None) -> Tensor:
    """Concatenate every rank's ``x`` along dim 0 (rank order); only this rank's slice carries gradients.

    This rank's slice *is* the local tensor (so its autograd graph is kept); the other slices are constants.
    Local sizes may differ between ranks. Identity when not distributed.

    Args:
        x: (n_local, ...) tensor on this rank's device.

    Returns:
        (sum of n_local over ranks, ...) tensor.
    """
    if world_size(group) == 1:
        return x
    shards = _gather_padded(x, group)
    shards[dist.get_rank(group)] = x  # put the graph-carrying local tensor back in place of its copy
    return torch.cat(shards, dim=0)


def gather_nograd(x: Tensor, group: dist.ProcessGroup | None = None) -> Tensor:
    """Like ``gather_with_grad`` but fully detached: for masks, cluster keys and other labels."""
    if world_size(group) == 1:
        return x.detach()
    return torch.cat(_gather_padded(x, group), dim=0)


def distributed_hybrid_nce(
    audio_local: Tensor,
    text_local: Tensor,
    clusters_local: Tensor | None = None,
    *,
    config: HybridNCEConfig | None = None,
    group: dist.ProcessGroup | None = None,
) -> Tensor:
    """Hybrid-NCE over the global batch gathered from every rank, scaled for DDP's gradient averaging.

    Embeddings and cluster keys are gathered (rank order) into the global batch of B = sum of local sizes;
    local batch sizes may differ between ranks. Every rank then computes the same full global loss
    ``hybrid_nce`` (all B anchor rows), differentiating only through its own shard.

    Returned value and why: the tensor's *value* is the global-batch loss (identical on every rank, fine to
    log), but its *gradient* is ``world_size`` times the gradient of that loss. Rank r's backward pass yields
    the part of the global gradient that flows through its local samples; these parts sum to the full
    gradient, and DDP *averages* them over ranks, so the factor world_size makes the averaged gradient equal
    exactly the single-process gradient of the loss on the global batch. If gradients are instead summed
    across ranks (no DDP averaging), divide the loss by world_size first. With one rank (or no
    torch.distributed) this is plain ``hybrid_nce``.

    Args:
        audio_local: (n_local, D) L2-normalised audio embeddings of this rank.
        text_local: (n_local, D) L2-normalised caption embeddings, paired row by row.
        clusters_local: (n_local,) integer keys from ``cluster_set_keys`` (rank-independent hashes, so equal
            cluster sets match across ranks); None means no extra positives on this rank.
        config: loss hyper-parameters; default the released values.
        group: process group to gather over (default: the default group).

    Returns:
        Scalar tensor (float32 for bf16/fp16/fp32 embeddings, float64 for float64).
    """
    config = config or HybridNCEConfig()
    if clusters_local is None:
        clusters_local = torch.full((audio_local.shape[0],), -1, dtype=torch.long, device=audio_local.device)
    audio = gather_with_grad(audio_local, group)  # (B, D)
    text = gather_with_grad(text_local, group)  # (B, D)
    keys = gather_nograd(clusters_local.to(device=audio_local.device, dtype=torch.long), group)  # (B,)
    loss = hybrid_nce(audio, text, keys, **asdict(config))  # () global loss, same value on every rank
    n = world_size(group)
    # value unchanged (loss - loss.detach() is exactly 0), gradient multiplied by n
    return loss + (n - 1) * (loss - loss.detach())
