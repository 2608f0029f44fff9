"""Models that explain themselves: hub names offline, missing or non-checkpoint folders, the HF cache,
export identities and quiet loading. CLI cases run the real `aurola-qdrant` in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aurola_qdrant import AurolaEmbedder, ModelLoadError, UnknownModelError
from aurola_qdrant.model import load_thinker
from aurola_qdrant.model.identity import IDENTITY_FILE, local_model_id, vector_name_for, write_identity

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _cli(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "NO_PROXY": "*", **env}
    code = "from aurola_qdrant.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=full, timeout=300
    )


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr  # one line, not 52 hub retry warnings
    return lines[0]


def test_registry_name_offline_says_it_needs_the_hub(tmp_path: Path) -> None:
    done = _cli(
        ["embed", "--text", "hi", "--model", "aurola-3b"], HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path)
    )
    line = _one_error_line(done)
    assert (
        "Jazzcharles/AuroLA-3B" in line and "needs the Hugging Face hub" in line and "HF_HUB_OFFLINE" in line
    )
    assert "--model /path/to/checkpoint" in line


def test_unreachable_hub_fails_at_once_without_retries(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_CACHE=str(tmp_path), NO_PROXY="*")
    code = "from aurola_qdrant.cli import main; main()"
    args = [sys.executable, "-c", code, "embed", "--text", "hi", "--model", "aurola-3b"]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    line = _one_error_line(done)
    assert "not reachable" in line and "--model /path/to/checkpoint" in line and "Retrying" not in done.stderr


@pytest.mark.parametrize("path", ["./no-such-model", "/no/such/model", "~/no-such-model/", "a/b/c"])
def test_missing_path_says_no_such_folder(path: str) -> None:
    with pytest.raises(UnknownModelError, match="no such folder: " + path.replace(".", r"\.")):
        load_thinker(path)


def test_cli_missing_path_is_one_line() -> None:
    line = _one_error_line(_cli(["embed", "--text", "hi", "--model", "./no-such-model"]))
    assert line.startswith("error: no such folder: ./no-such-model")


def test_folder_that_is_not_a_checkpoint_names_what_is_missing(tiny_thinker: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError) as err:
        load_thinker(empty)
    for part in ("config.json", "weights", "tokenizer", "preprocessor_config.json"):
        assert part in str(err.value)
    partial = tmp_path / "partial"
    shutil.copytree(tiny_thinker, partial)
    (partial / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError, match=r"not a model checkpoint folder: it has no tokenizer") as err:
        load_thinker(partial)
    assert "config.json" not in str(err.value) and "sentencepiece" not in str(err.value)


def test_training_run_folder_points_at_its_export(tiny_thinker: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_thinker, tmp_path / "run" / "final")
    line = _one_error_line(_cli(["embed", "--text", "hi", "--model", str(tmp_path / "run")]))
    assert (
        "is not a model checkpoint folder" in line and f"did you mean {tmp_path / 'run' / 'final'}?" in line
    )


def test_hub_repo_loads_from_the_local_cache_offline(tiny_thinker: Path, tmp_path: Path, monkeypatch) -> None:
    import huggingface_hub

    repo = tmp_path / "models--acme--tiny-aurola"
    shutil.copytree(tiny_thinker, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    loaded = load_thinker("acme/tiny-aurola", device="cpu")
    assert (loaded.model_id, loaded.revision, loaded.vector_name) == (
        "acme/tiny-aurola",
        COMMIT,
        "tiny-aurola",
    )


def test_export_identity_names_the_model_and_vector(tiny_thinker: Path, tmp_path: Path) -> None:
    final = tmp_path / "runs" / "birds" / "final"
    shutil.copytree(tiny_thinker, final)
    assert local_model_id(final) == "final"  # an old export without the record keeps its folder name
    write_identity(final, "birds v2", role="embedder")
    assert (final / IDENTITY_FILE).is_file()
    emb = AurolaEmbedder.from_pretrained(final, device="cpu")
    plain = AurolaEmbedder.from_pretrained(tiny_thinker, device="cpu")
    assert (emb.model_id, emb.vector_name) == ("birds v2", "birds-v2")
    assert emb.revision == plain.revision  # the record is metadata: the weights' fingerprint is unchanged
    (final / IDENTITY_FILE).write_text("{not json")
    with pytest.raises(ModelLoadError, match=IDENTITY_FILE):
        load_thinker(final)


def test_vector_names_of_older_folders_are_unchanged_where_they_were_valid(tmp_path: Path) -> None:
    assert vector_name_for("/x/final", "final") == "final"
    assert vector_name_for("aurola-3b", "Jazzcharles/AuroLA-3B") == "aurola-3b"
    assert vector_name_for("/x/My_Model--1", "My_Model--1") == "my_model--1"
    assert vector_name_for("/x/emb.v2", "emb.v2") == "emb-v2"  # '.' was never a valid vector name
    with pytest.raises(ValueError, match="letter or digit"):
        write_identity(tmp_path, "--", role="embedder")
    assert not (tmp_path / IDENTITY_FILE).exists()


def test_no_weight_loading_bars_unless_verbose(tiny_thinker: Path) -> None:
    args = ["embed", "--text", "hi", "--model", str(tiny_thinker), "--device", "cpu"]
    quiet = _cli(args)
    assert quiet.returncode == 0, quiet.stderr
    assert "Loading weights" not in quiet.stderr and quiet.stderr.strip() == ""
    verbose = _cli(["-v", *args])
    assert verbose.returncode == 0 and "Loading weights" in verbose.stderr
