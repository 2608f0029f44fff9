"""Session-wide fixtures: tiny real-architecture checkpoints, built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_thinker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded tiny Qwen2.5-Omni thinker checkpoint folder (real layout, includes ``<emb>``)."""
    from aurola_qdrant.testing import build_tiny_thinker

    return build_tiny_thinker(tmp_path_factory.mktemp("tiny") / "thinker", seed=0)


@pytest.fixture(scope="session")
def tiny_embedder(tiny_thinker: Path):
    from aurola_qdrant import AurolaEmbedder

    return AurolaEmbedder.from_pretrained(tiny_thinker, device="cpu")


@pytest.fixture(scope="session")
def reference_embedder(tiny_thinker: Path):
    from aurola_qdrant.testing.reference import ReferenceEmbedder

    return ReferenceEmbedder.from_pretrained(str(tiny_thinker))
