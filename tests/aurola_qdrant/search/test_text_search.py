"""Audio→text: text collections (ids, idempotence, metadata) and TextSearch against an independent fusion."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from aurola_qdrant.audio import load_audio
from aurola_qdrant.errors import CollectionMismatchError, InputError
from aurola_qdrant.search import (
    TextCollection,
    TextSearch,
    embedder_info,
    ingest_texts,
    read_text_file,
    text_point_id,
)
from aurola_qdrant.store import EmbedderInfo

LABELS = [
    "a dog barks twice",
    "rain falls on a tin roof",
    "an engine idles in a garage",
    "wind howls across an open field",
    "a power drill whines",
    "a cat meows",
    "people talk in a busy cafe",
]


@pytest.fixture(scope="module")
def labels(tiny_embedder):
    client = QdrantClient(":memory:")
    meta = [
        {"group": "animal" if ("dog" in t or "cat" in t) else "other", "source": "hand-written"}
        for t in LABELS
    ]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        assert ingest_texts(client, "labels", tiny_embedder, LABELS, meta, batch_size=3) == len(LABELS)
    yield client
    client.close()


def test_texts_are_stored_once_with_their_metadata(labels, tiny_embedder) -> None:
    assert ingest_texts(labels, "labels", tiny_embedder, LABELS[:2] + LABELS[:1]) == 2  # duplicates collapse
    assert labels.count("labels").count == len(LABELS)
    point = labels.retrieve("labels", [text_point_id(LABELS[0])], with_vectors=True)[0]
    assert point.payload["text"] == LABELS[0] and point.payload["group"] == "animal"
    stored = np.asarray(point.vector[tiny_embedder.vector_name])
    assert stored == pytest.approx(tiny_embedder.embed_text([LABELS[0]])[0], abs=1e-5)


def test_describe_equals_independent_fusion(labels, library, tiny_embedder, tiny_reranker) -> None:
    clip = library.paths["engine.wav"]
    alpha, k, limit = 2.5, 6, 4
    hits = TextSearch(labels, "labels", tiny_embedder, tiny_reranker).describe(
        clip, limit=limit, candidates=k, alpha=alpha
    )
    wave = load_audio(clip).waveform
    audio_vec = tiny_embedder.embed_audio([(wave, 16000)])[0]
    cos = dict(zip(LABELS, tiny_embedder.embed_text(LABELS) @ audio_vec, strict=True))
    top = sorted(LABELS, key=lambda t: -cos[t])[:k]
    p = {t: float(tiny_reranker.score_audio_waveform_to_text(wave, [t], share_prefix=False)[0]) for t in top}
    fused = {t: cos[t] + alpha * p[t] for t in top}
    expected = sorted(top, key=lambda t: -fused[t])[:limit]
    assert [h.text for h in hits] == expected
    assert [h.id for h in hits] == [text_point_id(t) for t in expected]
    assert [h.score for h in hits] == pytest.approx([fused[t] for t in expected], abs=1e-4)
    assert [h.rerank_score for h in hits] == pytest.approx([p[t] for t in expected], abs=1e-4)
    # text hits have no audio location, whatever their metadata says
    assert all(h.source is None and h.start_s is None and h.payload["source"] == "hand-written" for h in hits)


def test_describe_without_reranker_filters_and_alpha_default(
    labels, library, tiny_embedder, tiny_reranker
) -> None:
    clip = library.paths["dog.wav"]
    plain = TextSearch(labels, "labels", tiny_embedder).describe(clip, limit=len(LABELS))
    assert [h.retrieval_score for h in plain] == sorted((h.retrieval_score for h in plain), reverse=True)
    assert all(h.rerank_score is None for h in plain)
    animal = models.Filter(must=[models.FieldCondition(key="group", match=models.MatchValue(value="animal"))])
    search = TextSearch(labels, "labels", tiny_embedder, tiny_reranker)
    hits = search.describe(clip, query_filter=animal)
    assert sorted(h.text for h in hits) == ["a cat meows", "a dog barks twice"]
    alpha = tiny_reranker.default_alpha("a2t")
    assert all(h.score == pytest.approx(h.retrieval_score + alpha * h.rerank_score, abs=1e-6) for h in hits)


def test_text_collection_refuses_another_embedder(labels, tiny_embedder) -> None:
    with pytest.raises(CollectionMismatchError, match="does not exist"):
        TextSearch(labels, "no-such-labels", tiny_embedder)
    mine = embedder_info(tiny_embedder)
    theirs = EmbedderInfo(mine.vector_name, "someone/captions", "r2", mine.prompt_version, mine.dim)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        TextCollection(labels, "their-labels", theirs).ensure_collection()
        with pytest.raises(CollectionMismatchError, match="someone/captions"):
            ingest_texts(labels, "their-labels", tiny_embedder, ["a dog"])
    with pytest.raises(CollectionMismatchError, match="someone/captions"):
        TextSearch(labels, "their-labels", tiny_embedder)


def test_read_text_file_plain_and_jsonl(tmp_path) -> None:
    plain = tmp_path / "labels.txt"
    plain.write_text("dog\n\n  cat  \n", encoding="utf-8")
    assert read_text_file(plain) == (["dog", "cat"], [{}, {}])
    rows = tmp_path / "caps.jsonl"
    rows.write_text(json.dumps({"text": "a dog", "clip": 3}) + "\n\n" + json.dumps({"text": "rain"}) + "\n")
    assert read_text_file(rows) == (["a dog", "rain"], [{"clip": 3}, {}])
    rows.write_text(json.dumps({"text": "ok"}) + "\n" + json.dumps({"caption": "no text key"}) + "\n")
    with pytest.raises(InputError, match=r"caps.jsonl:2"):
        read_text_file(rows)
