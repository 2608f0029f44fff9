"""The real training entry points on CPU: CLI from scratch, LoRA, exact resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.numpy import load_file

from aurola_qdrant import AurolaEmbedder
from aurola_qdrant.cli import main as cli
from trainer.config import TrainConfig
from trainer.train import train

CAPTIONS = ["a dog barks twice", "a low hum, steady"]


def _probe(folder: Path, clip: Path) -> np.ndarray:
    emb = AurolaEmbedder.from_pretrained(folder, device="cpu")
    return np.concatenate([emb.embed_text(CAPTIONS), emb.embed_audio([str(clip)])])


def _first_clip(manifest: Path) -> Path:
    return manifest.parent / json.loads(manifest.read_text().splitlines()[0])["audio"]


def test_cli_from_scratch_exports_a_loadable_changed_checkpoint(
    synth_small: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = [
        "train",
        "--manifest",
        str(synth_small["train"]),
        "--output",
        str(out),
        "--init-tiny",
        "--full",
        "--tag-vocab",
        str(synth_small["vocab"]),
        "--val-manifest",
        str(synth_small["validation"]),
        "--batch-size",
        "8",
        "--max-steps",
        "3",
        "--log-every",
        "1",
        "--device",
        "cpu",
        "--tiny-config",
        "hidden_size=32,intermediate_size=64,audio_d_model=32,audio_ffn_dim=64",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "8 pairs per contrastive batch (7 in-batch negatives per row)" in result.output
    assert "step 3/3" in result.output and "validation step 3" in result.output
    assert "ETA 0s" in result.output and "elapsed " in result.output  # the last progress line
    final = out / "final"
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
        "chat_template.jinja",
        "train_config.json",
    ):
        assert (final / name).is_file(), name
    assert json.loads((out / "train_config.json").read_text())["tiny_config"]["hidden_size"] == 32
    clip = _first_clip(synth_small["train"])
    before, after = _probe(out / "init", clip), _probe(final, clip)
    assert before.shape == after.shape == (3, 32)
    exported = AurolaEmbedder.from_pretrained(final, device="cpu")
    assert (exported.model_id, exported.vector_name) == ("run", "run")  # the run's name, not "final"
    assert np.abs(before - after).max() > 1e-3
    assert np.allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-5)
    record = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["step"] == 3 and 0.0 <= record["t2a_r5"] <= 1.0


def test_lora_merges_into_a_plain_checkpoint(
    synth_small: dict[str, Path], tiny_thinker: Path, tmp_path: Path
) -> None:
    config = TrainConfig(
        manifest=str(synth_small["train"]),
        output=str(tmp_path / "lora"),
        model=str(tiny_thinker),
        lora_r=4,
        lora_alpha=8,
        lr=1e-2,
        batch_size=8,
        max_steps=2,
        device="cpu",
        loss="infonce",
    )
    final = train(config)
    weights = load_file(str(final / "model.safetensors"))
    assert not any("lora" in k for k in weights)  # merged: no adapter tensors left
    clip = _first_clip(synth_small["train"])
    assert np.abs(_probe(tiny_thinker, clip) - _probe(final, clip)).max() > 1e-4
    # the vision tower and LM head are kept (a complete checkpoint) and untouched
    source = load_file(str(tiny_thinker / "model.safetensors"))
    assert np.array_equal(weights["lm_head.weight"], source["lm_head.weight"])


def test_resume_matches_an_uninterrupted_run(
    synth_small: dict[str, Path], tiny_thinker: Path, tmp_path: Path
) -> None:
    out = tmp_path / "resume"
    config = TrainConfig(
        manifest=str(synth_small["train"]),
        output=str(out),
        model=str(tiny_thinker),
        full=True,
        lr=1e-3,
        batch_size=8,
        max_steps=5,
        save_every=2,
        keep_checkpoints=3,
        device="cpu",
        tag_vocab=str(synth_small["vocab"]),
    )
    # 5 steps over 4 batches/epoch: the resumed part crosses an epoch boundary
    train(config)
    ckpts = out / "checkpoints" / "main"
    reference = load_file(str(out / "final" / "model.safetensors"))
    with pytest.raises(FileExistsError, match="--resume"):
        train(config)
    # "crash" after step 2: drop what came later, then resume
    shutil.rmtree(ckpts / "step_00000004")
    shutil.rmtree(ckpts / "step_00000005")
    (ckpts / "DONE").unlink()
    shutil.rmtree(out / "final")
    train(config, resume=True)
    resumed = load_file(str(out / "final" / "model.safetensors"))
    assert reference.keys() == resumed.keys()
    for key, value in reference.items():
        np.testing.assert_allclose(resumed[key], value, rtol=0, atol=1e-6, err_msg=key)
    assert json.loads((ckpts / "step_00000005" / "state.json").read_text())["step"] == 5
    # and the run really trained: weights moved from the starting model
    start = load_file(str(tiny_thinker / "model.safetensors"))
    key = "model.layers.0.mlp.up_proj.weight"  # the saved (original Qwen) layout
    assert np.abs(resumed[key] - start[key]).max() > 1e-4


def test_text_warmup_stage_is_merged_before_the_main_stage(
    synth_small: dict[str, Path], tiny_thinker: Path, tmp_path: Path
) -> None:
    out = tmp_path / "two_stage"
    config = TrainConfig(
        manifest=str(synth_small["train"]), output=str(out), model=str(tiny_thinker), lora_r=4, lora_alpha=8,
        warmup_stage_steps=2, warmup_lora_r=2, warmup_lora_alpha=4, warmup_lr=1e-2, lr=1e-2, batch_size=8,
        max_steps=1, device="cpu",
    )  # fmt: skip
    final = train(config)
    warm = out / "warmup"
    assert (warm / "model.safetensors").is_file() and (out / "checkpoints" / "warmup" / "DONE").is_file()
    clip = _first_clip(synth_small["train"])
    start, after_warmup = _probe(tiny_thinker, clip), _probe(warm, clip)
    assert np.abs(start[:2] - after_warmup[:2]).max() > 1e-4  # text side moved in the warm-up
    # the warm-up adapts the language model only, but audio also goes through it: just check it loads
    assert _probe(final, clip).shape == start.shape
