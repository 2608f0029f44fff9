"""`StoreConfig`: how our named vector is stored, and how large one upsert request may be.

Upsert batch arithmetic (``upsert_batch_size=None``). Qdrant refuses REST requests above
``service.max_request_size_mb`` = 32 MiB by default. A float32 element, sent as JSON, is a float64 repr of
at most 23 characters (``-0.00012345678901234567`` or ``-1.2345678901234567e-05``) plus a comma: we count
25 bytes per dimension. Each point also gets a 4 KiB allowance for its id, field names and payload.
We aim at a quarter of the limit (8 MiB) to leave headroom for large user metadata and proxies:

    batch = clamp(8 MiB // (dim * 25 + 4096), 1, 256)
    dim 3584: 8_388_608 // (89_600 + 4_096) = 89 points  -> 89 * 93_696 B = 8.3 MB, 25 % of 32 MiB
    dim 2048: 151 points;   dim 1024: 282 -> capped at 256 (latency, not size, bounds small vectors)

In that mode the store also splits a batch early when the measured JSON size of its payloads would push
the request past the 8 MiB budget, so unusually large user metadata cannot break the limit either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

from qdrant_client import models

__all__ = [
    "JSON_BYTES_PER_DIM",
    "MAX_AUTO_BATCH",
    "PAYLOAD_ALLOWANCE_BYTES",
    "QDRANT_MAX_REQUEST_BYTES",
    "REQUEST_BUDGET_BYTES",
    "StoreConfig",
    "auto_batch_size",
]

QDRANT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
REQUEST_BUDGET_BYTES = QDRANT_MAX_REQUEST_BYTES // 4
JSON_BYTES_PER_DIM = 25
PAYLOAD_ALLOWANCE_BYTES = 4096
MAX_AUTO_BATCH = 256

_INDEX_TYPES = {t.value: t for t in models.PayloadSchemaType}


def auto_batch_size(dim: int) -> int:
    """Points per upsert request for vectors of size ``dim`` (see the module docstring for the arithmetic)."""
    per_point = dim * JSON_BYTES_PER_DIM + PAYLOAD_ALLOWANCE_BYTES
    return max(1, min(MAX_AUTO_BATCH, REQUEST_BUDGET_BYTES // per_point))


def _positive_int_or_none(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be an integer >= 1 or None (server default), got {value!r}")


@dataclass(frozen=True)
class StoreConfig:
    """Storage options of our named vector; applied when the collection or the vector is created.

    Attributes:
        on_disk: keep original vectors memory-mapped on disk instead of in RAM.
        datatype: ``"float32"`` or ``"float16"`` (halves vector storage; cosine recall barely moves).
        quantization: None, ``"scalar"`` (int8, quantile 0.99, always in RAM) or ``"binary"`` (always in RAM).
        shard_number / replication_factor: cluster layout of a *new* collection (None: server default).
        hnsw_on_disk: keep the HNSW graph on disk.
        upsert_batch_size: points per upsert request; None computes it from the dimension (module docstring).
        payload_indexes: extra payload indexes ``{field: schema}``, schema one of Qdrant's
            PayloadSchemaType values (keyword, integer, float, geo, text, bool, datetime, uuid).
            Stored as a sorted tuple of pairs so that the config stays hashable.
    """

    on_disk: bool = False
    datatype: Literal["float32", "float16"] = "float32"
    quantization: Literal["scalar", "binary"] | None = None
    shard_number: int | None = None
    replication_factor: int | None = None
    hnsw_on_disk: bool = False
    upsert_batch_size: int | None = None
    payload_indexes: Mapping[str, str] | tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name in ("on_disk", "hnsw_on_disk"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.datatype not in ("float32", "float16"):
            raise ValueError(f"datatype must be 'float32' or 'float16', got {self.datatype!r}")
        if self.quantization not in (None, "scalar", "binary"):
            raise ValueError(f"quantization must be None, 'scalar' or 'binary', got {self.quantization!r}")
        _positive_int_or_none("shard_number", self.shard_number)
        _positive_int_or_none("replication_factor", self.replication_factor)
        _positive_int_or_none("upsert_batch_size", self.upsert_batch_size)
        pairs = (
            self.payload_indexes.items()
            if isinstance(self.payload_indexes, Mapping)
            else self.payload_indexes
        )
        normalised: dict[str, str] = {}
        for pair in pairs:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise ValueError(f"payload_indexes must map field -> schema, got entry {pair!r}")
            field, schema = pair[0], pair[1]
            if not isinstance(field, str) or not field:
                raise ValueError(f"payload_indexes field names must be non-empty strings, got {field!r}")
            if schema not in _INDEX_TYPES:
                raise ValueError(
                    f"payload_indexes[{field!r}] = {schema!r} is not a Qdrant payload schema; "
                    f"use one of {sorted(_INDEX_TYPES)}"
                )
            normalised[field] = schema
        object.__setattr__(self, "payload_indexes", tuple(sorted(normalised.items())))

    def batch_size(self, dim: int) -> int:
        """Points per upsert request: ``upsert_batch_size`` or `auto_batch_size(dim)`."""
        return self.upsert_batch_size if self.upsert_batch_size is not None else auto_batch_size(dim)

    def extra_indexes(self) -> dict[str, models.PayloadSchemaType]:
        """The user's extra payload indexes as Qdrant schema types."""
        pairs = cast(tuple[tuple[str, str], ...], self.payload_indexes)  # normalised in __post_init__
        return {field: _INDEX_TYPES[schema] for field, schema in pairs}

    def quantization_config(self) -> models.QuantizationConfig | None:
        """The Qdrant quantization preset for ``quantization``."""
        if self.quantization == "scalar":
            return models.ScalarQuantization(
                scalar=models.ScalarQuantizationConfig(
                    type=models.ScalarType.INT8, quantile=0.99, always_ram=True
                )
            )
        if self.quantization == "binary":
            return models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=True))
        return None

    def storage_datatype(self) -> models.Datatype:
        return models.Datatype.FLOAT16 if self.datatype == "float16" else models.Datatype.FLOAT32

    def creation_datatype(self) -> models.VectorStorageDatatype:
        """The datatype as Qdrant's create-vector-name API spells it."""
        return models.VectorStorageDatatype(self.datatype)

    def vector_params(self, dim: int) -> models.VectorParams:
        """Full parameters of our named vector (cosine distance) for a new collection."""
        return models.VectorParams(
            size=dim,
            distance=models.Distance.COSINE,
            on_disk=self.on_disk,
            datatype=self.storage_datatype(),
            quantization_config=self.quantization_config(),
            hnsw_config=models.HnswConfigDiff(on_disk=self.hnsw_on_disk),
        )

    def vector_params_diff(self) -> models.VectorParamsDiff:
        """Storage options applied after adding our vector to an existing collection."""
        return models.VectorParamsDiff(
            on_disk=self.on_disk,
            quantization_config=self.quantization_config(),
            hnsw_config=models.HnswConfigDiff(on_disk=self.hnsw_on_disk),
        )
