"""`eval` and `build-tag-vocab` commands on a tiny checkpoint and synthetic clips (click's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli.evaluate import evaluate
from trainer.cli.tag_vocab import build_tag_vocab
from trainer.manifest import load_tag_vocabulary, read_manifest
from trainer.synthetic import generate_dataset


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_dataset(tmp_path_factory.mktemp("cli_eval"), 6, seed=5, n_captions=2)


def test_eval_json(tiny_thinker: Path, manifest: Path) -> None:
    args = ["--manifest", str(manifest), "--model", str(tiny_thinker), "--device", "cpu", "--json"]
    result = CliRunner().invoke(evaluate, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["n_clips"], out["n_captions"], out["reranked"]) == (6, 12, False)
    assert set(out["t2a"]) == {"R@1", "R@5", "R@10"} and out["t2a"]["R@10"] == 100.0
    assert out["mean"] == pytest.approx(sum([*out["t2a"].values(), *out["a2t"].values()]) / 6)


def test_eval_reranked_table_with_tuned_alpha(tiny_thinker: Path, manifest: Path) -> None:
    args = ["--manifest", str(manifest), "--model", str(tiny_thinker), "--device", "cpu"]
    args += ["--reranker", str(tiny_thinker), "--candidates", "2", "--tune-alpha-on", str(manifest)]
    result = CliRunner().invoke(evaluate, args)
    assert result.exit_code == 0, result.output
    assert "retrieval only:" in result.output and "re-ranked top 2" in result.output
    assert result.output.count("T2A") == 2 and "mean" in result.output


def test_eval_usage_errors(tiny_thinker: Path, manifest: Path) -> None:
    result = CliRunner().invoke(evaluate, ["--manifest", str(manifest), "--model", "x", "--alpha", "1"])
    assert result.exit_code == 2 and "--reranker" in result.output


def test_build_tag_vocab(tiny_thinker: Path, manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "vocab.tsv"
    args = ["--manifest", str(manifest), "--model", str(tiny_thinker), "--device", "cpu"]
    result = CliRunner().invoke(build_tag_vocab, [*args, "--clusters", "3", "--output", str(out)])
    assert result.exit_code == 0, result.output
    vocab = load_tag_vocabulary(out)
    tags = {" ".join(t.lower().split()) for item in read_manifest(manifest) for t in item.tags}
    assert set(vocab) == tags and set(vocab.values()) <= {0, 1, 2}
    assert f"wrote {len(tags)} tags" in result.output
