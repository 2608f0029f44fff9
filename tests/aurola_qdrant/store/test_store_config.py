from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from qdrant_client import models

from aurola_qdrant.ids import point_id
from aurola_qdrant.store import EmbedderInfo, SegmentRecord, StoreConfig, auto_batch_size
from aurola_qdrant.store.config import QDRANT_MAX_REQUEST_BYTES


def test_auto_batch_for_3584_dims_stays_well_under_the_request_limit() -> None:
    dim = 3584
    batch = auto_batch_size(dim)
    assert batch == 89
    # measure, don't trust the constant: worst-case float32 values as JSON, plus a realistic payload
    worst = np.full(dim, -1.2345678e-05, dtype=np.float32)
    worst_json = len(json.dumps(worst.tolist()))
    payload = {
        "source": "s3://bucket/" + "x" * 200,
        "sources": ["s3://bucket/" + "x" * 200],
        "genre": "y" * 500,
    }
    point = {"id": point_id("f" * 64, 0.0, 10.0), "vector": {"aurola-3b": worst.tolist()}, "payload": payload}
    per_point = len(json.dumps(point))
    assert per_point > worst_json >= dim * 20  # the estimate is about the real size, not a toy
    assert batch * per_point < QDRANT_MAX_REQUEST_BYTES / 3
    assert StoreConfig().batch_size(dim) == batch
    assert StoreConfig(upsert_batch_size=7).batch_size(dim) == 7


def test_auto_batch_is_bounded_for_small_and_huge_dims() -> None:
    assert auto_batch_size(4) == 256
    assert auto_batch_size(65536) >= 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"datatype": "int8"}, "datatype"),
        ({"quantization": "pq"}, "quantization"),
        ({"shard_number": 0}, "shard_number"),
        ({"replication_factor": True}, "replication_factor"),
        ({"upsert_batch_size": -3}, "upsert_batch_size"),
        ({"on_disk": "yes"}, "on_disk"),
        ({"payload_indexes": {"genre": "kw"}}, "'kw'"),
    ],
)
def test_store_config_rejects_bad_values_quoting_them(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        StoreConfig(**kwargs)


def test_store_config_presets_and_hashable_indexes() -> None:
    cfg = StoreConfig(
        quantization="scalar", datatype="float16", on_disk=True, payload_indexes={"genre": "keyword"}
    )
    assert hash(cfg) == hash(
        StoreConfig(
            quantization="scalar", datatype="float16", on_disk=True, payload_indexes=(("genre", "keyword"),)
        )
    )
    params = cfg.vector_params(16)
    assert params.size == 16 and params.distance == models.Distance.COSINE and params.on_disk is True
    assert params.datatype == models.Datatype.FLOAT16
    scalar = params.quantization_config.scalar  # type: ignore[union-attr]
    assert scalar.type == models.ScalarType.INT8 and scalar.quantile == 0.99 and scalar.always_ram
    binary = StoreConfig(quantization="binary").quantization_config()
    assert isinstance(binary, models.BinaryQuantization) and binary.binary.always_ram
    assert cfg.extra_indexes() == {"genre": models.PayloadSchemaType.KEYWORD}


def test_embedder_info_roundtrip_and_keys() -> None:
    info = EmbedderInfo("aurola-3b", "aurola/AuroLA-3B", "abc", "p1", 2048, window_s=10.0, hop_s=5.0)
    assert EmbedderInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info
    assert EmbedderInfo.from_dict({**info.to_dict(), "future_field": 1}) == info
    other_window = EmbedderInfo("aurola-3b", "aurola/AuroLA-3B", "abc", "p1", 2048, window_s=10.0, hop_s=10.0)
    assert other_window.query_key() == info.query_key() and other_window.write_key() != info.write_key()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"vector_name": "a.b"}, "vector_name"),
        ({"vector_name": ""}, "vector_name"),
        ({"model_id": " "}, "model_id"),
        ({"dim": 0}, "dim"),
        ({"dim": 70000}, "dim"),
        ({"window_s": None, "hop_s": 1.0}, "needs window_s"),
        ({"window_s": 5.0, "hop_s": 6.0}, "hop_s"),
        ({"window_s": -1.0}, "window_s"),
    ],
)
def test_embedder_info_rejects_bad_values(kwargs: dict, match: str) -> None:
    base = {"vector_name": "v", "model_id": "m", "revision": None, "prompt_version": "p", "dim": 8}
    with pytest.raises(ValueError, match=match):
        EmbedderInfo(**{**base, **kwargs})
    with pytest.raises(ValueError, match="lacks"):
        EmbedderInfo.from_dict({"vector_name": "v"})


def _record(**kwargs: object) -> SegmentRecord:
    base: dict = {
        "file_id": "f1",
        "source": "/a.wav",
        "start_s": 0.0,
        "end_s": 1.0,
        "segment_index": 0,
        "n_segments": 1,
        "duration_s": 1.0,
        "sample_rate": 16000,
        "channels": 1,
    }
    return SegmentRecord(**{**base, **kwargs})


def test_segment_record_payload_id_and_pickle() -> None:
    meta = {"genre": "rain", "tags": ["a", "b"]}
    rec = _record(metadata=meta)
    meta["genre"] = "changed later"  # the record keeps its own copy
    assert rec.point_id == point_id("f1", 0.0, 1.0)
    payload = rec.payload()
    assert payload["genre"] == "rain" and payload["sources"] == ["/a.wav"] and payload["duration_s"] == 1.0
    assert {
        "source",
        "file_id",
        "start_s",
        "end_s",
        "sample_rate",
        "channels",
        "segment_index",
        "n_segments",
    } <= set(payload)
    assert pickle.loads(pickle.dumps(rec)) == rec


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metadata": {"source": "x"}}, "'source' is reserved"),
        ({"metadata": {"complete_aurola-3b": True}}, "reserved"),
        ({"metadata": {"x": float("nan")}}, "JSON"),
        ({"metadata": {"x": object()}}, "JSON"),
        ({"segment_index": 1, "n_segments": 1}, "segment_index"),
        ({"end_s": 0.0}, "after start_s"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"file_id": ""}, "file_id"),
    ],
)
def test_segment_record_rejects_bad_values(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _record(**kwargs)
