"""The ingest worker, search and text collections on the Qdrant Edge store, side by side with
qdrant-client's local mode (same answers), and durable completion across kill -9 and a lost WAL."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

from aurola_qdrant.ids import file_id
from aurola_qdrant.search import AudioSearch, TextSearch, ingest_texts
from aurola_qdrant.store import AudioStore, complete_field, open_embedded
from aurola_qdrant.store.edge import EdgeEngine
from ingest import embedder_info, run_ingest

LABELS = ["a dog barks", "rain on a roof", "an engine idles", "wind in a field", "a drill whines"]


def _tones(h: Any, root: Path) -> list[Path]:
    return [
        h.write_tone(root / "long.wav", 7.0, freq=250),  # 4 windows of 2 s (the last one 1 s)
        h.write_tone(root / "b.wav", 1.0, freq=450),
        h.write_tone(root / "c.wav", 1.5, freq=650),
    ]


def test_ingest_resume_search_and_texts_agree_on_edge_and_local_mode(h, tmp_path, tiny_embedder) -> None:
    root = tmp_path / "in"
    files = _tones(h, root)
    answers = []
    for client in (QdrantClient(":memory:"), EdgeEngine(tmp_path / "edge")):
        try:
            store = AudioStore(client, "sounds", embedder_info(tiny_embedder, h.config()))
            first = run_ingest([root], store, tiny_embedder, h.config())
            again = run_ingest([root], store, tiny_embedder, h.config())  # resume: nothing left to do
            assert first.ok and again.files_skipped == len(files) and again.files_embedded == 0
            search = AudioSearch(client, "sounds", tiny_embedder)
            ingest_texts(client, "labels", tiny_embedder, LABELS)
            only_long = models.Filter(
                must=[models.FieldCondition(key="file_id", match=models.MatchValue(value=file_id(files[0])))]
            )
            answers.append(
                {
                    "text": [(x.id, round(x.score, 4)) for x in search.search("a low hum", limit=5)],
                    "files": [
                        x.payload["file_id"] for x in search.search("hum", limit=3, group_by_file=True)
                    ],
                    "audio": [
                        x.id for x in search.search_by_audio(str(files[1]), limit=4, exclude_self=True)
                    ],
                    "filtered": [x.id for x in search.search("hum", limit=9, query_filter=only_long)],
                    "labels": [
                        x.payload["text"]
                        for x in TextSearch(client, "labels", tiny_embedder).describe(str(files[2]), limit=3)
                    ],
                    "complete": store.completed_file_ids(),
                }
            )
        finally:
            client.close()
    local, edge = answers
    assert edge == local
    assert len(edge["files"]) == 3 and len(edge["filtered"]) == 4 and file_id(files[1]) not in edge["audio"]


def _ingest_args(root: Path, db: Path, model: Path) -> list[str]:
    args = ["ingest", str(root), "--collection", "sounds", "--qdrant-path", str(db), "--model", str(model)]
    return [*args, "--window", "2", "--batch-size", "1", "--workers", "1", "--json", "--no-progress"]


def test_kill_between_the_last_upsert_and_the_flag_leaves_the_file_incomplete_then_resumes(
    h, tmp_path, tiny_thinker, tiny_embedder
) -> None:
    root, db = tmp_path / "in", tmp_path / "db"
    files = _tones(h, root)
    proc = h.run_cli(
        _ingest_args(root, db, tiny_thinker), env={"AUROLA_INGEST_TEST_KILL_AFTER": "uploaded:4"}
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    client = open_embedded(db)
    try:
        assert isinstance(client, EdgeEngine)
        store = AudioStore(client, "sounds", embedder_info(tiny_embedder, h.config()))
        assert store.count(file_id(files[0])) == 4 and store.completed_file_ids() == set()  # points, no flag
        assert run_ingest([root], store, tiny_embedder, h.config(batch_size=1)).ok
        assert store.completed_file_ids() == {file_id(f) for f in files}
        assert {str(p.id) for p in h.all_points(client, "sounds")} == h.expected_ids(files)
    finally:
        client.close()


def test_a_file_marked_complete_has_its_points_in_the_segments_without_the_wal(
    h, tmp_path, tiny_thinker, tiny_embedder
) -> None:
    root, db = tmp_path / "in", tmp_path / "db"
    files = _tones(h, root)
    proc = h.run_cli(
        _ingest_args(root, db, tiny_thinker), env={"AUROLA_INGEST_TEST_KILL_AFTER": "complete:1"}
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    # a power loss can take what Edge's WAL holds without fsync: open a copy without any WAL
    lost = tmp_path / "after-power-loss"
    shutil.copytree(db, lost, ignore=shutil.ignore_patterns("wal", ".lock"))
    client = open_embedded(lost)
    try:
        store = AudioStore(client, "sounds", embedder_info(tiny_embedder, h.config()))
        flag = complete_field(tiny_embedder.vector_name)
        for fid in store.completed_file_ids():
            (path,) = [f for f in files if file_id(f) == fid]
            expected = {i for i in h.expected_ids([path])}
            assert {
                str(p.id) for p in h.all_points(client, "sounds") if p.payload["file_id"] == fid
            } == expected
        assert all(p.payload.get(flag) in (None, True) for p in h.all_points(client, "sounds"))
        # (no rerun here: an Edge shard whose WAL is deleted outright restarts its operation numbers
        # below the segments' versions, which is not a state a power loss leaves; see BENCHMARKS.md)
    finally:
        client.close()
