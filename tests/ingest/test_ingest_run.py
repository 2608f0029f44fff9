"""In-process ingest runs on embedded Qdrant with the tiny model: resume, duplicates, bad files, shards."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

from aurola_qdrant.ids import file_id
from ingest import run_ingest
from ingest.config import IngestConfig
from ingest.sources import in_shard


def _corpus(h, root: Path) -> list[Path]:
    return [
        h.write_tone(root / "a.wav", 1.0, freq=300),
        h.write_tone(root / "sub" / "b.flac", 5.0, freq=500),  # 3 windows of 2 s (tail merged into the last)
        h.write_tone(root / "c.ogg", 1.5, freq=700),
    ]


def test_ingest_then_rerun_adds_nothing_and_embeds_nothing(h, tmp_path, tiny_embedder, open_store):
    good = _corpus(h, tmp_path / "in")
    store = open_store()
    first = run_ingest([tmp_path / "in"], store, tiny_embedder, h.config(metadata={"project": "t"}))
    assert first.ok and first.files_ingested == 3 and first.files_embedded == 3
    points = h.all_points(store.client, "sounds")
    assert {str(p.id) for p in points} == h.expected_ids(good)
    assert store.completed_file_ids() == {file_id(p) for p in good}
    assert all(
        p.payload["project"] == "t" and p.payload[f"complete_{store.embedder_info.vector_name}"]
        for p in points
    )
    again = run_ingest([tmp_path / "in"], store, tiny_embedder, h.config(metadata={"project": "t"}))
    assert (again.files_skipped, again.files_embedded, again.segments_embedded, again.points_written) == (
        3,
        0,
        0,
        0,
    )
    assert len(h.all_points(store.client, "sounds")) == len(points)


def test_same_audio_under_two_paths_is_stored_once_with_every_path(h, tmp_path, tiny_embedder, open_store):
    a = h.write_tone(tmp_path / "in" / "a.wav", 3.0)
    copy = tmp_path / "in" / "copy_of_a.wav"
    shutil.copy(a, copy)
    store = open_store()
    summary = run_ingest([tmp_path / "in"], store, tiny_embedder, h.config())
    assert (summary.files_ingested, summary.files_duplicate, summary.files_embedded) == (1, 1, 1)
    points = h.all_points(store.client, "sounds")
    assert {str(p.id) for p in points} == h.expected_ids([a])  # no duplicate vectors
    assert all(p.payload["source"] == str(a) for p in points)  # the first path seen
    assert all(p.payload["sources"] == [str(a), str(copy)] for p in points)  # every path
    # a third path, seen in a later run of already-complete content, is added without embedding
    third = tmp_path / "elsewhere" / "again.wav"
    third.parent.mkdir()
    shutil.copy(a, third)
    later = run_ingest([third], store, tiny_embedder, h.config())
    assert (later.files_skipped, later.files_embedded) == (1, 0)
    assert all(str(third) in p.payload["sources"] for p in h.all_points(store.client, "sounds"))


def _bad_files(h, root: Path) -> dict[str, set[str]]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "corrupt.wav").write_bytes(b"RIFF" + bytes(range(256)) * 4)
    (root / "zero_length.wav").write_bytes(b"")
    sf.write(root / "no_frames.wav", np.zeros(0, np.float32), 8000)
    h.write_tone(root / "cut.wav", 3.0, freq=900)
    data = (root / "cut.wav").read_bytes()
    (root / "cut.wav").write_bytes(data[: len(data) // 2])
    (root / "notes.mp3").write_text("this is not audio at all\n" * 20)
    nan = np.zeros(6 * 8000, np.float32)
    nan[int(5.5 * 8000) :] = np.nan  # past the first decoded block: earlier windows are embedded first
    sf.write(root / "nan_tail.wav", nan, 8000, subtype="FLOAT")
    sf.write(root / "blip.wav", np.full(40, 0.1, np.float32), 8000)  # 5 ms: too short for the model
    return {
        "corrupt.wav": {"corrupt"},
        "zero_length.wav": {"empty"},
        "no_frames.wav": {"empty"},
        "cut.wav": {"truncated"},
        "notes.mp3": {"corrupt", "unsupported-format"},
        "nan_tail.wav": {"non-finite"},
        "blip.wav": {"too-short"},
    }


def test_bad_files_are_reported_and_good_ones_ingested(h, tmp_path, tiny_embedder, open_store):
    root = tmp_path / "in"
    good = _corpus(h, root)
    silent = root / "silent.wav"
    sf.write(silent, np.zeros(8000, np.float32), 8000)
    flac_named_wav = root / "really_flac.wav"  # a wrong extension on valid audio: decoded by content
    sf.write(flac_named_wav, np.sin(np.arange(8000) / 7).astype(np.float32) * 0.2, 8000, format="FLAC")
    good += [silent, flac_named_wav]
    expected_bad = _bad_files(h, root)
    failures = tmp_path / "failures.jsonl"
    store = open_store()
    summary = run_ingest([root], store, tiny_embedder, h.config(failures_path=failures))
    assert not summary.ok and summary.files_failed == len(expected_bad)
    got = {Path(f["path"]).name: f["reason"] for f in summary.failures}
    assert got.keys() == expected_bad.keys()
    assert all(got[name] in reasons for name, reasons in expected_bad.items()), got
    logged = [json.loads(line) for line in failures.read_text().splitlines()]
    assert {Path(r["path"]).name: r["reason"] for r in logged} == got
    points = h.all_points(store.client, "sounds")
    assert {str(p.id) for p in points} == h.expected_ids(good)  # nothing left of nan_tail's early windows
    assert summary.files_ingested == len(good)
    silent_points = [p for p in points if p.payload["source"] == str(silent)]
    assert [p.payload.get("silent") for p in silent_points] == [True]
    assert not any(p.payload.get("silent") for p in points if p.payload["source"] != str(silent))


def test_three_shards_equal_one_unsharded_run(h, tmp_path, tiny_embedder, open_store):
    root = tmp_path / "in"
    files = [h.write_tone(root / f"f{i}.wav", 0.5 + 0.5 * (i % 4), freq=200 + 60 * i) for i in range(9)]
    # shards follow a hash of the path, and tmp_path changes per run: add files until no shard is empty
    # (9 files leave one of 3 shards empty about 8 % of the time), so the check below is not left to luck
    while not all(any(in_shard(os.path.abspath(f), (i, 3)) for f in files) for i in range(3)):
        n = len(files)
        files.append(h.write_tone(root / f"f{n}.wav", 0.5 + 0.5 * (n % 4), freq=200 + 60 * n))
    whole = open_store(tmp_path / "db_whole")
    run_ingest([root], whole, tiny_embedder, h.config())
    sharded = open_store(tmp_path / "db_sharded")
    seen = [run_ingest([root], sharded, tiny_embedder, h.config(shard=(i, 3))).files_seen for i in range(3)]
    assert sum(seen) == len(files) and all(n > 0 for n in seen)
    ids_whole = {str(p.id) for p in h.all_points(whole.client, "sounds")}
    ids_sharded = {str(p.id) for p in h.all_points(sharded.client, "sounds")}
    assert ids_whole == ids_sharded == h.expected_ids(files)


def test_windowing_is_recorded_and_a_different_one_is_refused(h, tmp_path, tiny_embedder, open_store):
    import pytest

    from aurola_qdrant.errors import CollectionMismatchError

    h.write_tone(tmp_path / "in" / "a.wav", 1.0)
    store = open_store()
    run_ingest([tmp_path / "in"], store, tiny_embedder, h.config())
    assert (store.info()["window_s"], store.info()["hop_s"]) == (2.0, 2.0)
    other = IngestConfig(window_s=3.0, workers=1)
    with pytest.raises(CollectionMismatchError, match="window"):
        run_ingest([tmp_path / "in"], open_store(cfg=other, client=store.client), tiny_embedder, other)
