"""kill -9 at deterministic points (the AUROLA_INGEST_TEST_KILL_AFTER seam), then a rerun: exactly the
expected points, no duplicates, every file complete, nothing half-ingested."""

from __future__ import annotations

import signal

import pytest

from aurola_qdrant.ids import file_id
from aurola_qdrant.store import complete_field, open_embedded
from ingest import run_ingest


@pytest.mark.parametrize(
    ("event", "check"),
    [
        ("uploaded:1", "partial"),  # mid-upload of a multi-segment file: some segments, no flag
        ("complete:1", "one-complete"),  # right after the first completion flag
        ("decoded:2", "nothing-complete"),  # during decoding, before anything was embedded
    ],
)
def test_sigkill_then_rerun_ingests_exactly_what_is_missing(
    h, tmp_path, tiny_thinker, tiny_embedder, open_store, event, check
):
    root = tmp_path / "in"
    files = [
        h.write_tone(root / "long.wav", 7.0, freq=250),  # 3 windows of 2 s + a 1 s tail window
        h.write_tone(root / "b.wav", 1.0, freq=450),
        h.write_tone(root / "c.wav", 1.5, freq=650),
    ]
    db = tmp_path / "db"
    args = [
        "ingest",
        str(root),
        "--collection",
        "sounds",
        "--qdrant-path",
        str(db),
        "--model",
        str(tiny_thinker),
    ]
    args += ["--window", "2", "--batch-size", "1", "--workers", "1", "--json", "--no-progress"]
    proc = h.run_cli(args, env={"AUROLA_INGEST_TEST_KILL_AFTER": event})
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]

    client = open_embedded(db)
    try:
        points = h.all_points(client, "sounds")
        flag = complete_field(tiny_embedder.vector_name)
        complete = {p.payload["file_id"] for p in points if p.payload.get(flag)}
        if check == "partial":
            assert len(points) == 1 and not complete
        elif check == "one-complete":
            assert len(complete) == 1
            (done,) = complete
            assert {p.payload["file_id"] for p in points} >= complete
            assert all(p.payload.get(flag) for p in points if p.payload["file_id"] == done)
        else:
            assert not complete
        store = open_store(client=client)
        rerun = run_ingest([root], store, tiny_embedder, h.config(batch_size=1))
        assert rerun.ok and rerun.files_skipped == len(complete)
        assert rerun.files_embedded == len(files) - len(complete)  # complete files were not embedded again
        after = h.all_points(client, "sounds")
        assert [str(p.id) for p in after].count(str(after[0].id)) == 1
        assert {str(p.id) for p in after} == h.expected_ids(files) and len(after) == len(
            h.expected_ids(files)
        )
        assert store.completed_file_ids() == {file_id(f) for f in files}
        assert all(p.payload.get(flag) for p in after)  # no half-ingested file
    finally:
        client.close()
