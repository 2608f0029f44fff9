"""Prometheus metrics of one service instance (its own registry, so several apps can live in one process).

aurola_requests_total{endpoint,status}   requests answered
aurola_request_seconds{endpoint}         latency of each endpoint
aurola_stage_seconds{stage}              queue / embed / retrieve / rerank time per request
aurola_batch_size{kind}                  items per micro-batched model call (text, audio)
aurola_queue_depth                       items waiting for the model
aurola_errors_total{type}                error answers by type (queue_full, invalid_input, ...)
"""

from __future__ import annotations

from typing import Any

from .deps import need

__all__ = ["Metrics"]

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH = (1, 2, 4, 8, 16, 32, 64, 128)


class Metrics:
    """Counters, histograms and the queue gauge; `render` gives the text exposition format."""

    def __init__(self) -> None:
        prom: Any = need("prometheus_client")
        self._prom = prom
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.requests = prom.Counter(
            "aurola_requests", "Requests answered.", ["endpoint", "status"], registry=r
        )
        self.latency = prom.Histogram(
            "aurola_request_seconds", "Request latency.", ["endpoint"], buckets=_LATENCY, registry=r
        )
        self.stages = prom.Histogram(
            "aurola_stage_seconds", "Time per request stage.", ["stage"], buckets=_LATENCY, registry=r
        )
        self.batch = prom.Histogram(
            "aurola_batch_size", "Items per model call.", ["kind"], buckets=_BATCH, registry=r
        )
        self.queue = prom.Gauge("aurola_queue_depth", "Items waiting for the model.", registry=r)
        self.errors = prom.Counter("aurola_errors", "Error answers by type.", ["type"], registry=r)

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def observe_stages(self, stages: dict[str, float]) -> None:
        for name, seconds in stages.items():
            if name != "total":
                self.stages.labels(name).observe(seconds)

    def observe_batch(self, kind: str, size: int) -> None:
        self.batch.labels(kind).observe(size)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return self._prom.generate_latest(self.registry), self._prom.CONTENT_TYPE_LATEST
