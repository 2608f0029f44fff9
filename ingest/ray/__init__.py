"""The Ray engine of the ingest worker (``--engine ray``, the optional ``[ray]`` extra).

`run_ray_pipeline` takes the place of `ingest.pipeline.run_pipeline` inside `ingest.run_ingest`: the same
sources, records, completion rule, summary and failures, with decoding in Ray tasks and the model in a
Ray Data actor pool (see `ingest.ray.driver`). `RayOptions` says where and how big. Ray itself is imported
only when a run starts.
"""

from __future__ import annotations

from .driver import RayStallError, run_ray_pipeline
from .options import RayOptions

__all__ = ["RayOptions", "RayStallError", "run_ray_pipeline"]
