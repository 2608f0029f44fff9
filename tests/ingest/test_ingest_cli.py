"""`aurola-qdrant ingest` and `aurola-qdrant collection info` through click, in-process."""

from __future__ import annotations

import json

from click.testing import CliRunner

from aurola_qdrant.cli import main
from aurola_qdrant.store import open_embedded


def _args(h, tmp_path, tiny_thinker, *extra):
    return ["ingest", str(tmp_path / "in"), "--collection", "sounds", "--qdrant-path", str(tmp_path / "db"),
            "--model", str(tiny_thinker), "--window", "2", "--workers", "1", "--batch-size", "2",
            "--no-progress", *extra]  # fmt: skip


def test_dry_run_lists_the_plan_and_writes_nothing(h, tmp_path, tiny_thinker):
    h.write_tone(tmp_path / "in" / "a.wav", 5.0)
    h.write_tone(tmp_path / "in" / "b.wav", 1.0, freq=600)
    result = CliRunner().invoke(main, _args(h, tmp_path, tiny_thinker, "--dry-run", "--json"))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["dry_run"] and summary["segments_planned"] == 4 and summary["segments_embedded"] == 0
    assert sorted(r["segments"] for r in summary["planned"]) == [1, 3]
    client = open_embedded(tmp_path / "db")
    try:
        assert not client.collection_exists("sounds")
    finally:
        client.close()


def test_failures_give_exit_status_1_and_collection_info_reports(h, tmp_path, tiny_thinker, monkeypatch):
    monkeypatch.chdir(tmp_path)
    h.write_tone(tmp_path / "in" / "a.wav", 5.0)
    (tmp_path / "in" / "bad.wav").write_bytes(b"not audio" * 50)
    args = _args(h, tmp_path, tiny_thinker, "--metadata", "archive=x", "--metadata", "year:=1999", "--json")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["files_ingested"] == 1 and summary["files_failed"] == 1
    failures = [
        json.loads(line) for line in (tmp_path / "ingest-failures-sounds-0of1.jsonl").read_text().splitlines()
    ]
    assert [(f["path"].endswith("bad.wav"), f["reason"]) for f in failures] == [(True, "corrupt")]
    info = CliRunner().invoke(
        main, ["collection", "info", "sounds", "--qdrant-path", str(tmp_path / "db"), "--json"]
    )
    assert info.exit_code == 0, info.output
    data = json.loads(info.stdout)
    (row,) = data["embedders"].values()
    assert data["points"] == 3 and row["files"] == 1 and row["vectors"] == 3
    assert (row["window_s"], row["hop_s"], row["dim"]) == (2.0, 2.0, 64)
    client = open_embedded(tmp_path / "db")
    try:
        points, _ = client.scroll("sounds", limit=10)
        assert all(p.payload["archive"] == "x" and p.payload["year"] == 1999 for p in points)
    finally:
        client.close()


def test_unreachable_server_stops_with_status_3_and_never_shows_the_api_key(h, tmp_path, tiny_thinker):
    h.write_tone(tmp_path / "in" / "a.wav", 1.0)
    secret = "sk-do-not-print-7f3a"
    args = _args(h, tmp_path, tiny_thinker, "--qdrant-url", "http://127.0.0.1:9", "--retry-budget", "0.5")
    result = CliRunner().invoke(main, [*args, "--json"], env={"QDRANT_API_KEY": secret})
    assert result.exit_code == 3, result.output
    assert "Qdrant at http://127.0.0.1:9 did not answer" in result.output
    assert secret not in result.output and secret not in (result.stderr or "")
