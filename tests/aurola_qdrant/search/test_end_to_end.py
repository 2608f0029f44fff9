"""End to end: the ingest worker writes the collection, AudioSearch queries and re-ranks it."""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client import QdrantClient

from aurola_qdrant.audio import load_audio
from aurola_qdrant.search import AudioSearch
from aurola_qdrant.store import AudioStore

from .conftest import CLIPS, write_clips

QUERY = "wind howls over a field while a drill whines"


def test_ingest_then_search_then_rerank(tmp_path, tiny_embedder, tiny_reranker) -> None:
    from ingest import IngestConfig, embedder_info, run_ingest

    folder = write_clips(tmp_path / "clips")
    client = QdrantClient(":memory:")
    config = IngestConfig(window_s=2.0, workers=1, metadata={"archive": "test"})
    store = AudioStore(client, "e2e", embedder_info(tiny_embedder, config))
    summary = run_ingest([str(tmp_path / "clips")], store, tiny_embedder, config)
    assert summary.files_embedded == len(CLIPS) and not summary.failures

    alpha, k, limit = 3.0, 10, 5
    hits = AudioSearch(client, "e2e", tiny_embedder, tiny_reranker).search(
        QUERY, limit=limit, candidates=k, alpha=alpha
    )

    # independent: cosine from the stored vectors, P(Yes) from one full forward per pair, then sort
    points, _ = client.scroll("e2e", limit=100, with_payload=True, with_vectors=True)
    query = tiny_embedder.embed_text([QUERY])[0]
    cos = {str(p.id): float(np.dot(p.vector[tiny_embedder.vector_name], query)) for p in points}
    top = sorted(cos, key=lambda i: -cos[i])[:k]
    payload = {str(p.id): p.payload for p in points}
    fused = {}
    for i in top:
        seg = load_audio(payload[i]["source"], start_s=payload[i]["start_s"], end_s=payload[i]["end_s"])
        p = tiny_reranker.score_text_to_audio_waveforms(QUERY, [seg.waveform], share_prefix=False)[0]
        fused[i] = cos[i] + alpha * float(p)
    expected = sorted(top, key=lambda i: -fused[i])[:limit]
    assert [h.id for h in hits] == expected
    assert [h.score for h in hits] == pytest.approx([fused[i] for i in expected], abs=1e-4)
    assert all(h.payload["archive"] == "test" and h.rerank_error is None for h in hits)
    assert {h.source for h in hits} <= {str(p) for p in folder.values()}
    client.close()
