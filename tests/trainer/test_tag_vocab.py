"""Tag vocabulary builder: deterministic spherical k-means, every tag assigned, clamping, tiny embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trainer.manifest import ManifestItem, load_tag_vocabulary, write_tag_vocabulary
from trainer.tag_vocab import build_tag_vocabulary, collect_tags, spherical_kmeans


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.eye(8)[:3] * 10.0  # three orthogonal directions
    truth = np.repeat(np.arange(3), 20)
    return centres[truth] + rng.normal(scale=0.5, size=(60, 8)), truth


def test_kmeans_recovers_separated_directions_deterministically() -> None:
    x, truth = _blobs()
    labels, centres = spherical_kmeans(x, 3, seed=1)
    assert centres.shape == (3, 8)
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 1.0)
    # same partition as the truth (cluster numbering may differ)
    assert len({(int(a), int(b)) for a, b in zip(truth, labels, strict=True)}) == 3
    again, _ = spherical_kmeans(x, 3, seed=1)
    assert again.tolist() == labels.tolist()


def test_kmeans_scale_invariant_and_identical_rows_share_a_cluster() -> None:
    x, _ = _blobs(2)
    x = np.concatenate([x, x[:5], 3.0 * x[5:10]])  # duplicates and rescaled copies (same direction)
    labels, _ = spherical_kmeans(x, 6, seed=0)
    assert labels[60:65].tolist() == labels[:5].tolist()
    assert labels[65:70].tolist() == labels[5:10].tolist()


def test_kmeans_clamps_k_to_distinct_rows() -> None:
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 2.0], [1.0, 1.0]])
    labels, centres = spherical_kmeans(x, 10, seed=0)
    assert centres.shape[0] == 3 and sorted(set(labels.tolist())) == [0, 1, 2]
    assert labels[0] == labels[1] and labels[2] == labels[3] and len({labels[0], labels[2], labels[4]}) == 3
    with pytest.raises(ValueError, match="k="):
        spherical_kmeans(x, 0)
    with pytest.raises(ValueError, match="all-zero"):
        spherical_kmeans(np.zeros((2, 2)), 1)


def _items() -> list[ManifestItem]:
    tags = [("dog", "Barking"), ("Dog ", "siren"), ("rain", "thunder"), ("siren", "alarm"), ("rain",)]
    return [ManifestItem(audio=Path(f"/x/{i}.wav"), tags=t) for i, t in enumerate(tags)]


def test_collect_tags_normalises_and_dedupes() -> None:
    assert collect_tags(_items()) == ["alarm", "barking", "dog", "rain", "siren", "thunder"]


def test_build_vocabulary_with_tiny_embedder(tiny_embedder, tmp_path: Path) -> None:
    vocab = build_tag_vocabulary(_items(), tiny_embedder, 3, seed=0)
    assert sorted(vocab) == collect_tags(_items())  # every tag assigned, each once
    assert sorted(set(vocab.values())) == list(range(len(set(vocab.values()))))  # ids 0..K-1
    assert 1 <= len(set(vocab.values())) <= 3
    assert vocab["alarm"] == 0  # numbered by the alphabetically first tag
    assert build_tag_vocabulary(_items(), tiny_embedder, 3, seed=0) == vocab
    clamped = build_tag_vocabulary(_items(), tiny_embedder, 50, seed=0)
    assert sorted(set(clamped.values())) == list(range(6))  # 6 distinct tags -> at most 6 clusters
    path = write_tag_vocabulary(tmp_path / "vocab.json", vocab)
    assert load_tag_vocabulary(path) == vocab


def test_build_vocabulary_refuses_untagged_items(tiny_embedder) -> None:
    with pytest.raises(ValueError, match="no tags"):
        build_tag_vocabulary([ManifestItem(audio=Path("/x.wav"), captions=("a",))], tiny_embedder, 2)
