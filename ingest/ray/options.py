"""`RayOptions`: where the Ray engine runs and how its pool is sized (the in-process engine ignores them)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["RayOptions"]


@dataclass(frozen=True)
class RayOptions:
    """Options of ``--engine ray``.

    Attributes:
        address: a running cluster (``"auto"``, ``"ray://head:10001"``, ``"10.0.0.1:6379"``); None starts a
            private local Ray for this run (loopback, no dashboard, its temp dir removed afterwards).
        embedders: actors in the embedder pool (one model each, loaded once per actor).
        gpus_per_embedder: GPUs per actor; None means 1 when the cluster has a GPU, else 0.
        embedder_resources: custom resources each embedder actor needs (e.g. ``{"embedder": 1}`` to pin
            the pool to nodes started with ``--resources='{"embedder": 4}'``).
        decode_cpus: CPUs per decode task (OMP_NUM_THREADS is set to it inside the task).
        writers: writer threads on the driver, each owning a share of the files (a file's segments and
            its completion flag go through one writer, in order); None means 4 for a Qdrant server and 1
            for an embedded store, which takes one writer.
        stall_timeout_s: the run fails with `RayStallError` when no result arrives for this long.
        object_store_mb: object store of a private local Ray (ignored with ``address``).
        task_env: environment variables for the decode tasks and embedder actors (e.g. ``AWS_ENDPOINT_URL``
            of an S3-compatible store); credentials are better left to each node's own environment.
    """

    address: str | None = None
    embedders: int = 1
    gpus_per_embedder: float | None = None
    embedder_resources: Mapping[str, float] = field(default_factory=dict)
    decode_cpus: float = 1.0
    writers: int | None = None
    stall_timeout_s: float = 600.0
    object_store_mb: int = 256
    task_env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.embedders, bool) or not isinstance(self.embedders, int) or self.embedders < 1:
            raise ValueError(f"embedders must be an integer >= 1, got {self.embedders!r}")
        if not (isinstance(self.stall_timeout_s, int | float) and math.isfinite(self.stall_timeout_s)
                and self.stall_timeout_s > 0):  # fmt: skip
            raise ValueError(
                f"stall_timeout_s must be a positive number of seconds, got {self.stall_timeout_s!r}"
            )
        if self.writers is not None and (isinstance(self.writers, bool) or not isinstance(self.writers, int)
                                         or self.writers < 1):  # fmt: skip
            raise ValueError(f"writers must be an integer >= 1 or None, got {self.writers!r}")
        if not self.decode_cpus > 0:
            raise ValueError(f"decode_cpus must be > 0, got {self.decode_cpus!r}")
        if self.gpus_per_embedder is not None and self.gpus_per_embedder < 0:
            raise ValueError(f"gpus_per_embedder must be >= 0 or None, got {self.gpus_per_embedder!r}")
        object.__setattr__(self, "embedder_resources", dict(self.embedder_resources))
        object.__setattr__(self, "task_env", dict(self.task_env))
