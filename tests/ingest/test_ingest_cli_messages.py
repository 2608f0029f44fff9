"""`aurola-qdrant ingest` as a new user meets it: sources that name nothing, dry runs, duplicate counts."""

from __future__ import annotations

import json
import shutil

import pytest
import soundfile as sf
from click.testing import CliRunner

from aurola_qdrant.cli import main


def _args(tmp_path, tiny_thinker, *sources):
    return ["ingest", *map(str, sources), "--collection", "sounds", "--qdrant-path", str(tmp_path / "db"),
            "--model", str(tiny_thinker), "--window", "2", "--workers", "1", "--batch-size", "2",
            "--no-progress"]  # fmt: skip


def test_a_source_that_matches_no_file_stops_with_a_message(h, tmp_path, tiny_thinker):
    (tmp_path / "empty").mkdir()
    h.write_tone(tmp_path / "in" / "a.wav", 1.0)
    for source in (tmp_path / "empty", tmp_path / "in" / "*.flac"):
        result = CliRunner().invoke(main, _args(tmp_path, tiny_thinker, tmp_path / "in", source))
        assert result.exit_code == 3, result.output
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and f"SOURCE {str(source)!r} matches no file" in errors[0]
        assert "Traceback" not in result.output
    assert not (tmp_path / "db" / "collection").exists()  # nothing was written


def test_dry_run_creates_nothing_and_reports_the_planned_hours(h, tmp_path, tiny_thinker):
    files = [
        h.write_tone(tmp_path / "in" / "a.wav", 5.0),
        h.write_tone(tmp_path / "in" / "b.wav", 1.5, freq=600),
    ]
    args = [*_args(tmp_path, tiny_thinker, tmp_path / "in"), "--dry-run"]
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "db").exists()
    summary = json.loads(result.stdout)
    hours = sum(sf.info(str(f)).duration for f in files) / 3600
    assert abs(summary["planned_audio_hours"] - hours) < 1e-6 and len(summary["planned"]) == 2
    text = CliRunner().invoke(main, args).output
    assert f"would embed: 2 file(s), {hours:.3f} h of audio (4 segments)" in text
    assert not (tmp_path / "db").exists()


def test_collection_info_counts_paths_like_a_rerun(h, tmp_path, tiny_thinker):
    original = h.write_tone(tmp_path / "in" / "a.wav", 3.0)
    shutil.copy(original, tmp_path / "in" / "copy-of-a.wav")
    h.write_tone(tmp_path / "in" / "b.wav", 1.0, freq=700)
    first = CliRunner().invoke(main, [*_args(tmp_path, tiny_thinker, tmp_path / "in"), "--json"])
    assert first.exit_code == 0, first.output
    info = CliRunner().invoke(main, ["collection", "info", "sounds", "--qdrant-path", str(tmp_path / "db")])
    assert info.exit_code == 0, info.output
    assert "2 complete files (seen under 3 paths: the same audio counts once)" in info.output
    data = json.loads(
        CliRunner()
        .invoke(main, ["collection", "info", "sounds", "--qdrant-path", str(tmp_path / "db"), "--json"])
        .output
    )
    (row,) = data["embedders"].values()
    rerun = CliRunner().invoke(main, [*_args(tmp_path, tiny_thinker, tmp_path / "in"), "--json"])
    summary = json.loads(rerun.stdout)
    assert (row["files"], row["paths"]) == (2, 3) and summary["files_skipped"] == row["paths"]
    assert rerun.stdout.strip() == json.dumps(summary, indent=2, ensure_ascii=False)


def test_ingest_help_quotes_the_config_defaults_and_help():
    from aurola_qdrant.cli._fields import field_help
    from ingest import IngestConfig

    text = " ".join(CliRunner().invoke(main, ["ingest", "--help"], terminal_width=400).output.split())
    defaults = IngestConfig()
    for field, flag in (("window_s", "--window"), ("batch_size", "--batch-size")):
        assert f"{flag} " in text and field_help(IngestConfig, field) in text
        assert f"[default: {getattr(defaults, field)}]" in text
    assert field_help(IngestConfig, "hop_s") in text


BAD_RAY_OPTIONS = [
    ("--ray-stall-timeout", "0"),
    ("--ray-stall-timeout", "-5"),
    ("--ray-stall-timeout", "nan"),
    ("--ray-writers", "0"),
    ("--ray-embedders", "0"),
    ("--points", "per-file"),  # catalog points are built in-process only
]


@pytest.mark.parametrize(("flag", "value"), BAD_RAY_OPTIONS)
def test_bad_ray_options_are_usage_errors(h, tmp_path, flag, value):
    """Refused before any model loads or Ray starts: exit 2 naming the flag."""
    h.write_tone(tmp_path / "in" / "a.wav", 1.0)
    args = ["ingest", str(tmp_path / "in"), "--collection", "c", "--qdrant-path", str(tmp_path / "db"),
            "--model", str(tmp_path / "no-model"), "--engine", "ray", flag, value]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert flag in result.output and not (tmp_path / "db").exists()
