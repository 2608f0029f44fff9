"""Hybrid-NCE against a naive double-loop reference of the METHOD.md formulas, and its InfoNCE limit."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from trainer.losses import (
    HybridNCEConfig,
    HybridNCELoss,
    cluster_set_keys,
    hard_negative_weights,
    hybrid_nce,
    hybrid_nce_from_mask,
    info_nce,
    positive_mask,
)

CLUSTER_SETS = [{1}, set(), {1}, {2, 3}, {3, 2}, set(), {1}, {4}, {2}, {1, 4}]


def _emb(n: int, d: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1).to(dtype)


def _reference_rows(sim, cluster_sets, alpha, lam, beta, tau):
    """Per-row losses, literally as written in METHOD.md, one scalar at a time in float64."""
    n_rows, n_cols = len(sim), len(sim[0])
    losses = []
    for i in range(n_rows):
        pos_set = {i} | {
            j for j in range(n_cols) if j != i and cluster_sets[i] and cluster_sets[j] == cluster_sets[i]
        }
        negs = [j for j in range(n_cols) if j not in pos_set]
        pos = math.exp(sim[i][i] / tau) + lam * sum(math.exp(sim[i][j] / tau) for j in pos_set if j != i)
        neg = 0.0
        if negs:
            norm = sum(math.exp(beta * sim[i][k] / tau) for k in negs)
            for j in negs:
                w = len(negs) * math.exp(beta * sim[i][j] / tau) / norm
                neg += w * math.exp(sim[i][j] / tau)
        losses.append(-math.log(pos / (alpha * pos + neg)))
    return losses


def _reference(audio, text, cluster_sets, alpha, lam, beta, tau, symmetric=False):
    sim = (audio @ text.T).tolist()
    loss = sum(_reference_rows(sim, cluster_sets, alpha, lam, beta, tau)) / len(sim)
    if symmetric:
        sim_t = [list(col) for col in zip(*sim, strict=True)]
        loss = 0.5 * (loss + sum(_reference_rows(sim_t, cluster_sets, alpha, lam, beta, tau)) / len(sim))
    return loss


def test_reduces_to_info_nce_and_cross_entropy():
    a, t = _emb(7, 16, 0), _emb(7, 16, 1)
    hybrid = hybrid_nce(a, t, None, alpha=1.0, lam=0.0, beta=0.0, tau=0.05)
    logits = (a @ t.T) / 0.05
    manual = (torch.logsumexp(logits, dim=1) - logits.diagonal()).mean()
    assert torch.allclose(hybrid, info_nce(a, t, tau=0.05), atol=1e-10)
    assert torch.allclose(hybrid, F.cross_entropy(logits, torch.arange(7)), atol=1e-10)
    assert torch.allclose(hybrid, manual, atol=1e-10)
    # keys that are all -1 (no tag captions drawn) are the same as no clusters
    assert torch.allclose(hybrid_nce(a, t, torch.full((7,), -1), lam=0.0, beta=0.0), hybrid, atol=1e-12)


@pytest.mark.parametrize(
    ("alpha", "lam", "beta", "tau", "symmetric"),
    [
        (1.0, 0.2, 0.1, 0.05, False),
        (0.7, 0.5, 0.3, 0.05, False),
        (1.5, 0.0, 0.1, 0.1, False),
        (1.0, 1.0, 0.0, 0.05, False),
        (0.8, 0.2, 2.0, 0.07, False),
        (1.0, 0.2, 0.1, 0.05, True),
        (0.6, 0.7, 0.5, 0.05, True),
    ],
)
def test_matches_naive_reference(alpha, lam, beta, tau, symmetric):
    n = len(CLUSTER_SETS)
    a, t = _emb(n, 12, 2), _emb(n, 12, 3)
    t[2] = F.normalize(a[0] + 0.1 * t[2], dim=0)  # a same-cluster pair that is also close
    keys = cluster_set_keys(CLUSTER_SETS)
    got = hybrid_nce(a, t, keys, alpha=alpha, lam=lam, beta=beta, tau=tau, symmetric=symmetric)
    want = _reference(a, t, CLUSTER_SETS, alpha, lam, beta, tau, symmetric)
    assert got.dtype == torch.float64
    assert got.item() == pytest.approx(want, abs=1e-5, rel=1e-7)
    # float32 inputs give the same value to float32 precision
    got32 = hybrid_nce(
        a.float(), t.float(), keys, alpha=alpha, lam=lam, beta=beta, tau=tau, symmetric=symmetric
    )
    assert got32.dtype == torch.float32
    assert got32.item() == pytest.approx(want, abs=1e-4)


def test_module_and_config_defaults_match_function():
    a, t, keys = _emb(10, 8, 4), _emb(10, 8, 5), cluster_set_keys(CLUSTER_SETS)
    cfg = HybridNCEConfig()
    assert (cfg.alpha, cfg.lam, cfg.beta, cfg.tau, cfg.symmetric) == (1.0, 0.2, 0.1, 0.05, False)
    assert torch.equal(HybridNCELoss(cfg)(a, t, keys), hybrid_nce(a, t, keys))
    want = _reference(a, t, CLUSTER_SETS, 0.6, 0.3, 0.2, 0.05, True)
    got = HybridNCELoss(HybridNCEConfig(alpha=0.6, lam=0.3, beta=0.2, symmetric=True))(a, t, keys)
    assert got.item() == pytest.approx(want, abs=1e-5)


def test_extra_positives_lower_the_loss():
    a, t = _emb(10, 8, 6), _emb(10, 8, 7)
    keys = cluster_set_keys(CLUSTER_SETS)
    plain = hybrid_nce(a, t, None, lam=0.0, beta=0.0)
    dropped = hybrid_nce(a, t, keys, lam=0.0, beta=0.0)  # same-cluster captions stop being negatives
    counted = hybrid_nce(a, t, keys, lam=0.5, beta=0.0)  # ... and add positive mass
    more = hybrid_nce(a, t, keys, lam=1.0, beta=0.0)
    assert plain > dropped > counted > more


def test_hard_negative_weights_average_one_and_skip_positives():
    a, t = _emb(10, 8, 8), _emb(10, 8, 9)
    keys = cluster_set_keys(CLUSTER_SETS)
    mask = positive_mask(keys, keys)
    sim = a @ t.T
    w = hard_negative_weights(sim, mask, beta=0.5, tau=0.05)
    assert torch.all(w[mask] == 0)
    row_means = w.sum(dim=1) / (~mask).sum(dim=1)
    assert torch.allclose(row_means, torch.ones(10, dtype=torch.float64), atol=1e-12)
    hardest = torch.where(mask, -2.0, sim).argmax(dim=1)  # most similar negative gets the largest weight
    assert torch.equal(w.argmax(dim=1), hardest)
    flat = hard_negative_weights(sim, mask, beta=0.0)
    assert torch.allclose(flat, (~mask).to(flat.dtype), atol=1e-12)
    full = hard_negative_weights(sim, torch.ones_like(mask), beta=0.5)  # no negatives: zeros, no NaN
    assert torch.equal(full, torch.zeros_like(full))


def test_positive_mask_is_set_equality_and_own_pair():
    keys = cluster_set_keys(CLUSTER_SETS)
    mask = positive_mask(keys, keys)
    for i, ci in enumerate(CLUSTER_SETS):
        for j, cj in enumerate(CLUSTER_SETS):
            assert bool(mask[i, j]) == (i == j or (bool(ci) and ci == cj))


def test_cluster_set_keys():
    keys = cluster_set_keys([{3, 1}, [1, 3, 3], set(), (), {1}, frozenset({1, 3, 4})])
    assert keys.dtype == torch.long and keys.shape == (6,)
    assert keys[0] == keys[1] >= 0
    assert keys[2] == keys[3] == -1
    assert len({int(keys[0]), int(keys[4]), int(keys[5])}) == 3 and bool((keys[[0, 4, 5]] >= 0).all())
    assert torch.equal(cluster_set_keys([{1, 3}]), keys[:1])  # a hash, not an order of appearance


def test_no_negatives_gives_log_alpha_and_finite_grads():
    a, t = _emb(4, 8, 10).requires_grad_(), _emb(4, 8, 11).requires_grad_()
    same = torch.zeros(4, dtype=torch.long)  # every sample shares one cluster set
    loss = hybrid_nce(a, t, same, alpha=0.5, lam=0.3, beta=0.2)
    assert loss.item() == pytest.approx(math.log(0.5), abs=1e-12)
    loss.backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(t.grad).all()
    single = hybrid_nce(a[:1], t[:1], None, alpha=2.0)  # B = 1: no negatives either
    assert single.item() == pytest.approx(math.log(2.0), abs=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.2])
def test_bf16_cosine_one_is_finite(lam):
    eye = torch.eye(6, 16, dtype=torch.bfloat16)  # exactly unit norm, exactly cosine 1 on the diagonal
    for base in (eye, F.normalize(torch.randn(6, 16), dim=1).bfloat16(), eye[[0] * 6]):  # last: all equal
        a = base.clone().requires_grad_()
        t = base.clone().requires_grad_()
        keys = torch.tensor([0, 0, -1, 1, -1, 1])
        loss = hybrid_nce(a, t, keys, lam=lam, tau=0.05, symmetric=True)
        assert loss.dtype == torch.float32 and torch.isfinite(loss)
        loss.backward()
        assert a.grad.dtype == torch.bfloat16
        assert torch.isfinite(a.grad.float()).all() and torch.isfinite(t.grad.float()).all()


def test_gradcheck():
    a, t = _emb(5, 4, 12).requires_grad_(), _emb(5, 4, 13).requires_grad_()
    keys = torch.tensor([3, -1, 3, 7, 7])

    def fn(x, y):
        return hybrid_nce(x, y, keys, alpha=0.8, lam=0.3, beta=0.4, tau=0.2, symmetric=True)

    assert torch.autograd.gradcheck(fn, (a, t))


@pytest.mark.parametrize(
    ("field", "value"), [("alpha", 0.0), ("lam", -0.1), ("beta", -1.0), ("tau", 0.0), ("tau", float("nan"))]
)
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        HybridNCEConfig(**{field: value})


def test_rejects_bad_shapes():
    a = _emb(4, 8, 14)
    with pytest.raises(ValueError, match="audio_emb and text_emb"):
        hybrid_nce(a, a[:3])
    with pytest.raises(ValueError, match="clusters"):
        hybrid_nce(a, a, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="clusters"):
        hybrid_nce(a, a, torch.zeros(4))


def test_row_slices_with_self_cols_match_full_rows():
    a, t = _emb(10, 8, 15), _emb(10, 8, 16)
    keys = cluster_set_keys(CLUSTER_SETS)
    sim = a @ t.T
    full = hybrid_nce_from_mask(sim, positive_mask(keys, keys), alpha=0.9, lam=0.4, beta=0.3)
    cols = torch.arange(4, 10)
    part = hybrid_nce_from_mask(
        sim[4:], positive_mask(keys[4:], keys, cols), alpha=0.9, lam=0.4, beta=0.3, self_cols=cols
    )
    assert torch.allclose(part, full[4:], atol=1e-12)
    with pytest.raises(ValueError, match="own column"):
        hybrid_nce_from_mask(sim[4:], positive_mask(keys[4:], keys), self_cols=cols)
