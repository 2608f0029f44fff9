"""Where `AurolaReranker` used to live: it is defined with its parts in `aurola_qdrant.rerank`."""

from .rerank.reranker import AurolaReranker, RerankStats

__all__ = ["AurolaReranker", "RerankStats"]
