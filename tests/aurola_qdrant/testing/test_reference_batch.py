"""The batched official-style path (used by bench/embed.py) gives the per-prompt reference vectors."""

from __future__ import annotations

import numpy as np


def _tone(seconds: float, freq: float) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_batched_text_equals_one_by_one(reference_embedder):
    texts = ["a dog barks", "rain falls steadily on a tin roof while a car passes by", "wind"]
    batched = reference_embedder.embed_text_batch(texts)
    single = reference_embedder.embed_text(texts)
    assert batched.shape == single.shape
    np.testing.assert_allclose(batched, single, atol=1e-5)
    assert np.abs(batched[0] - batched[1]).max() > 1e-3  # distinct prompts give distinct vectors


def test_batched_audio_of_mixed_lengths_equals_one_by_one(reference_embedder):
    waves = [_tone(1.3, 440.0), _tone(3.0, 1000.0)]
    batched = reference_embedder.embed_waveforms_batch(waves)
    single = reference_embedder.embed_waveforms(waves)
    np.testing.assert_allclose(batched, single, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert np.abs(batched[0] - batched[1]).max() > 1e-3


def test_batched_matches_embedder(tiny_embedder, reference_embedder):
    texts = ["a bird sings", "engine idling then a long horn blast"]
    np.testing.assert_allclose(
        reference_embedder.embed_text_batch(texts), tiny_embedder.embed_text(texts), atol=1e-5
    )
