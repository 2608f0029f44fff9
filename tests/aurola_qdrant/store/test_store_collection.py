from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from aurola_qdrant.errors import CollectionMismatchError
from aurola_qdrant.store import AudioStore, EmbedderInfo, StoreConfig
from aurola_qdrant.store.schema import METADATA_PREFIX


def _with(info: EmbedderInfo, **changes: Any) -> EmbedderInfo:
    return EmbedderInfo(**{**info.to_dict(), **changes})


def test_create_then_validate_is_idempotent(client: QdrantClient, info_a: EmbedderInfo) -> None:
    store = AudioStore(client, "clips", info_a)
    store.ensure_collection()
    params = client.get_collection("clips").config.params.vectors[info_a.vector_name]  # type: ignore[index]
    assert params.size == 8 and params.distance == models.Distance.COSINE
    assert store.recorded_embedders() == {info_a.vector_name: info_a}
    assert client.get_collection("clips").config.metadata == {METADATA_PREFIX + "aurola-3b": info_a.to_dict()}
    store.ensure_collection()  # second call: validates, changes nothing
    assert store.recorded_embedders() == {info_a.vector_name: info_a}
    store.check_query_compatible()


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"revision": "rev2"}, "'rev2'"),
        ({"model_id": "aurola/AuroLA-7B"}, "'aurola/AuroLA-7B'"),
        ({"prompt_version": "p9"}, "'p9'"),
        ({"window_s": 30.0, "hop_s": 15.0}, "window 30.0s"),
    ],
)
def test_mismatched_embedder_is_refused_naming_both(
    client: QdrantClient, info_a: EmbedderInfo, changes: dict, needle: str
) -> None:
    AudioStore(client, "clips", info_a).ensure_collection()
    offered = _with(info_a, **changes)
    with pytest.raises(CollectionMismatchError) as err:
        AudioStore(client, "clips", offered).ensure_collection()
    message = str(err.value)
    assert "Recorded: " + info_a.describe() in message and "Offered: " + offered.describe() in message
    assert needle in message


def test_dimension_mismatch_is_refused(client: QdrantClient, info_a: EmbedderInfo) -> None:
    AudioStore(client, "clips", info_a).ensure_collection()
    with pytest.raises(CollectionMismatchError, match=r"size 8 .* needs size 16"):
        AudioStore(client, "clips", _with(info_a, dim=16)).ensure_collection()


def test_query_compatibility_ignores_windowing_but_not_the_model(
    client: QdrantClient, info_a: EmbedderInfo
) -> None:
    store = AudioStore(client, "clips", info_a)
    store.ensure_collection()
    store.check_query_compatible(
        _with(info_a, window_s=None, hop_s=None)
    )  # text queries: windowing irrelevant
    with pytest.raises(CollectionMismatchError, match=r"rev1.*rev9"):
        store.check_query_compatible(_with(info_a, revision="rev9"))
    with pytest.raises(CollectionMismatchError, match=r"no vector of that name.*'aurola-3b'"):
        store.check_query_compatible(_with(info_a, vector_name="aurola-7b"))


def test_second_embedder_is_added_without_recreating(
    client: QdrantClient, info_a: EmbedderInfo, info_b: EmbedderInfo, records: Any, rows: Any
) -> None:
    store_a = AudioStore(client, "clips", info_a)
    store_a.ensure_collection()
    recs = records("f1", "/a/x.wav", 3)
    vec_a = rows(3, 8, seed=1)
    store_a.upsert_segments(recs, vec_a)

    store_b = AudioStore(client, "clips", info_b)
    store_b.ensure_collection()
    assert set(client.get_collection("clips").config.params.vectors) == {"aurola-3b", "other-emb"}  # type: ignore[arg-type]
    assert store_a.count() == 3 and client.count("clips").count == 3  # nothing was dropped
    assert set(store_b.recorded_embedders()) == {"aurola-3b", "other-emb"}

    vec_b = rows(3, 4, seed=2)
    store_b.upsert_segments(recs, vec_b)  # same segments: existing points get the second vector
    assert client.count("clips").count == 3
    got = {str(p.id): p for p in store_a.retrieve([r.point_id for r in recs], with_vectors=True)}
    for i, rec in enumerate(recs):
        vectors = got[rec.point_id].vector
        assert isinstance(vectors, dict) and set(vectors) == {"aurola-3b", "other-emb"}
        np.testing.assert_allclose(vectors["aurola-3b"], vec_a[i], rtol=1e-5)  # cosine: stored normalised
        np.testing.assert_allclose(vectors["other-emb"], vec_b[i], rtol=1e-5)
    # re-storing A afterwards must not drop B's vectors either
    store_a.upsert_segments(recs, vec_a)
    assert store_b.count() == 3 and store_a.count() == 3
    store_a.ensure_collection()
    store_b.ensure_collection()


