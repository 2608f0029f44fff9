"""Build a tag vocabulary (tag -> cluster id) for Hybrid-NCE's extra positives by clustering tag embeddings.

AuroLA maps every tag to a tag cluster built by clustering tags (METHOD.md, Hybrid-NCE), but the released
vocabulary is NOT public: this module rebuilds one from a manifest. Each distinct tag (lower-cased,
whitespace collapsed, as `trainer.manifest.load_tag_vocabulary` normalises them) is embedded with the
embedder's text prompt, and the unit vectors are grouped by a deterministic spherical k-means (cosine
similarity, k-means++ initialisation from a seed, numpy only). Clusters are numbered in order of their first
tag alphabetically, so the same tags, embedder and seed always give the same file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

import numpy as np

from trainer.manifest import ManifestItem

__all__ = ["build_tag_vocabulary", "collect_tags", "spherical_kmeans"]

logger = logging.getLogger(__name__)


class _TextEmbedder(Protocol):
    def embed_text(self, texts: list[str]) -> np.ndarray: ...


def collect_tags(items: Iterable[ManifestItem]) -> list[str]:
    """Every distinct tag of ``items``, normalised (lower case, single spaces), sorted."""
    return sorted({" ".join(tag.lower().split()) for item in items for tag in item.tags} - {""})


def _plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding on unit rows: next centre drawn with probability ~ squared distance (2 - 2 cos).

    Stops early (fewer centres) if every row already coincides with a centre."""
    centres = [int(rng.integers(x.shape[0]))]
    d2 = np.maximum(2.0 - 2.0 * (x @ x[centres[0]]), 0.0)  # (n,)
    while len(centres) < k and d2.sum() > 0:
        nxt = int(rng.choice(x.shape[0], p=d2 / d2.sum()))
        centres.append(nxt)
        d2 = np.minimum(d2, np.maximum(2.0 - 2.0 * (x @ x[nxt]), 0.0))
    return x[centres].copy()  # (k', d)


def spherical_kmeans(
    x: np.ndarray, k: int, *, seed: int = 0, max_iter: int = 100, tol: float = 1e-7
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the rows of ``x`` (n, d) by cosine similarity into ``min(k, distinct rows)`` clusters.

    Rows are L2-normalised; each iteration assigns every row to its most similar centre and sets each
    centre to the normalised mean of its rows; an emptied cluster is re-seeded with the row farthest from
    its centre. Stops when the mean similarity improves by less than ``tol``. Identical rows always land
    in the same cluster. Returns (labels (n,) int64 in [0, k'), centres (k', d) float64), deterministic
    for a given seed. Raises ValueError for an empty x, k < 1, or non-finite / zero rows.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty (n, d) matrix, got shape {x.shape}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r}; use a number of clusters >= 1")
    norms = np.linalg.norm(x, axis=1, keepdims=True)  # (n, 1)
    if not np.isfinite(x).all() or (norms == 0).any():
        raise ValueError("x has non-finite or all-zero rows; cosine clustering needs nonzero finite vectors")
    x = x / norms  # (n, d)
    k = min(k, np.unique(x, axis=0).shape[0])
    rng = np.random.default_rng(seed)
    centres = _plus_plus(x, k, rng)  # (k, d)
    k = centres.shape[0]
    previous = -np.inf
    for _ in range(max_iter):
        sim = x @ centres.T  # (n, k)
        labels = sim.argmax(axis=1)  # (n,)
        for c in np.flatnonzero(np.bincount(labels, minlength=k) == 0):
            far = int(np.argmin(sim[np.arange(x.shape[0]), labels]))  # worst-served row moves to c
            labels[far] = c
            sim[far, c] = np.inf
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, x)  # (k, d)
        centres = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        score = float(np.mean(np.sum(x * centres[labels], axis=1)))
        if score - previous < tol:
            break
        previous = score
    labels = (x @ centres.T).argmax(axis=1)  # final assignment against the final centres
    used = np.unique(labels)  # a centre can lose all rows in the final pass; drop and renumber
    return np.searchsorted(used, labels).astype(np.int64), centres[used]


def build_tag_vocabulary(
    items: Iterable[ManifestItem], embedder: _TextEmbedder, n_clusters: int, *, seed: int = 0
) -> dict[str, int]:
    """Tag -> cluster id for every tag in ``items`` (see the module docstring).

    ``n_clusters`` is clamped to the number of distinct tags (and of distinct tag embeddings). Ids run
    0..K-1, numbered by each cluster's alphabetically first tag. Write the result with
    `trainer.manifest.write_tag_vocabulary`. Raises ValueError if the items carry no tags or
    ``n_clusters`` < 1.
    """
    tags = collect_tags(items)
    if not tags:
        raise ValueError("the manifest has no tags: a tag vocabulary needs items with a 'tags' list")
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or n_clusters < 1:
        raise ValueError(f"n_clusters={n_clusters!r}; use a number of clusters >= 1")
    if n_clusters > len(tags):
        logger.warning("n_clusters=%d > %d distinct tags: using %d", n_clusters, len(tags), len(tags))
    vectors = embedder.embed_text(tags)  # (n_tags, dim)
    labels, _ = spherical_kmeans(vectors, min(n_clusters, len(tags)), seed=seed)
    first_seen: dict[int, int] = {}
    for label in labels:  # tags are sorted, so this numbers clusters by their first tag
        first_seen.setdefault(int(label), len(first_seen))
    vocab = {tag: first_seen[int(label)] for tag, label in zip(tags, labels, strict=True)}
    logger.info("tag vocabulary: %d tags in %d clusters", len(vocab), len(first_seen))
    return vocab
