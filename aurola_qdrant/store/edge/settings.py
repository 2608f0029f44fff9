"""qdrant-client's collection settings (`models.VectorParams` and friends) as Qdrant Edge configuration.

What Edge 0.9.0 honours of the store's `StoreConfig`: size, distance, float16 storage, on-disk vectors,
scalar/binary/product quantization and the HNSW graph on disk; the index and quantization are built by
`EdgeShard.optimize` (``aurola-qdrant collection optimize``), until then search is exact. It has no cluster:
shard_number and replication_factor cannot be honoured (`unhonoured` names them).
"""

from __future__ import annotations

from typing import Any

import qdrant_edge as edge
from qdrant_client import models

__all__ = ["edge_config", "edge_multivector", "unhonoured", "vector_params"]

_DISTANCE = {
    models.Distance.COSINE: edge.Distance.Cosine,
    models.Distance.DOT: edge.Distance.Dot,
    models.Distance.EUCLID: edge.Distance.Euclid,
    models.Distance.MANHATTAN: edge.Distance.Manhattan,
}
_DATATYPE = {
    "float32": edge.VectorStorageDatatype.Float32,
    "float16": edge.VectorStorageDatatype.Float16,
    "uint8": edge.VectorStorageDatatype.Uint8,
}
_RATIO = {f"x{n}": getattr(edge.CompressionRatio, f"X{n}") for n in (4, 8, 16, 32, 64)}
# Qdrant's defaults (the server's config.yaml): Edge's HnswIndexConfig has no defaults of its own
HNSW_M, HNSW_EF_CONSTRUCT, FULL_SCAN_THRESHOLD_KB = 16, 100, 10_000


def _quantization(q: Any) -> Any:
    if q is None or isinstance(q, models.Disabled):
        return None
    if isinstance(q, models.ScalarQuantization):
        c = q.scalar
        return edge.ScalarQuantizationConfig(
            edge.ScalarType.Int8, quantile=c.quantile, always_ram=c.always_ram
        )
    if isinstance(q, models.BinaryQuantization):
        return edge.BinaryQuantizationConfig(always_ram=q.binary.always_ram)
    if isinstance(q, models.ProductQuantization):
        ratio = _RATIO[str(getattr(q.product.compression, "value", q.product.compression)).lower()]
        return edge.ProductQuantizationConfig(ratio, always_ram=q.product.always_ram)
    raise ValueError(f"quantization {q!r} is not supported by the embedded Qdrant Edge store")


def _hnsw(h: models.HnswConfigDiff | None) -> Any:
    if h is None:
        return None
    return edge.HnswIndexConfig(
        m=h.m if h.m is not None else HNSW_M,
        ef_construct=h.ef_construct if h.ef_construct is not None else HNSW_EF_CONSTRUCT,
        full_scan_threshold=h.full_scan_threshold
        if h.full_scan_threshold is not None
        else FULL_SCAN_THRESHOLD_KB,
        on_disk=h.on_disk,
    )


def edge_multivector(config: models.MultiVectorConfig | None) -> Any:
    """qdrant-client's multivector config for Edge (Edge 0.9.0 has ``MAX_SIM``, Qdrant's one comparator)."""
    if config is None:
        return None
    if config.comparator != models.MultiVectorComparator.MAX_SIM:
        raise ValueError(f"multivector comparator {config.comparator!r} is not supported by Qdrant Edge")
    return edge.MultiVectorConfig(edge.MultiVectorComparator.MaxSim)


def vector_params(params: models.VectorParams) -> Any:
    """One dense vector's `EdgeVectorParams`."""
    datatype = getattr(params.datatype, "value", params.datatype)
    return edge.EdgeVectorParams(
        size=params.size,
        distance=_DISTANCE[params.distance],
        on_disk=params.on_disk,
        multivector_config=edge_multivector(params.multivector_config),
        datatype=_DATATYPE[str(datatype)] if datatype is not None else None,
        quantization_config=_quantization(params.quantization_config),
        hnsw_config=_hnsw(params.hnsw_config),
    )


def edge_config(vectors: dict[str, models.VectorParams], *, index_everything: bool = False) -> Any:
    """The shard's `EdgeConfig` for these named vectors (payload on disk, Edge's default).

    ``index_everything``: the indexing threshold at its minimum, for an explicit optimize: Edge's default
    (10 MB of vectors per segment, ~1,200 points at 2048-d) would leave smaller collections unindexed."""
    optimizers = edge.EdgeOptimizersConfig(indexing_threshold=1) if index_everything else None
    return edge.EdgeConfig(
        vectors={name: vector_params(p) for name, p in vectors.items()}, optimizers=optimizers
    )


def unhonoured(shard_number: int | None, replication_factor: int | None) -> list[str]:
    """Settings of a new collection that an embedded store cannot honour, as ``name=value`` strings."""
    out = []
    if shard_number not in (None, 1):
        out.append(f"shard_number={shard_number}")
    if replication_factor not in (None, 1):
        out.append(f"replication_factor={replication_factor}")
    return out
