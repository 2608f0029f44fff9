"""Re-ranker training: inference-identical prompts, balanced directions, a CPU smoke run through the CLI
whose export loads with `AurolaReranker` (scores changed, α tuned on validation), and a LoRA run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate import Accelerator
from click.testing import CliRunner
from safetensors.numpy import load_file

from aurola_qdrant.audio import load_audio
from aurola_qdrant.cli import main as cli
from aurola_qdrant.model import InputBuilder
from aurola_qdrant.reranker import AurolaReranker
from trainer.hard_negatives import MiningConfig, mine_hard_negatives
from trainer.manifest import read_manifest
from trainer.modeling import load_training_thinker
from trainer.rerank_config import RERANK_ALPHA_GRID, RerankTrainConfig
from trainer.rerank_data import RerankCollator, RerankDataset, answer_ids, rerank_prompt
from trainer.rerank_train import YesNoModel, head_warmup, train_reranker


@pytest.fixture(scope="module")
def reranker0(tiny_thinker: Path) -> AurolaReranker:
    return AurolaReranker.from_pretrained(tiny_thinker, device="cpu")


def test_training_prompts_are_the_inference_prompts(reranker0: AurolaReranker, synth_small) -> None:
    item = read_manifest(synth_small["train"])[0]
    wav = load_audio(item.audio).waveform
    caption = item.captions[0]
    ours = rerank_prompt(reranker0.inputs, "t2a", caption, wav)
    assert ours.input_ids == reranker0.t2a_prompt(caption, wav).input_ids and ours.audios[0] is wav
    ours = rerank_prompt(reranker0.inputs, "a2t", caption, wav)
    assert ours.input_ids == reranker0.a2t_prompt(wav, caption).input_ids and ours.audios[0] is wav
    assert answer_ids(reranker0.thinker.tokenizer) == (reranker0.yes_token_id, reranker0.no_token_id)
    with pytest.raises(ValueError, match="direction"):
        rerank_prompt(reranker0.inputs, "a2a", caption, wav)


def test_dataset_balances_directions_and_labels(reranker0, tiny_embedder, synth_small) -> None:
    items = read_manifest(synth_small["train"])
    mined = mine_hard_negatives(items, tiny_embedder, MiningConfig(keep=4))
    data = RerankDataset(items, mined, reranker0.inputs, seed=1, negatives=2)
    samples = [data[(0, i)] for i in range(len(data))]
    assert sum(s.direction == "t2a" for s in samples) == len(items) // 2
    assert [data[(1, i)].direction for i in range(4)] == ["a2t", "t2a", "a2t", "t2a"]  # swaps per epoch
    for s in samples:
        assert s.labels == (1, 0, 0) and len(s.prompts) == 3
    again = data[(0, 3)]  # a pure function of (epoch, index)
    assert [p.input_ids for p in again.prompts] == [p.input_ids for p in samples[3].prompts]
    for a, b in zip(again.prompts, samples[3].prompts, strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a.audios, b.audios, strict=True))
    batch = RerankCollator(reranker0.inputs)(samples[:2])
    assert batch["labels"].tolist() == [1, 0, 0, 1, 0, 0]
    assert batch["batch"]["input_ids"].shape[0] == 6 and batch["t2a"].sum().item() == 3


def test_hard_negatives_option_mixes_mined_and_random(reranker0, tiny_embedder, synth_small) -> None:
    items = read_manifest(synth_small["train"])
    mined = mine_hard_negatives(items, tiny_embedder, MiningConfig(keep=3))
    in_hard = {}
    for hard in (None, 1):
        data = RerankDataset(items, mined, reranker0.inputs, seed=1, negatives=3, hard=hard)
        later = []
        for i in range(len(data)):
            rng = np.random.default_rng([1, 0, i])  # the sample's own draws, replayed
            own = mined.clip_texts[i]
            text = int(own[int(rng.integers(len(own)))])
            if data.direction(0, i) == "t2a":
                hard_list, bad = mined.t2a[text], set(mined.owners[text])
                negs = data._draw(rng, hard_list, len(items), bad)
            else:
                hard_list, bad = mined.a2t[i], set(own)
                negs = data._draw(rng, hard_list, len(mined.texts), bad)
            assert len(negs) == 3 == len(set(negs)) and not set(negs) & bad  # never a match, no repeats
            if hard_list:  # the first negative is always a mined one
                assert negs[0] in hard_list
            if len(hard_list) == 3:
                later += [j in hard_list for j in negs[1:]]
        in_hard[hard] = float(np.mean(later))
    assert in_hard[None] == 1.0  # all three from the mined list when it is full (3 kept per query)
    assert in_hard[1] < 0.5  # one mined, the other two random: rarely in the 3-item mined list
    with pytest.raises(ValueError, match="hard"):
        RerankDataset(items, mined, reranker0.inputs, seed=1, negatives=3, hard=-1)


def test_head_warmup_trains_the_answer_head_alone(tiny_thinker: Path, tiny_embedder, synth_small) -> None:
    items = read_manifest(synth_small["train"])
    loaded = load_training_thinker(str(tiny_thinker))
    thinker = loaded.thinker.model
    thinker.requires_grad_(True)
    builder = InputBuilder(loaded.thinker.tokenizer, loaded.thinker.feature_extractor)
    mined = mine_hard_negatives(items, tiny_embedder, MiningConfig(keep=2))
    data = RerankDataset(items, mined, builder, seed=0, negatives=1)
    config = RerankTrainConfig(
        manifest="m", output="o", embedder="e", batch_size=4, head_warmup_steps=6, head_lr=5e-2, log_every=1
    )
    before = {k: v.detach().clone() for k, v in thinker.state_dict().items()}
    losses: list[float] = []
    head_warmup(
        YesNoModel(thinker), data, RerankCollator(builder), config, Accelerator(cpu=True),
        answer_ids(loaded.thinker.tokenizer), lambda info: losses.append(info["loss"]),
    )  # fmt: skip
    after = thinker.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"lm_head.weight"}  # the body is untouched
    assert len(losses) == 6 and losses[-1] < losses[0] - 1.0  # mass moves onto Yes/No quickly


def _scores(folder: Path, items) -> np.ndarray:
    judge = AurolaReranker.from_pretrained(folder, device="cpu")
    wavs = [load_audio(it.audio).waveform for it in items[:3]]
    t2a = judge.score_text_to_audio_waveforms(items[0].captions[0], wavs)
    a2t = judge.score_audio_waveform_to_text(wavs[0], [it.captions[0] for it in items[:3]])
    return np.concatenate([t2a, a2t])


def test_cli_smoke_exports_a_loadable_changed_reranker_with_tuned_alpha(
    tiny_thinker: Path, synth_small, tmp_path: Path
) -> None:
    out = tmp_path / "rr"
    args = [
        "train-reranker", "--manifest", str(synth_small["train"]), "--embedder", str(tiny_thinker),
        "--output", str(out), "--tiny", "--max-steps", "3", "--batch-size", "4", "--log-every", "1",
        "--device", "cpu", "--val-manifest", str(synth_small["validation"]), "--candidates", "3",
        "--head-warmup-steps", "2", "--name", "birds-rerank",
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "step 3/3" in result.output and "alpha tuned on validation" in result.output
    assert "answer-head warm-up step 2/2" in result.output
    final = out / "final"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json",
                 "chat_template.jinja", "aurola_reranker.json", "rerank_config.json"):  # fmt: skip
        assert (final / name).is_file(), name
    assert not (final / "train_config.json").exists()
    weights, start = (
        load_file(str(final / "model.safetensors")),
        load_file(str(tiny_thinker / "model.safetensors")),
    )
    assert np.abs(weights["lm_head.weight"] - start["lm_head.weight"]).max() > 1e-4  # --tiny trains the head
    items = read_manifest(synth_small["validation"])
    before, after = _scores(tiny_thinker, items), _scores(final, items)
    assert np.all((after >= 0) & (after <= 1)) and np.abs(before - after).max() > 1e-3
    alpha = json.loads((out / "alpha.json").read_text())
    assert alpha["validation"] == str(synth_small["validation"])
    judge = AurolaReranker.from_pretrained(final, device="cpu")
    assert judge.model_id == "birds-rerank"  # --name, recorded in final/aurola_model.json
    for direction in ("t2a", "a2t"):
        assert alpha["alpha"][direction] in RERANK_ALPHA_GRID
        assert judge.default_alpha(direction) == alpha["alpha"][direction]
    # a second run on the same output refuses; --resume finds everything done and keeps the export
    again = CliRunner().invoke(cli, args)
    assert again.exit_code != 0 and "--resume" in again.output
    assert CliRunner().invoke(cli, [*args, "--resume"]).exit_code == 0


def test_lora_run_merges_into_a_plain_checkpoint(tiny_thinker: Path, synth_small, tmp_path: Path) -> None:
    config = RerankTrainConfig(
        manifest=str(synth_small["train"]), output=str(tmp_path / "lora"), embedder=str(tiny_thinker),
        lora_r=4, lora_alpha=8, lr=1e-2, batch_size=4, max_steps=2, device="cpu", mine_keep=2,
    )  # fmt: skip
    final = train_reranker(config)
    weights = load_file(str(final / "model.safetensors"))
    assert not any("lora" in k for k in weights)
    start = load_file(str(tiny_thinker / "model.safetensors"))
    assert np.array_equal(weights["lm_head.weight"], start["lm_head.weight"])  # head frozen by default
    key = "model.layers.0.self_attn.q_proj.weight"
    assert np.abs(weights[key] - start[key]).max() > 1e-5
    assert not (tmp_path / "lora" / "alpha.json").exists()  # no validation data: no α written


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"negatives": 0}, "negatives"),
        ({"mine_ceiling": 2.0}, "ceiling"),
        ({"alpha_grid": (-1.0,)}, "alpha_grid"),
        ({"embedder": ""}, "embedder"),
        ({"hard_negatives": 4}, "hard_negatives"),
        ({"head_lr": 0.0}, "head_lr"),
        ({"head_warmup_steps": -1}, "head_warmup_steps"),
    ],
)
def test_config_rejects_bad_values(options: dict, match: str) -> None:
    base = {"manifest": "m.jsonl", "output": "o", "embedder": "e"}
    with pytest.raises(ValueError, match=match):
        RerankTrainConfig(**{**base, **options})


def test_config_build_applies_tiny_defaults_unless_given() -> None:
    c = RerankTrainConfig.build(manifest="m", output="o", embedder="e", tiny=True, lr=5e-4)
    assert (c.full, c.train_head, c.lr) == (True, True, 5e-4)
    assert (c.head_warmup_steps, c.hard_negatives) == (40, 1)  # the tiny recipe: head first, 1 hard + random
    plain = RerankTrainConfig.build(manifest="m", output="o", embedder="e")
    assert (plain.lr, plain.head_warmup_steps, plain.hard_negatives) == (2e-5, 0, None)  # METHOD.md
    with pytest.raises(ValueError, match="unknown"):
        RerankTrainConfig.build(manifest="m", output="o", embedder="e", nope=1)