def test_plain_upsert_would_have_dropped_the_other_vector(
    client: QdrantClient, info_a: EmbedderInfo, info_b: EmbedderInfo, records: Any, rows: Any
) -> None:
    # the reason the store does not use `upsert` for existing points: it replaces the whole point
    AudioStore(client, "clips", info_a).ensure_collection()
    AudioStore(client, "clips", info_b).ensure_collection()
    rec = records("f1", "/a.wav", 1)[0]
    both = {"aurola-3b": rows(1, 8)[0].tolist(), "other-emb": rows(1, 4)[0].tolist()}
    client.upsert("clips", [models.PointStruct(id=rec.point_id, vector=both, payload={})])
    client.upsert("clips", [models.PointStruct(id=rec.point_id, vector={"aurola-3b": both["aurola-3b"]})])
    vectors = client.retrieve("clips", [rec.point_id], with_vectors=True)[0].vector
    assert isinstance(vectors, dict) and "other-emb" not in vectors


def test_collection_metadata_survives_reopening_local_storage(tmp_path: Path, info_a: EmbedderInfo) -> None:
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    AudioStore(client, "clips", info_a).ensure_collection()
    client.close()
    reopened = QdrantClient(path=str(tmp_path / "qdrant"))
    try:
        store = AudioStore(reopened, "clips", info_a)
        assert store.recorded_embedders() == {"aurola-3b": info_a}
        store.check_query_compatible()
        with pytest.raises(CollectionMismatchError, match="rev2"):
            AudioStore(reopened, "clips", _with(info_a, revision="rev2")).ensure_collection()
    finally:
        reopened.close()


def test_server_that_cannot_add_a_vector_gives_a_how_to(
    client: QdrantClient, info_a: EmbedderInfo, info_b: EmbedderInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    AudioStore(client, "clips", info_a).ensure_collection()

    def old_server(**kwargs: Any) -> None:  # what an older server answers for an unknown route
        raise UnexpectedResponse(404, "Not Found", b"", httpx.Headers())

    monkeypatch.setattr(client, "create_vector_name", old_server)
    with pytest.raises(CollectionMismatchError) as err:
        AudioStore(client, "clips", info_b).ensure_collection()
    message = str(err.value)
    assert "'other-emb'" in message and "create-vector-name" in message and "new collection name" in message
    assert set(AudioStore(client, "clips", info_a).recorded_embedders()) == {
        "aurola-3b"
    }  # record rolled back


def test_existing_unrecorded_vector_is_adopted_only_when_empty(
    client: QdrantClient, info_a: EmbedderInfo
) -> None:
    params = {"aurola-3b": models.VectorParams(size=8, distance=models.Distance.COSINE)}
    client.create_collection("bare", vectors_config=params)
    AudioStore(client, "bare", info_a).ensure_collection()  # empty: adopted and recorded
    assert AudioStore(client, "bare", info_a).recorded_embedders() == {"aurola-3b": info_a}

    client.create_collection("used", vectors_config=params)
    client.upsert("used", [models.PointStruct(id=1, vector={"aurola-3b": [1.0] * 8})])
    with pytest.raises(CollectionMismatchError, match="no embedder is recorded"):
        AudioStore(client, "used", info_a).ensure_collection()


def test_lost_creation_race_falls_back_to_validation(
    client: QdrantClient, info_a: EmbedderInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    AudioStore(client, "clips", info_a).ensure_collection()  # the other worker won the race
    real_exists = client.collection_exists
    blind = {"left": 0}

    def exists(**kwargs: Any) -> bool:  # our first look happened just before the other worker created it
        if blind["left"]:
            blind["left"] -= 1
            return False
        return real_exists(**kwargs)

    monkeypatch.setattr(client, "collection_exists", exists)
    created = []
    real_create = client.create_collection
    monkeypatch.setattr(client, "create_collection", lambda **kw: created.append(1) or real_create(**kw))
    blind["left"] = 1
    AudioStore(client, "clips", info_a).ensure_collection()
    assert created == [1] and blind["left"] == 0  # it did try to create, failed, and validated instead
    blind["left"] = 1
    with pytest.raises(CollectionMismatchError, match="rev1"):
        AudioStore(client, "clips", _with(info_a, revision="x")).ensure_collection()


class RecordingClient(QdrantClient):
    """A real embedded client that notes the order of the calls the store makes."""

    calls: list[str]

    def create_payload_index(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("index:" + kwargs["field_name"])
        return super().create_payload_index(*args, **kwargs)

    def batch_update_points(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("write")
        return super().batch_update_points(*args, **kwargs)

    def upsert(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("write")
        return super().upsert(*args, **kwargs)


def test_payload_indexes_are_created_before_any_upload(info_a: EmbedderInfo, records: Any, rows: Any) -> None:
    client = RecordingClient(":memory:")
    client.calls = []
    store = AudioStore(client, "clips", info_a, StoreConfig(payload_indexes={"genre": "keyword"}))
    plan = store.payload_index_plan()
    types = models.PayloadSchemaType
    assert plan["file_id"] == plan["source"] == plan["sources"] == plan["genre"] == types.KEYWORD
    assert plan["start_s"] == plan["end_s"] == plan["duration_s"] == types.FLOAT
    assert plan["complete_aurola-3b"] == types.BOOL and plan["segment_index"] == types.INTEGER
    store.ensure_collection()
    store.upsert_segments(records("f1", "/a.wav", 2), rows(2, 8))
    first_write = client.calls.index("write")
    assert {c[len("index:") :] for c in client.calls[:first_write]} == set(plan)
    # local mode does not report payload_schema (always {}); a server does, and the store then skips
    # existing indexes. Here the local client is asked again on every ensure, which is harmless.
    client.close()
