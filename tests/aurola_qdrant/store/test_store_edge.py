"""The Qdrant Edge engine behind the store's door: what differs from qdrant-client and how it is bridged
(flag encoding, string ids, grouping, filters, metadata beside the shard, the lock, durable completion)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from aurola_qdrant.errors import StoreLockedError
from aurola_qdrant.store import AudioStore, EmbedderInfo, StoreConfig, complete_field, open_embedded
from aurola_qdrant.store.edge import EdgeEngine


@pytest.fixture
def edge(fast_tmp: Path) -> Any:
    engine = EdgeEngine(fast_tmp / "store")
    yield engine
    engine.close()


def _fill(client: Any, info: EmbedderInfo, records: Any, rows: Any, files: int = 6, n: int = 5) -> AudioStore:
    store = AudioStore(client, "clips", info)
    store.ensure_collection()
    for f in range(files):
        recs = records(f"f{f}", f"/a/{f}.wav", n, genre="rock" if f % 2 else "jazz", year=2000 + f)
        store.upsert_segments(recs, rows(n, info.dim, seed=f))
    return store


def test_the_completion_flag_filters_on_edge_and_is_stored_as_an_integer(
    edge: EdgeEngine, info_a: EmbedderInfo, records: Any, rows: Any
) -> None:
    store = _fill(edge, info_a, records, rows, files=3, n=2)
    store.mark_file_complete("f1")
    assert store.completed_file_ids() == {"f1"}  # MatchValue(True) reaches Edge as the integer it stores
    flag = complete_field(info_a.vector_name)
    raw = edge._get("clips").shard.retrieve([records("f1", "/a/1.wav", 2)[0].point_id], True, False)
    assert raw[0].payload[flag] == 1 and raw[0].payload[flag] is not True
    (point,) = store.retrieve([records("f1", "/a/1.wav", 2)[0].point_id])
    assert point.payload[flag] is True and isinstance(point.id, str)  # a bool and a str id for callers


def test_a_boolean_filter_on_an_undeclared_field_is_refused_with_the_fix(
    edge: EdgeEngine, info_a: EmbedderInfo, records: Any, rows: Any
) -> None:
    store = _fill(edge, info_a, records, rows, files=1, n=1)
    bad = models.Filter(must=[models.FieldCondition(key="live", match=models.MatchValue(value=True))])
    with pytest.raises(ValueError, match=r"payload_indexes=\{'live': 'bool'\}"):
        store.query(rows(1, info_a.dim)[0], query_filter=bad)


def test_a_bool_index_declared_later_converts_the_stored_values(
    edge: EdgeEngine, info_a: EmbedderInfo, records: Any, rows: Any
) -> None:
    store = AudioStore(edge, "clips", info_a)
    store.ensure_collection()
    store.upsert_segments(records("f0", "/a/0.wav", 2, live=True) + records("f1", "/a/1.wav", 1, live=False),
                          rows(3, info_a.dim))  # fmt: skip
    AudioStore(edge, "clips", info_a, StoreConfig(payload_indexes={"live": "bool"})).ensure_collection()
    live = models.Filter(must=[models.FieldCondition(key="live", match=models.MatchValue(value=True))])
    assert edge.count("clips", count_filter=live).count == 2


def _congruent(engine_kind: str, fast_tmp: Path) -> Any:
    return QdrantClient(":memory:") if engine_kind == "local" else EdgeEngine(fast_tmp / engine_kind)


FILTERS = [
    models.Filter(must=[models.FieldCondition(key="genre", match=models.MatchAny(any=["rock"]))]),
    models.Filter(must=[models.FieldCondition(key="year", range=models.Range(gte=2002, lt=2005))]),
    models.Filter(must_not=[models.FieldCondition(key="file_id", match=models.MatchValue(value="f3"))]),
    models.Filter(
        must=[
            models.Filter(
                should=[
                    models.FieldCondition(key="genre", match=models.MatchValue(value="jazz")),
                    models.FieldCondition(key="segment_index", match=models.MatchValue(value=0)),
                ]
            )
        ]
    ),
    models.Filter(must=[models.IsEmptyCondition(is_empty=models.PayloadField(key="nothing"))]),
    models.Filter(must=[models.FieldCondition(key="sources", match=models.MatchValue(value="/a/2.wav"))]),
]


def test_queries_groups_and_filters_agree_with_local_mode(
    fast_tmp: Path, info_a: EmbedderInfo, records: Any, rows: Any
) -> None:
    local, edge = _congruent("local", fast_tmp), _congruent("edge", fast_tmp)
    try:
        stores = [_fill(c, info_a, records, rows) for c in (local, edge)]
        q = rows(1, info_a.dim, seed=99)[0]
        for f in [None, *FILTERS]:
            counts = [c.count("clips", count_filter=f).count for c in (local, edge)]
            assert counts[0] == counts[1] > 0
            hits = [[(h.id, round(h.score, 5)) for h in s.query(q, limit=7, query_filter=f)] for s in stores]
            assert hits[0] == hits[1]
        for limit, size in ((3, 1), (4, 2), (10, 3)):  # 10 groups asked, 6 files: every file, 3 hits each
            got = [[(g.id, [h.id for h in g.hits]) for g in s.query_groups(q, limit=limit, group_size=size)]
                   for s in stores]  # fmt: skip
            assert got[0] == got[1] and len(got[1]) == min(limit, 6)
    finally:
        local.close()
        edge.close()


def test_identity_and_payload_indexes_survive_reopening(fast_tmp: Path, info_a: EmbedderInfo) -> None:
    engine = EdgeEngine(fast_tmp / "s")
    AudioStore(engine, "clips", info_a).ensure_collection()
    engine.close()
    reopened = EdgeEngine(fast_tmp / "s")
    try:
        described = reopened.get_collection("clips")
        assert AudioStore(reopened, "clips", info_a).recorded_embedders() == {"aurola-3b": info_a}
        assert (
            described.payload_schema[complete_field("aurola-3b")].data_type == models.PayloadSchemaType.BOOL
        )
        assert (fast_tmp / "s" / "collections" / "clips" / "collection.json").is_file()
    finally:
        reopened.close()


def test_a_second_open_of_the_same_store_is_refused(edge: EdgeEngine) -> None:
    with pytest.raises(StoreLockedError, match="in use by another process"):
        EdgeEngine(edge.location)


class _Spy(EdgeEngine):
    """Notes flushes and completion-flag writes, in order."""

    events: list[str]

    def flush(self, collection_name: str, **kw: Any) -> bool:
        flushed = super().flush(collection_name, **kw)
        self.events.append("flush" if flushed else "flush-noop")
        return flushed

    def set_payload(self, collection_name: str, payload: dict[str, Any], points: Any, **kw: Any) -> Any:
        self.events.append("flag" if all(k.startswith("complete_") for k in payload) else "payload")
        return super().set_payload(collection_name, payload, points, **kw)


def test_points_are_flushed_before_their_completion_flag_once_per_batch(
    fast_tmp: Path, info_a: EmbedderInfo, records: Any, rows: Any
) -> None:
    spy = _Spy(fast_tmp / "spy")
    spy.events = []
    try:
        store = AudioStore(spy, "clips", info_a)
        store.ensure_collection()
        store.upsert_segments(records("f0", "/a/0.wav", 2) + records("f1", "/a/1.wav", 2), rows(4, 8))
        store.mark_file_complete("f0")
        store.mark_file_complete("f1")  # only a flag was written since the flush: nothing more to flush
        assert spy.events == ["flush", "flag", "flush-noop", "flag"]
    finally:
        spy.close()


def test_completed_points_are_in_the_segments_not_only_in_the_unsynced_wal(
    fast_tmp: Path, info_a: EmbedderInfo, records: Any, rows: Any
) -> None:
    # a power loss can drop what Edge's WAL holds without fsync: drop the WAL and look at what remains
    engine = EdgeEngine(fast_tmp / "s")
    store = AudioStore(engine, "clips", info_a)
    store.ensure_collection()
    store.upsert_segments(records("f0", "/a/0.wav", 3), rows(3, 8))
    store.mark_file_complete("f0")
    store.upsert_segments(records("f1", "/a/1.wav", 2), rows(2, 8, seed=1))  # not complete: may be lost
    copy = fast_tmp / "after-power-loss"
    shutil.copytree(fast_tmp / "s", copy, ignore=shutil.ignore_patterns("wal", ".lock"))
    engine.close()
    survivor = EdgeEngine(copy)
    try:
        left = AudioStore(survivor, "clips", info_a)
        assert left.count("f0") == 3  # every point of a file that was marked complete
        assert left.completed_file_ids() <= {"f0"}
    finally:
        survivor.close()


def test_settings_an_engine_cannot_honour_are_said_once(
    fast_tmp: Path, info_a: EmbedderInfo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aurola_qdrant.store.notes")
    config = StoreConfig(quantization="scalar", shard_number=3)
    engine, local = EdgeEngine(fast_tmp / "n"), QdrantClient(":memory:")
    try:
        for _ in range(2):
            AudioStore(engine, "clips", info_a, config).ensure_collection()
        AudioStore(local, "clips", info_a, config).ensure_collection()
    finally:
        engine.close()
        local.close()
    text = [r.getMessage() for r in caplog.records]
    assert sum("shard_number=3 ignored" in t for t in text) == 1
    assert sum("collection optimize clips" in t and "quantization" in t for t in text) == 1
    assert sum("local mode cannot honour quantization=scalar" in t for t in text) == 1


def test_open_embedded_picks_the_engine_from_the_folder(
    fast_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    new = open_embedded(fast_tmp / "new")
    assert isinstance(new, EdgeEngine)
    new.close()
    old = QdrantClient(path=str(fast_tmp / "old"))  # a store made by an earlier version
    old.close()
    caplog.set_level(logging.WARNING)
    reopened = open_embedded(fast_tmp / "old")
    assert isinstance(reopened, QdrantClient) and "collection migrate" in caplog.text
    reopened.close()
    assert isinstance(open_embedded(":memory:"), QdrantClient)
    with pytest.raises(FileNotFoundError):
        open_embedded(fast_tmp / "missing", create=False)
    assert not (fast_tmp / "missing").exists()


def test_importing_the_library_does_not_load_qdrant_edge() -> None:
    code = "import sys, aurola_qdrant, aurola_qdrant.store; print('qdrant_edge' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_exact_search_until_optimized_then_hnsw(fast_tmp: Path) -> None:
    engine = EdgeEngine(fast_tmp / "o")
    try:
        params = models.VectorParams(size=16, distance=models.Distance.COSINE)
        engine.create_collection("c", vectors_config={"v": params})
        vectors = np.random.default_rng(0).normal(size=(3000, 16)).astype(np.float32)
        engine.upsert("c", [models.PointStruct(id=i, vector={"v": vectors[i].tolist()}) for i in range(3000)])
        assert engine.get_collection("c").indexed_vectors_count == 0
        assert engine.optimize("c") is True
        assert engine.get_collection("c").indexed_vectors_count > 0
        top = engine.query_points("c", query=vectors[7].tolist(), using="v", limit=1).points
        assert top[0].id == 7
    finally:
        engine.close()
