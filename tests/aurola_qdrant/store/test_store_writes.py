from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from aurola_qdrant.store import AudioStore, EmbedderInfo, SegmentRecord, StoreConfig
from aurola_qdrant.store.writes import _batches


def _by_source(path: str) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key="sources", match=models.MatchValue(value=path))])


@pytest.fixture
def store(client: QdrantClient, info_a: EmbedderInfo) -> AudioStore:
    s = AudioStore(client, "clips", info_a)
    s.ensure_collection()
    return s


def test_reupserting_the_same_records_adds_nothing(store: AudioStore, records: Any, rows: Any) -> None:
    recs = records("f1", "/a.wav", 4, genre="rain")
    assert store.upsert_segments(recs, rows(4, 8)) == 4
    assert store.upsert_segments(recs, rows(4, 8, seed=3)) == 4
    assert store.count() == 4 and store.count(file_id="f1") == 4 and store.count(file_id="nope") == 0
    point = store.retrieve([recs[2].point_id])[0]
    assert point.payload is not None
    assert point.payload["genre"] == "rain" and point.payload["segment_index"] == 2
    assert (
        point.payload["start_s"] == 20.0
        and point.payload["end_s"] == 30.0
        and point.payload["duration_s"] == 40.0
    )


def test_same_content_under_two_paths_shares_points(store: AudioStore, records: Any, rows: Any) -> None:
    vecs = rows(3, 8)
    store.upsert_segments(records("f1", "/disk1/a.wav", 3), vecs)
    store.upsert_segments(records("f1", "/disk2/copy-of-a.wav", 3), vecs)
    assert store.count() == 3
    for path in ("/disk1/a.wav", "/disk2/copy-of-a.wav"):
        hits = store.query(vecs[0], limit=10, query_filter=_by_source(path))
        assert len(hits) == 3
        assert all(
            h.payload and h.payload["sources"] == ["/disk1/a.wav", "/disk2/copy-of-a.wav"] for h in hits
        )
        assert all(h.payload and h.payload["source"] == "/disk1/a.wav" for h in hits)  # first path kept


def test_add_source_appends_once(store: AudioStore, records: Any, rows: Any) -> None:
    store.upsert_segments(records("f1", "/a.wav", 3), rows(3, 8))
    store.upsert_segments(records("f2", "/b.wav", 2), rows(2, 8))
    assert store.add_source("f1", "/mirror/a.wav") == 3
    assert store.add_source("f1", "/mirror/a.wav") == 0
    hits = store.query(rows(1, 8)[0], limit=10, query_filter=_by_source("/mirror/a.wav"))
    assert sorted(h.payload["segment_index"] for h in hits if h.payload) == [0, 1, 2]
    with pytest.raises(ValueError, match="source"):
        store.add_source("f1", "")


def test_new_segments_of_a_known_file_inherit_its_sources(store: AudioStore, records: Any, rows: Any) -> None:
    first, second = records("f1", "/a.wav", 2)[:1], records("f1", "/b.wav", 2)
    store.upsert_segments(first, rows(1, 8))
    store.upsert_segments(second, rows(2, 8))  # segment 0 exists (from /a.wav), segment 1 is new
    payloads = {p.payload["segment_index"]: p.payload for p in store.retrieve([r.point_id for r in second])}
    assert payloads[0]["sources"] == ["/a.wav", "/b.wav"] and payloads[1]["sources"] == ["/a.wav", "/b.wav"]


def test_completion_flags_per_embedder(
    client: QdrantClient, store: AudioStore, info_b: EmbedderInfo, records: Any, rows: Any
) -> None:
    store.upsert_segments(records("f1", "/a.wav", 3), rows(3, 8))
    store.upsert_segments(records("f2", "/b.wav", 2)[:1], rows(1, 8))  # f2 crashed after 1 of 2 segments
    assert store.completed_file_ids() == set()
    store.mark_file_complete("f1")
    assert store.completed_file_ids() == {"f1"}
    assert store.completed_file_ids(["f1", "f2", "f3"]) == {"f1"}
    assert store.completed_file_ids([]) == set()
    flags = {
        p.payload.get("complete_aurola-3b")
        for p in store.retrieve([r.point_id for r in records("f1", "/a.wav", 3)])
    }
    assert flags == {True}  # every point of the file carries the flag (usable as a search filter)
    other = AudioStore(client, "clips", info_b)
    other.ensure_collection()
    assert other.completed_file_ids() == set()  # completion is per embedder
    assert store.info()["files"] == 1


class CountingClient(QdrantClient):
    scrolls = 0

    def scroll(self, *args: Any, **kwargs: Any) -> Any:
        self.scrolls += 1
        return super().scroll(*args, **kwargs)


