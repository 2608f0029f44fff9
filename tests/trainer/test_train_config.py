"""TrainConfig: file loading (JSON/YAML), precedence, validation messages; data plumbing determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trainer.config import TINY_DEFAULTS, TrainConfig
from trainer.data import AudioPolicy, EpochBatches


def test_yaml_file_then_explicit_options_then_defaults(tmp_path: Path) -> None:
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text("manifest: m.jsonl\noutput: out\nmodel: some/model\nlr: 3.0e-4\nbatch-size: 16\n")
    config = TrainConfig.build(cfg_file, lr=2e-4, epochs=None)  # None = option not given on the CLI
    assert (config.lr, config.batch_size, config.epochs, config.lora_r) == (2e-4, 16, 2.0, 128)
    saved = config.save(tmp_path / "saved.json")
    assert TrainConfig.from_file(saved) == config  # round trip through the saved JSON


def test_tiny_defaults_apply_only_when_not_given(tmp_path: Path) -> None:
    tiny = TrainConfig.build(manifest="m", output="o", init_tiny=True)
    assert tiny.full is True and tiny.lr == TINY_DEFAULTS["lr"]
    assert TrainConfig.build(manifest="m", output="o", init_tiny=True, lr=0.5).lr == 0.5


def test_infonce_means_plain_infonce_hyperparameters() -> None:
    loss = TrainConfig(manifest="m", output="o", model="x", loss="infonce", tau=0.1).loss_config()
    assert (loss.alpha, loss.lam, loss.beta, loss.tau) == (1.0, 0.0, 0.0, 0.1)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"batch_size": 0}, r"batch_size=0 .* integer >= 1"),
        ({"warmup": 1.5}, r"warmup=1.5 .* \[0, 1\)"),
        ({"loss": "triplet"}, r"loss='triplet' .* 'hybrid'"),
        ({"tau": -1.0}, r"tau=-1.0"),
        ({"model": None}, r"--init-tiny"),
        ({"min_audio_s": 40.0}, r"min_audio_s"),
    ],
)
def test_invalid_values_are_quoted_with_the_fix(options: dict, match: str) -> None:
    base = {"manifest": "m", "output": "o", "model": "x"}
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{**base, **options})


def test_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"manifest": "m", "output": "o", "model": "x", "learning_rate": 1}))
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['learning_rate'\]"):
        TrainConfig.from_file(bad)
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ValueError, match="mapping"):
        TrainConfig.from_file(tmp_path / "list.yaml")
    with pytest.raises(ValueError, match="--manifest"):
        TrainConfig.build(None, model="x")


def test_batch_summary_states_negatives_and_accumulation() -> None:
    text = TrainConfig(manifest="m", output="o", model="x", batch_size=64, grad_accum=4).batch_summary(8)
    assert "512 pairs per contrastive batch (511 in-batch negatives per row)" in text
    assert "2048 pairs per optimizer step" in text and "NOT add negatives" in text


def test_epoch_batches_are_deterministic_and_ranks_split_the_global_batch() -> None:
    one = list(EpochBatches(20, 8, seed=1, epoch=2))
    assert len(one) == 2 and one == list(EpochBatches(20, 8, seed=1, epoch=2))
    assert one != list(EpochBatches(20, 8, seed=1, epoch=3))
    ranks = [list(EpochBatches(20, 8, seed=1, epoch=2, rank=r, world_size=2)) for r in range(2)]
    assert [a + b for a, b in zip(ranks[0], ranks[1], strict=True)] == one
    assert list(EpochBatches(20, 8, seed=1, epoch=2, skip=1)) == one[1:]


def test_audio_policy_pads_and_crops() -> None:
    policy = AudioPolicy(min_s=2.0, max_s=3.0)
    short = policy.apply(np.ones(16000, dtype=np.float32))
    assert short.shape == (32000,) and short[:16000].all() and not short[16000:].any()
    assert policy.apply(np.ones(64000, dtype=np.float32)).shape == (48000,)
    assert AudioPolicy(enabled=False).apply(np.ones(10, dtype=np.float32)).shape == (10,)
