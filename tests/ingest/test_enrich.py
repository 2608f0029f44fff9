"""`enrich_collection` on a team's catalog (integer ids, their own vector and payload), on both embedded
engines: qdrant-client's local mode and Qdrant Edge."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from qdrant_client import QdrantClient, models

from aurola_qdrant.audio import plan_windows
from aurola_qdrant.errors import CollectionMismatchError
from aurola_qdrant.store.catalog import CatalogLayout
from aurola_qdrant.testing import FakeEmbedder
from ingest.enrich import enrich_collection

SR = 8000
WINDOW = 10.0
LENGTHS = {1: 5.0, 2: 45.0, 3: 180.0}


@pytest.fixture(params=("local", "edge"))
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from aurola_qdrant.store.edge import EdgeEngine

    c: Any = QdrantClient(":memory:") if request.param == "local" else EdgeEngine(tmp_path / "edge")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        yield c
    c.close()


@pytest.fixture
def catalog(client: Any, tmp_path: Path) -> dict[int, Path]:
    """A team's catalog: points 1-3 with audio of 5 s, 45 s and 3 min, 4 missing, 5 corrupt."""
    rng = np.random.default_rng(0)
    files = {}
    for pid, seconds in LENGTHS.items():
        files[pid] = tmp_path / f"rec{pid}.wav"
        sf.write(files[pid], (0.1 * rng.standard_normal(int(seconds * SR))).astype(np.float32), SR)
    files[4] = tmp_path / "gone.wav"
    files[5] = tmp_path / "broken.wav"
    files[5].write_bytes(b"RIFF\x00\x00not really a wav file" * 10)
    client.create_collection(
        "catalog", vectors_config={"theirs": models.VectorParams(size=4, distance=models.Distance.DOT)}
    )
    client.upsert(
        "catalog",
        points=[
            models.PointStruct(
                id=pid,
                vector={"theirs": [0.25 * pid, -1.5, 3.0e-7, float(pid)]},
                payload={
                    "title": f"Track {pid}",
                    "artist": {"name": "A", "tags": [1, 2]},
                    "audio": str(path),
                },
            )
            for pid, path in files.items()
        ],
    )
    return files


def _points(client: Any) -> dict[int, models.Record]:
    got = client.retrieve("catalog", ids=[1, 2, 3, 4, 5], with_payload=True, with_vectors=True)
    return {r.id: r for r in got}


def _enrich(client: Any, **kw: Any) -> Any:
    return enrich_collection(
        client, "catalog", FakeEmbedder(dim=8), audio_field="audio", window_s=WINDOW, **kw
    )


def test_enrich_adds_dense_and_multivectors_and_leaves_the_team_data(
    client: Any, catalog: dict[int, Path], tmp_path: Path
) -> None:
    before = _points(client)
    failures = tmp_path / "failures.jsonl"
    summary = _enrich(client, failures_path=failures, batch_size=2)
    after = _points(client)
    layout = CatalogLayout(FakeEmbedder(dim=8).embedder_info(WINDOW, WINDOW))
    assert sorted(after) == [1, 2, 3, 4, 5]
    for pid in after:
        payload = dict(after[pid].payload or {})
        marker = payload.pop(layout.marker_key, None)
        assert payload == before[pid].payload  # the team's payload, key for key
        assert after[pid].vector["theirs"] == before[pid].vector["theirs"]  # type: ignore[index]
        if pid in LENGTHS:
            assert marker is not None and marker["source"] == str(catalog[pid])
    assert set(after[1].vector) == {"theirs", "fake"}  # type: ignore[arg-type]
    assert np.shape(after[1].vector["fake"]) == (8,)  # type: ignore[index]
    for pid, n in ((2, 5), (3, 18)):
        assert n == len(plan_windows(LENGTHS[pid], WINDOW))
        assert set(after[pid].vector) == {"theirs", "fake-windows"}  # type: ignore[arg-type]
        assert np.shape(after[pid].vector["fake-windows"]) == (n, 8)  # type: ignore[index]
        marker = (after[pid].payload or {})[layout.marker_key]
        assert len(marker["windows"]) == n and marker["windows"][-1][1] == LENGTHS[pid]
    for pid in (4, 5):  # reported, left exactly as they were
        assert after[pid].payload == before[pid].payload and after[pid].vector == before[pid].vector
    assert (summary.points_enriched, summary.points_dense, summary.points_multivector) == (3, 1, 2)
    assert summary.windows_embedded == 1 + 5 + 18 and summary.points_failed == 2
    lines = [json.loads(line) for line in failures.read_text().splitlines()]
    assert sorted(row["reason"] for row in lines) in (["corrupt", "missing"], ["missing", "unreadable"])
    assert {row["path"] for row in lines} == {str(catalog[4]), str(catalog[5])}


def test_rerun_writes_nothing_and_a_changed_source_is_redone(client: Any, catalog: dict[int, Path]) -> None:
    _enrich(client)
    first = _points(client)
    again = _enrich(client)
    assert (again.points_skipped, again.points_enriched, again.windows_embedded) == (3, 0, 0)
    assert _points(client) == first
    # the team points recording 3 at the 5 s file: redone, and its multivector replaced by a dense vector
    client.set_payload("catalog", payload={"audio": str(catalog[1])}, points=[3])
    third = _enrich(client)
    assert (third.points_enriched, third.points_dense) == (1, 1)
    assert set(_points(client)[3].vector) == {"theirs", "fake"}  # type: ignore[arg-type]


def test_filter_limits_the_points(client: Any, catalog: dict[int, Path]) -> None:
    only = models.Filter(must=[models.HasIdCondition(has_id=[1, 2])])
    summary = _enrich(client, scroll_filter=only)
    assert (summary.points_seen, summary.points_enriched) == (2, 2)
    assert set(_points(client)[3].vector) == {"theirs"}  # type: ignore[arg-type]


def test_another_embedder_on_the_same_vector_name_is_refused(client: Any, catalog: dict[int, Path]) -> None:
    _enrich(client, scroll_filter=models.Filter(must=[models.HasIdCondition(has_id=[1])]))
    other = FakeEmbedder(dim=8, model_id="someone-else")
    with pytest.raises(CollectionMismatchError, match="someone-else"):
        enrich_collection(client, "catalog", other, audio_field="audio", window_s=WINDOW)


def test_a_missing_collection_is_refused(client: Any) -> None:
    with pytest.raises(CollectionMismatchError, match="does not exist"):
        enrich_collection(client, "nope", FakeEmbedder(dim=8), audio_field="audio")


def test_uuid_ids_are_kept(client: Any, catalog: dict[int, Path]) -> None:
    pid = "0b6c6f3e-3c1e-4e59-9d3e-2f1c5d7a9b10"
    client.upsert(
        "catalog",
        points=[
            models.PointStruct(
                id=pid, vector={"theirs": [1.0, 2.0, 3.0, 4.0]}, payload={"audio": str(catalog[2])}
            )
        ],
    )
    summary = _enrich(client, scroll_filter=models.Filter(must=[models.HasIdCondition(has_id=[pid])]))
    assert (summary.points_enriched, summary.points_multivector) == (1, 1)
    (got,) = client.retrieve("catalog", ids=[pid], with_vectors=True)
    assert str(got.id) == pid and got.vector["theirs"] == [1.0, 2.0, 3.0, 4.0]  # type: ignore[index]
    assert np.shape(got.vector["fake-windows"]) == (5, 8)  # type: ignore[index]
