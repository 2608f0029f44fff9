"""The quickstart's archive stages: ingest of the held-out test clips into embedded Qdrant with the ingest
worker, then text queries (re-ranked) and an audio query by example, with time-stamped hits."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .stages import QuickstartConfig, Say

__all__ = ["ingest_and_search"]


def _hit_line(rank: int, hit: Any, captions: dict[str, str], target: str | None) -> str:
    source = os.path.realpath(hit.source or "")
    mark = "  <- the queried clip" if target is not None and source == target else ""
    rerank = f", P(Yes) {hit.rerank_score:.2f}" if hit.rerank_score is not None else ""
    return (
        f"     {rank}. {Path(source).name} [{hit.start_s:.2f}-{hit.end_s:.2f} s] score {hit.score:.3f} "
        f'(cosine {hit.retrieval_score:.3f}{rerank})  "{captions.get(source, "?")}"{mark}'
    )


def ingest_and_search(
    cfg: QuickstartConfig, qdrant_path: Path, collection: str, force: bool, say: Say
) -> dict[str, Any]:
    """Ingest the test archive (idempotent: files already in Qdrant are skipped; ``force`` drops the
    collection first, since the models changed) and show searches."""
    from aurola_qdrant.embedder import AurolaEmbedder
    from aurola_qdrant.reranker import AurolaReranker
    from aurola_qdrant.retry import QDRANT_RETRY
    from aurola_qdrant.search import AudioSearch
    from aurola_qdrant.store import AudioStore
    from aurola_qdrant.store._net import Net
    from aurola_qdrant.store.embedded import open_embedded
    from ingest import IngestConfig, run_ingest, store_windowing
    from trainer.manifest import read_manifest

    items = read_manifest(cfg.manifest("test"))
    embedder = AurolaEmbedder.from_pretrained(cfg.embedder, device="cpu", batch_size=32)
    reranker = AurolaReranker.from_pretrained(cfg.reranker, device="cpu", batch_size=16)
    client = open_embedded(qdrant_path)  # the embedded default (Qdrant Edge), as `aurola-qdrant ingest`
    try:
        say(f"== 4/6 ingest the {len(items)} test clips into embedded Qdrant at {qdrant_path}")
        started = time.perf_counter()
        net = Net(client, collection, QDRANT_RETRY)
        if force and net.call("collection_exists"):
            net.call("delete_collection")
        config = IngestConfig(workers=1, batch_size=16)
        store = AudioStore.for_embedder(client, collection, embedder, **store_windowing(config))
        summary = run_ingest([str(it.audio) for it in items], store, embedder, config)
        ingest_s = time.perf_counter() - started
        say(
            f"   {summary.files_ingested} files ingested, {summary.files_skipped} already in Qdrant, "
            f"{summary.files_failed} failed; {store.count()} points; {ingest_s:.1f} s"
        )
        say("== 5/6 search (text queries re-ranked; audio query by example)")
        started = time.perf_counter()
        captions = {os.path.realpath(it.audio): it.caption_short or it.captions[0] for it in items}
        search = AudioSearch(client, collection, embedder, reranker)
        queries = [(items[0].captions[0], items[0]), (items[1].caption_short or "", items[1])]
        queries.append((", ".join(items[2].tags), items[2]))
        for text, item in queries:
            say(f'   text query: "{text}"')
            hits = search.search(text, limit=3, candidates=cfg.candidates)
            for rank, hit in enumerate(hits, 1):
                say(_hit_line(rank, hit, captions, os.path.realpath(item.audio)))
        example = items[3]
        say(f'   audio query: {Path(example.audio).name} ("{captions[os.path.realpath(example.audio)]}")')
        for rank, hit in enumerate(search.search_by_audio(str(example.audio), limit=3, exclude_self=True), 1):
            say(_hit_line(rank, hit, captions, None))
        return {"ingest": round(ingest_s, 1), "search": round(time.perf_counter() - started, 1)}
    finally:
        client.close()
