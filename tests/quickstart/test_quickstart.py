"""`aurola-qdrant quickstart`: the reduced run end to end (default suite), the second run reusing every
stage, and the full run's targets (opt-in: ``pytest -m slow``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aurola_qdrant import AurolaEmbedder
from aurola_qdrant.cli import main as cli
from aurola_quickstart.cli import quickstart


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(quickstart, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    workdir = tmp_path_factory.mktemp("qs") / "work"
    return workdir, _run(["--workdir", str(workdir), "--small"])


def test_reduced_quickstart_runs_every_stage_and_beats_chance(small_run) -> None:
    workdir, output = small_run
    for header in ("1/6", "2/6", "3/6", "4/6", "5/6", "6/6", "== results"):
        assert header in output
    assert "text query:" in output and "audio query:" in output and "[0.00-" in output  # time-stamped hits
    results = json.loads((workdir / "results.json").read_text())
    reranked = results["reranked"]
    plain = reranked["retrieval"]
    n = reranked["n_clips"]
    assert n == 40 and reranked["n_captions"] == 200 and reranked["candidates"] == 5
    chance_r5 = 100.0 * 5 / n
    assert plain["t2a"]["R@5"] >= 2 * chance_r5, plain  # retrieval well above chance (12.5 %)
    assert plain["a2t"]["R@5"] >= 2 * chance_r5, plain
    # α came from validation tuning (stored with the re-ranker), never from the test split
    alpha = json.loads((workdir / "reranker" / "alpha.json").read_text())
    assert alpha["validation"].endswith("validation.jsonl") and reranked["alpha"] == alpha["alpha"]
    # re-ranking the top 5 never changes R@5 or R@10
    for d in ("t2a", "a2t"):
        assert reranked[d]["R@5"] == plain[d]["R@5"] and reranked[d]["R@10"] == plain[d]["R@10"]
    # α = 0 (validation saw no R@1 gain) keeps the retrieval order, and the footer says so
    off = [d for d in ("t2a", "a2t") if alpha["alpha"][d] == 0]
    for d in off:
        assert reranked[d] == plain[d]
    assert ("α = 0 (" in output) == bool(off)
    if off:
        assert f"α = 0 ({', '.join(d.upper() for d in off)})" in output
    assert (workdir / "qdrant").is_dir()
    # it ends with its model folders and commands for the user's own files, paths filled in
    tail = output.splitlines()[-6:]
    assert tail[0] == "== your own files" and str((workdir / "embedder" / "final").resolve()) in tail[1]
    ingest_line, search_line = tail[-2].split(), tail[-1].split()
    assert ingest_line[:2] == ["aurola-qdrant", "ingest"] and search_line[:2] == ["aurola-qdrant", "search"]
    assert str((workdir / "qdrant").resolve()) in ingest_line and "--reranker" in search_line
    assert str((workdir / "reranker" / "final").resolve()) in search_line
    assert AurolaEmbedder.from_pretrained(workdir / "embedder" / "final").vector_name == "quickstart-embedder"
    assert set(results["timings"]) >= {"data", "embedder", "reranker", "ingest", "search", "evaluate"}


def test_second_run_reuses_every_stage(small_run) -> None:
    workdir, _ = small_run
    before = (workdir / "results.json").read_text()
    output = _run(["--workdir", str(workdir), "--small"])
    assert output.count("skipped (use --force to redo)") == 4  # data, embedder, re-ranker, evaluation
    assert "0 files ingested, 40 already in Qdrant" in output  # ingest resumes from Qdrant itself
    assert json.loads(before)["reranked"] == json.loads((workdir / "results.json").read_text())["reranked"]


def test_command_is_registered() -> None:
    result = CliRunner().invoke(cli, ["quickstart", "--help"])
    assert result.exit_code == 0 and "--small" in result.output and "--force" in result.output


@pytest.mark.slow
def test_full_quickstart_meets_its_targets(tmp_path: Path) -> None:
    _run(["--workdir", str(tmp_path / "full")])
    reranked = json.loads((tmp_path / "full" / "results.json").read_text())["reranked"]
    plain = reranked["retrieval"]
    assert reranked["n_clips"] == 200
    assert plain["t2a"]["R@5"] >= 80.0, plain  # chance: 2.5 %
    for d in ("t2a", "a2t"):
        assert reranked[d]["R@1"] >= plain[d]["R@1"], reranked


def test_stages_skip_finished_work_and_force_removes_only_quickstart_outputs(tmp_path: Path) -> None:
    from aurola_quickstart.stages import Stages

    lines: list[str] = []
    (tmp_path / "mine.txt").write_text("user file")
    stages = Stages(tmp_path, force=False, say=lines.append)
    calls: list[int] = []
    assert stages.run("data", tmp_path / "data" / "DONE", "data", lambda: calls.append(1))
    assert not stages.run("data", tmp_path / "data" / "DONE", "data", lambda: calls.append(2))
    assert calls == [1] and stages.timings["data"] == 0.0 and any("skipped" in line for line in lines)
    Stages(tmp_path, force=True, say=lines.append)
    assert not (tmp_path / "data").exists() and (tmp_path / "mine.txt").read_text() == "user file"
