"""`ingest_per_file`: ingest an archive as catalog points (one point per recording), for teams starting
from scratch with the representation `enrich_collection` gives existing catalogs.

Each listed file becomes one point, id UUID5 of its content hash (`FILE_NAMESPACE`), payload ``source``,
``file_id`` and the listing's metadata, inserted ``insert_only`` without vectors (so a rerun, or the same
content under another path, never replaces a point); then `enrich_collection` embeds every point from its
``source`` field (dense up to ``window_s``, a ``MAX_SIM`` multivector of windows beyond). Resumable as
enrich is: a rerun inserts nothing new and skips current points.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from qdrant_client import models

from aurola_qdrant.errors import AudioDecodeError
from aurola_qdrant.ids import file_id as content_hash
from aurola_qdrant.protocols import Embedder
from aurola_qdrant.retry import QDRANT_RETRY, RetryPolicy
from aurola_qdrant.store import StoreConfig
from aurola_qdrant.store._net import Net
from aurola_qdrant.store.catalog import POINTS_PREFIX, CatalogLayout
from aurola_qdrant.store.schema import METADATA_PREFIX, multivector_config

from .enrich import EnrichSummary, enrich_collection
from .plan import Failure
from .report import FailureLog
from .sources import SourceFile

__all__ = ["FILE_NAMESPACE", "ingest_per_file"]

FILE_NAMESPACE = uuid.UUID("3f0c9a52-5d8e-4f0e-9a47-6c1d2b7e8a31")
_PAGE = 64


def _create(net: Net, layout: CatalogLayout, config: StoreConfig) -> None:
    """A new collection holding exactly our two vectors and their embedder records."""
    multi = config.vector_params(layout.info.dim).model_copy(
        update={"multivector_config": multivector_config()}
    )
    net.call(
        "create_collection",
        vectors_config={layout.dense: config.vector_params(layout.info.dim), layout.windows: multi},
        metadata={
            METADATA_PREFIX + layout.dense: layout.info.to_dict(),
            METADATA_PREFIX + layout.windows: layout.windows_info.to_dict(),
            POINTS_PREFIX + layout.dense: layout.record("source"),
        },
    )


def _insert(net: Net, files: list[SourceFile], log: FailureLog) -> int:
    points: dict[str, models.PointStruct] = {}  # the first path of a content wins, as insert_only does
    for f in files:
        try:
            fid = content_hash(f.path)
        except (OSError, AudioDecodeError) as exc:
            log.add(Failure(path=f.path, reason=getattr(exc, "reason", "missing"), detail=str(exc)))
            continue
        payload = {**dict(f.metadata), "source": f.path, "file_id": fid}
        pid = str(uuid.uuid5(FILE_NAMESPACE, fid))
        points.setdefault(pid, models.PointStruct(id=pid, vector={}, payload=payload))
    if points:
        batch = models.PointsList(points=list(points.values()), update_mode=models.UpdateMode.INSERT_ONLY)
        net.call("batch_update_points", update_operations=[models.UpsertOperation(upsert=batch)], wait=True)
    return len(points)


def ingest_per_file(
    files: Iterable[SourceFile],
    client: Any,
    collection: str,
    embedder: Embedder,
    *,
    window_s: float = 30.0,
    hop_s: float | None = None,
    failures_path: str | Path | None = None,
    config: StoreConfig | None = None,
    retry: RetryPolicy | None = None,
    progress: Callable[[EnrichSummary], None] | None = None,
) -> EnrichSummary:
    """One catalog point per file of ``files`` (e.g. `ingest.sources.iter_source_files`), then enrich them.

    Files whose content cannot be read are reported in ``failures_path`` and get no point; files that do
    not decode get a point without vectors and are reported by the enrich pass (a rerun retries them).

    Raises:
        CollectionMismatchError: the collection holds per-segment points or another embedder's vectors.
        StoreUnavailableError: Qdrant stayed unreachable past the retry budget.
    """
    config = config or StoreConfig()
    layout = CatalogLayout(embedder.embedder_info(window_s=window_s, hop_s=hop_s or window_s))
    net = Net(client, collection, retry if retry is not None else QDRANT_RETRY)
    if not net.call("collection_exists"):
        _create(net, layout, config)
    layout.ensure(net, config, "source")  # validates an existing one before anything is inserted
    log = FailureLog(Path(failures_path) if failures_path is not None else None)
    try:
        page: list[SourceFile] = []
        for f in files:
            page.append(f)
            if len(page) >= _PAGE:
                _insert(net, page, log)
                page = []
        _insert(net, page, log)
    finally:
        log.close()
    summary = enrich_collection(
        client,
        collection,
        embedder,
        audio_field="source",
        window_s=window_s,
        hop_s=hop_s,
        failures_path=failures_path,
        config=config,
        retry=retry,
        progress=progress,
    )
    summary.points_failed += len(log.records)
    summary.failures = [f.to_dict() for f in log.records] + summary.failures
    return summary
