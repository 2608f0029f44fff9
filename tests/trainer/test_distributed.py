"""Cross-rank Hybrid-NCE equals the single-process loss and gradients on the global batch (2 gloo ranks)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from trainer.distributed import distributed_hybrid_nce, gather_nograd, gather_with_grad, world_size
from trainer.losses import HybridNCEConfig, cluster_set_keys, hybrid_nce

# indices 0, 2, 6 share {1} across ranks in both splits; 3 and 4 share {2, 3}
CLUSTER_SETS = [{1}, set(), {1}, {2, 3}, {3, 2}, set(), {1}, {4}]
SCENARIOS = {
    "equal": ((4, 4), HybridNCEConfig()),
    "unequal": ((3, 5), HybridNCEConfig(alpha=0.8, lam=0.5, beta=0.3, symmetric=True)),
}


def _model() -> torch.nn.ModuleDict:
    torch.manual_seed(0)  # same initial weights on every rank and in the reference
    return torch.nn.ModuleDict(
        {
            "audio": torch.nn.Linear(5, 4, dtype=torch.float64),
            "text": torch.nn.Linear(5, 4, dtype=torch.float64),
        }
    )


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(123)
    n = len(CLUSTER_SETS)
    return torch.randn(n, 5, generator=g, dtype=torch.float64), torch.randn(
        n, 5, generator=g, dtype=torch.float64
    )


def _embed(model, xa, xt) -> tuple[torch.Tensor, torch.Tensor]:
    return F.normalize(model["audio"](xa), dim=1), F.normalize(model["text"](xt), dim=1)


def _worker(rank: int, n_ranks: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=n_ranks)
    try:
        xa, xt = _inputs()
        for name, (sizes, config) in SCENARIOS.items():
            lo, hi = sum(sizes[:rank]), sum(sizes[: rank + 1])
            model = _model()
            audio, text = _embed(model, xa[lo:hi], xt[lo:hi])
            keys = cluster_set_keys(CLUSTER_SETS[lo:hi])  # hashed locally: must agree across ranks
            loss = distributed_hybrid_nce(audio, text, keys, config=config)
            loss.backward()
            grads = {}
            for pname, p in model.named_parameters():
                dist.all_reduce(p.grad)  # what DDP does: sum, then divide by the number of ranks
                grads[pname] = p.grad / n_ranks
            gathered = gather_with_grad(audio)
            torch.save(
                {
                    "loss": loss.detach(),
                    "grads": grads,
                    "gathered_audio": gathered.detach(),
                    "world": world_size(),
                },
                Path(out_dir) / f"{name}_rank{rank}.pt",
            )
    finally:
        dist.destroy_process_group()


def test_two_ranks_match_single_process(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    xa, xt = _inputs()
    for name, (_, config) in SCENARIOS.items():
        model = _model()
        audio, text = _embed(model, xa, xt)
        want = hybrid_nce(audio, text, cluster_set_keys(CLUSTER_SETS), **asdict(config))
        want.backward()
        for rank in range(2):
            got = torch.load(tmp_path / f"{name}_rank{rank}.pt")
            assert got["world"] == 2
            assert torch.allclose(got["gathered_audio"], audio.detach(), atol=1e-12)
            assert abs(got["loss"].item() - want.item()) < 1e-5, (name, rank)
            for pname, p in model.named_parameters():
                assert torch.allclose(got["grads"][pname], p.grad, atol=1e-5, rtol=0), (name, rank, pname)


def test_single_process_is_identity():
    x = torch.randn(3, 4, requires_grad=True)
    assert world_size() == 1
    assert gather_with_grad(x) is x
    keys = torch.tensor([1, -1, 1])
    assert torch.equal(gather_nograd(keys), keys)
    t = F.normalize(torch.randn(3, 4), dim=1)
    a = F.normalize(x, dim=1)
    assert torch.equal(distributed_hybrid_nce(a, t, keys), hybrid_nce(a, t, keys))
    assert torch.equal(distributed_hybrid_nce(a, t), hybrid_nce(a, t))
