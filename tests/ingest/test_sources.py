from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from aurola_qdrant.errors import InputError
from ingest.config import AUDIO_EXTENSIONS, IngestConfig, parse_shard
from ingest.sources import SourceFile, in_shard, iter_source_files


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def _paths(items) -> list[str]:
    return [i.path for i in items]


def test_directory_is_walked_recursively_with_extension_filter(tmp_path):
    a = _touch(tmp_path / "a.wav")
    b = _touch(tmp_path / "sub" / "deep" / "b.FLAC")
    _touch(tmp_path / "notes.txt")
    _touch(tmp_path / "sub" / "c.m4a")
    assert _paths(iter_source_files([tmp_path], AUDIO_EXTENSIONS)) == [str(a), str(b)]
    assert _paths(iter_source_files([tmp_path], (".txt",))) == [str(tmp_path / "notes.txt")]


def test_glob_and_single_file_and_dedupe(tmp_path):
    a = _touch(tmp_path / "x" / "a.wav")
    b = _touch(tmp_path / "x" / "y" / "b.wav")
    got = _paths(iter_source_files([str(tmp_path / "x" / "**" / "*.wav"), a], AUDIO_EXTENSIONS))
    assert got == [str(a), str(b)]  # listed twice, ingested once


def test_jsonl_manifest_relative_paths_and_metadata(tmp_path):
    _touch(tmp_path / "clips" / "a.wav")
    manifest = tmp_path / "m.jsonl"
    rows = [{"path": "clips/a.wav", "label": "dog", "year": 1999, "empty": None}, {"path": "/abs/b.wav"}]
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    got = list(iter_source_files([manifest], AUDIO_EXTENSIONS))
    assert got[0] == SourceFile(str(tmp_path / "clips" / "a.wav"), {"label": "dog", "year": 1999})
    assert got[1].path == "/abs/b.wav" and got[1].metadata == {}


def test_csv_manifest(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,note\na.wav,cat,\n")
    (item,) = iter_source_files([manifest], AUDIO_EXTENSIONS)
    assert item == SourceFile(str(tmp_path / "a.wav"), {"label": "cat"})


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"label": "x"}\n', "no 'path'"),
        ('{"path": "a.wav", "source": "x"}\n', "reserved"),
        ('{"path": "a.wav", "silent": true}\n', "reserved"),
        ("not json\n", "m.jsonl:1"),
    ],
)
def test_bad_manifest_rows_are_refused_with_the_line(tmp_path, text, match):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(text)
    with pytest.raises(InputError, match=match):
        list(iter_source_files([manifest], AUDIO_EXTENSIONS))


def test_stdin_path_list(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stdin = io.StringIO("a.wav\n\n# comment\n/x/b.wav\n")
    got = _paths(iter_source_files(["-"], AUDIO_EXTENSIONS, stdin=stdin))
    assert got == [os.path.join(str(tmp_path), "a.wav"), "/x/b.wav"]


def test_unknown_source_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not a file, a directory"):
        list(iter_source_files([tmp_path / "nope"], AUDIO_EXTENSIONS))


def test_shards_partition_the_input_exactly_once():
    paths = [f"/data/{i:04d}.wav" for i in range(300)]
    owners = [[i for i in range(3) if in_shard(p, (i, 3))] for p in paths]
    assert all(len(o) == 1 for o in owners)
    assert {o[0] for o in owners} == {0, 1, 2}  # every shard gets work


def test_parse_shard_and_config_validation():
    assert parse_shard("2/5") == (2, 5)
    for bad in ("5/5", "1", "a/b", "-1/3"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)
    with pytest.raises(ValueError, match="hop_s"):
        IngestConfig(window_s=10, hop_s=20)
    with pytest.raises(ValueError, match="reserved"):
        IngestConfig(metadata={"file_id": "x"})
    with pytest.raises(ValueError, match="JSON"):
        IngestConfig(metadata={"x": float("nan")})
    assert IngestConfig().window_s == 30.0 and IngestConfig().hop == 30.0


def test_cli_metadata_and_scrub():
    from aurola_qdrant.cli._qdrant import scrub
    from ingest.cli import _metadata

    assert _metadata(("a=b", "year:=1999", "ok:=true", "eq=x=y")) == {
        "a": "b",
        "year": 1999,
        "ok": True,
        "eq": "x=y",
    }
    assert "s3cr3t" not in scrub("failed with api-key: s3cr3t and s3cr3t", "s3cr3t")


def test_decode_worker_module_imports_neither_torch_nor_qdrant_client():
    import subprocess
    import sys

    code = (
        "import sys, ingest.decode; sys.exit(int(any(m in sys.modules for m in ('torch', 'qdrant_client'))))"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
