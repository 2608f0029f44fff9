"""The bulk ingestion worker: audio files in, AuroLA vectors in a Qdrant collection out.

    from ingest import IngestConfig, run_ingest, store_windowing
    config = IngestConfig(window_s=30.0, batch_size=8, workers=4)
    store = AudioStore.for_embedder(client, "sounds", embedder, **store_windowing(config))
    summary = run_ingest(["/data/archive"], store, embedder, config)

Modules: `sources` (directories, globs, manifests, stdin), `config`, `plan` (hash + header -> segments),
`planner` (resume check against Qdrant), `decode` (worker processes), `batcher`, `pipeline`, `uploader`,
`progress`, `report`, `run`, `testseam` (kill points for the crash tests). Attributes are imported lazily
so that decode worker processes, which import `ingest.decode`, load neither qdrant-client nor torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "IngestConfig",
    "IngestSummary",
    "SourceFile",
    "embedder_info",
    "iter_source_files",
    "parse_shard",
    "run_ingest",
    "store_windowing",
]

_WHERE = {
    "IngestConfig": "config",
    "parse_shard": "config",
    "IngestSummary": "report",
    "SourceFile": "sources",
    "iter_source_files": "sources",
    "embedder_info": "run",
    "run_ingest": "run",
    "store_windowing": "run",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ingest' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
