"""Graduating to a server and back: `copy_collection` and ``collection push/pull/migrate``.

No Qdrant server binary can be had on the development machines: qdrant-client's local mode stands in for
the server (the same client API, through the same door)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from qdrant_client import QdrantClient

from aurola_qdrant.cli import main
from aurola_qdrant.store import AudioStore, EmbedderInfo, complete_field, open_embedded
from aurola_qdrant.store.edge import EdgeEngine
from aurola_qdrant.store.transfer import copy_collection


def _all(client: Any, name: str) -> dict[str, Any]:
    points, offset = [], None
    while True:
        page, offset = client.scroll(name, limit=100, offset=offset, with_payload=True, with_vectors=True)
        points.extend(page)
        if offset is None:
            return {str(p.id): p for p in points}


def _filled(client: Any, info: EmbedderInfo, records: Any, rows: Any) -> AudioStore:
    store = AudioStore(client, "clips", info)
    store.ensure_collection()
    for f in range(5):
        store.upsert_segments(records(f"f{f}", f"/a/{f}.wav", 7, genre=f"g{f}"), rows(7, info.dim, seed=f))
        if f != 4:
            store.mark_file_complete(f"f{f}")
    return store


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for pid, p in a.items():
        assert p.payload == b[pid].payload
        for name, vec in p.vector.items():
            assert np.max(np.abs(np.asarray(vec) - np.asarray(b[pid].vector[name]))) <= 1e-6


def test_push_then_pull_keeps_everything_and_a_rerun_copies_nothing(
    fast_tmp: Path, info_a: EmbedderInfo, records: Any, rows: Any
) -> None:
    edge, server = EdgeEngine(fast_tmp / "edge"), QdrantClient(":memory:")  # local mode: the stand-in server
    back = EdgeEngine(fast_tmp / "back")
    try:
        _filled(edge, info_a, records, rows)
        pushed = copy_collection(edge, server, "clips", batch=8)
        assert (pushed.points, pushed.written, pushed.flags, pushed.created) == (35, 35, 28, True)
        assert copy_collection(edge, server, "clips", batch=8).written == 0  # idempotent
        pulled = copy_collection(server, back, "clips", to_collection="again", batch=8)
        assert (
            pulled.written == 35
            and copy_collection(server, back, "clips", to_collection="again").written == 0
        )
        _same(_all(edge, "clips"), _all(back, "again"))
        _same(_all(edge, "clips"), _all(server, "clips"))
        store = AudioStore(back, "again", info_a)
        store.check_query_compatible()  # the embedder identity travelled with the collection
        assert store.completed_file_ids() == {"f0", "f1", "f2", "f3"}
        assert set(back.get_collection("again").payload_schema) >= {"file_id", complete_field("aurola-3b")}
    finally:
        for c in (edge, server, back):
            c.close()


def test_an_interrupted_copy_resumes_and_never_shows_a_file_complete_early(
    fast_tmp: Path, info_a: EmbedderInfo, records: Any, rows: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    edge, server = EdgeEngine(fast_tmp / "edge"), QdrantClient(":memory:")
    try:
        _filled(edge, info_a, records, rows)
        real, calls = server.upsert, [0]

        def dies_on_the_third_page(**kw: Any) -> Any:
            calls[0] += 1
            if calls[0] == 3:
                raise KeyError("killed")  # not transient: the copy stops here
            return real(**kw)

        monkeypatch.setattr(server, "upsert", dies_on_the_third_page)
        with pytest.raises(KeyError):
            copy_collection(edge, server, "clips", batch=8)
        assert 0 < server.count("clips").count < 35
        assert AudioStore(server, "clips", info_a).completed_file_ids() == set()  # flags come last
        monkeypatch.setattr(server, "upsert", real)
        again = copy_collection(edge, server, "clips", batch=8)
        assert again.written == 35 - 16 and server.count("clips").count == 35
        assert AudioStore(server, "clips", info_a).completed_file_ids() == {"f0", "f1", "f2", "f3"}
    finally:
        edge.close()
        server.close()


def test_migrate_converts_a_local_mode_folder_in_place(
    tmp_path: Path, info_a: EmbedderInfo, records: Any, rows: Any
) -> None:
    folder = tmp_path / "db"
    old = QdrantClient(path=str(folder))
    before = _all(old, "clips") if False else None
    _filled(old, info_a, records, rows)
    before = _all(old, "clips")
    old.close()
    listed = CliRunner().invoke(main, ["collection", "list", "--qdrant-path", str(folder)])
    assert listed.exit_code == 0 and "collection migrate --qdrant-path" in listed.output  # the hint
    result = CliRunner().invoke(main, ["collection", "migrate", "--qdrant-path", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{") :])
    assert data["collections"][0]["points"] == 35 and Path(data["backup"]).is_dir()
    client = open_embedded(folder)
    try:
        assert isinstance(client, EdgeEngine)
        _same(before, _all(client, "clips"))
        assert AudioStore(client, "clips", info_a).completed_file_ids() == {"f0", "f1", "f2", "f3"}
    finally:
        client.close()
    info = CliRunner().invoke(main, ["collection", "info", "clips", "--qdrant-path", str(folder)])
    assert (
        "search: exact, no HNSW index yet (Qdrant Edge; aurola-qdrant collection optimize clips"
        in info.output
    )


def test_push_and_pull_commands(tmp_path: Path, info_a: EmbedderInfo, records: Any, rows: Any) -> None:
    src = EdgeEngine(tmp_path / "edge")
    _filled(src, info_a, records, rows)
    src.close()
    stand_in = tmp_path / "server"
    QdrantClient(path=str(stand_in)).close()  # a local-mode folder stands in for the server
    run = CliRunner().invoke
    pushed = run(
        main,
        [
            "collection",
            "push",
            "clips",
            "--to",
            str(stand_in),
            "--qdrant-path",
            str(tmp_path / "edge"),
            "--json",
        ],
    )
    assert pushed.exit_code == 0, pushed.output
    assert json.loads(pushed.output[pushed.output.index("{") :])["written"] == 35
    pulled = run(main, ["collection", "pull", "clips", "--from", str(stand_in), "--as", "copy",
                        "--qdrant-path", str(tmp_path / "edge")])  # fmt: skip
    assert pulled.exit_code == 0 and "35 points, 35 written, 28 completion flags" in pulled.output
    optimized = run(main, ["collection", "optimize", "copy", "--qdrant-path", str(tmp_path / "edge")])
    assert optimized.exit_code == 0 and "HNSW index over 35 of 35 vectors" in optimized.output
    info = run(main, ["collection", "info", "copy", "--qdrant-path", str(tmp_path / "edge")])
    assert "search: HNSW index (Qdrant Edge) over 35 vectors" in info.output