def test_completed_file_ids_batches_candidates(info_a: EmbedderInfo, records: Any, rows: Any) -> None:
    client = CountingClient(":memory:")
    store = AudioStore(client, "clips", info_a)
    store.ensure_collection()
    for i in range(5):
        store.upsert_segments(records(f"f{i}", f"/{i}.wav", 2), rows(2, 8, seed=i))
        if i % 2 == 0:
            store.mark_file_complete(f"f{i}")
    candidates = [f"f{i}" for i in range(2500)]  # an archive-sized candidate list
    client.scrolls = 0
    assert store.completed_file_ids(candidates) == {"f0", "f2", "f4"}
    assert client.scrolls == 3  # 1000 candidates per request, not one request per file
    client.scrolls = 0
    assert store.completed_file_ids() == {"f0", "f2", "f4"} and client.scrolls == 1
    client.close()


def test_delete_partial_file_keeps_other_embedders(
    client: QdrantClient, store: AudioStore, info_b: EmbedderInfo, records: Any, rows: Any
) -> None:
    other = AudioStore(client, "clips", info_b)
    other.ensure_collection()
    shared = records("f1", "/a.wav", 2)
    other.upsert_segments(shared, rows(2, 4))
    store.upsert_segments(shared + records("f1", "/a.wav", 3)[2:], rows(3, 8))  # 3 of our windows, 2 shared
    store.mark_file_complete("f1")
    store.delete_file("f1")
    assert store.count() == 0 and store.completed_file_ids() == set()
    assert other.count() == 2 and client.count("clips").count == 2  # their points and vectors survive
    other.delete_file("f1", all_embedders=True)
    assert client.count("clips").count == 0


def test_batches_respect_size_and_byte_budget(info_a: EmbedderInfo, records: Any, rows: Any) -> None:
    recs = records("f1", "/a.wav", 5)
    assert [len(b) for b in _batches(recs, info_a, StoreConfig(upsert_batch_size=2))] == [2, 2, 1]
    assert [len(b) for b in _batches(recs, info_a, StoreConfig())] == [5]
    big = [SegmentRecord(**{**r.__dict__, "metadata": {"notes": "x" * 3_000_000}}) for r in recs]
    sizes = [len(b) for b in _batches(big, info_a, StoreConfig())]
    assert sum(sizes) == 5 and max(sizes) <= 2  # 3 MB payloads: at most 2 per 8 MiB request


def test_written_batches_match_the_plan(
    client: QdrantClient, info_a: EmbedderInfo, records: Any, rows: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AudioStore(client, "clips", info_a, StoreConfig(upsert_batch_size=2))
    store.ensure_collection()
    sizes: list[int] = []
    real = client.batch_update_points
    monkeypatch.setattr(
        client, "batch_update_points", lambda **kw: sizes.append(len(kw["update_operations"])) or real(**kw)
    )
    assert store.upsert_segments(records("f1", "/a.wav", 5), rows(5, 8)) == 5
    assert len(sizes) == 3 and store.count() == 5


@pytest.mark.parametrize("bad", ["shape", "nan"])
def test_bad_vectors_are_refused_before_writing(store: AudioStore, records: Any, rows: Any, bad: str) -> None:
    vecs = rows(3, 8) if bad == "nan" else rows(3, 7)
    if bad == "nan":
        vecs[1, 0] = np.nan
    with pytest.raises(ValueError, match="shape" if bad == "shape" else "finite"):
        store.upsert_segments(records("f1", "/a.wav", 3), vecs)
    assert store.count() == 0


def test_query_and_groups(store: AudioStore, records: Any, rows: Any) -> None:
    vecs = rows(6, 8, seed=5)
    store.upsert_segments(records("f1", "/a.wav", 3) + records("f2", "/b.wav", 3), vecs)
    hits = store.query(vecs[4], limit=3)
    assert hits[0].id == records("f2", "/b.wav", 3)[1].point_id and hits[0].score == pytest.approx(
        1.0, abs=1e-5
    )
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert store.query(vecs[4], limit=3, score_threshold=1.5) == []
    groups = store.query_groups(vecs[4], limit=2, group_size=2)
    assert [g.id for g in groups] == ["f2", "f1"] and all(len(g.hits) == 2 for g in groups)
    with pytest.raises(ValueError, match="shape"):
        store.query(np.ones(3))
    info = store.info()
    assert info["points"] == 6 and info["vectors"] == 6 and info["files"] == 0 and info["dim"] == 8
    assert info["embedders"]["aurola-3b"]["model_id"] == "aurola/AuroLA-3B" and info["window_s"] == 10.0
