"""Fixtures for the training tests: a small synthetic dataset, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """32 training and 8 validation synthetic clips (with tag vocabulary)."""
    from trainer.synthetic import generate_splits

    out = tmp_path_factory.mktemp("synth_small")
    splits = generate_splits(out, n_train=32, n_val=8, n_test=0, seed=3)
    return {**splits, "vocab": out / "tag_vocabulary.json"}
