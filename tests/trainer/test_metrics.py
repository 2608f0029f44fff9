"""Recall@k against rankings computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.metrics import a2t_ranks, recall_at_k, recalls, t2a_ranks


def test_t2a_ranks_by_hand() -> None:
    # 3 captions x 3 audios. Caption 0 -> audio 0 is best (rank 0); caption 1 -> audio 2 is third (rank 2);
    # caption 2 -> audio 1 ties with audio 0: ties count against the query (rank 1).
    sim = np.array([[0.9, 0.1, 0.2], [0.5, 0.4, 0.3], [0.7, 0.7, 0.1]])
    gt = [0, 2, 1]
    assert t2a_ranks(sim, gt).tolist() == [0, 2, 1]
    assert recall_at_k(sim, gt, 1) == pytest.approx(1 / 3)
    assert recall_at_k(sim, gt, 2) == pytest.approx(2 / 3)
    assert recall_at_k(sim, gt, 3) == 1.0


def test_a2t_best_rank_among_captions() -> None:
    # 2 audios x 4 captions; audio 0 owns captions {0, 1}, audio 1 owns {2, 3}.
    sim = np.array([[0.1, 0.6, 0.8, 0.2], [0.9, 0.8, 0.3, 0.7]])
    gt = [[0, 1], [2, 3]]
    # audio 0: best own caption 1 (0.6); wrong captions above it: caption 2 (0.8) -> rank 1.
    # audio 1: best own caption 3 (0.7); wrong above: captions 0, 1 -> rank 2.
    assert a2t_ranks(sim, gt).tolist() == [1, 2]
    assert recall_at_k(sim, gt, 1) == 0.0
    assert recall_at_k(sim, gt, 2) == 0.5
    assert recall_at_k(sim, gt, 3) == 1.0


def test_recalls_from_embeddings_and_constant_embeddings_score_zero_at_1() -> None:
    audio = np.eye(3, dtype=np.float32)
    text = np.eye(3, dtype=np.float32)[[0, 0, 1, 2]]  # captions 0, 1 describe audio 0
    out = recalls(text, audio, [0, 0, 1, 2], ks=(1,))
    assert out == {"t2a_r1": 1.0, "a2t_r1": 1.0}
    const = np.ones((3, 2), dtype=np.float32) / np.sqrt(2)
    assert recalls(const[[0, 1, 2]], const, [0, 1, 2], ks=(1, 3)) == {
        "t2a_r1": 0.0,
        "t2a_r3": 1.0,
        "a2t_r1": 0.0,
        "a2t_r3": 1.0,
    }


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="k=0"):
        recall_at_k(np.eye(2), [0, 1], 0)
    with pytest.raises(ValueError, match="gt"):
        t2a_ranks(np.eye(2), [0])
    with pytest.raises(ValueError, match="no ground-truth"):
        a2t_ranks(np.eye(2), [[0], []])
