"""AurolaEmbedder against the official-style full computation, on a tiny real-architecture thinker."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from aurola_qdrant import AudioTooLongError, AurolaEmbedder, InputError
from aurola_qdrant.prompts import EMB_TOKEN

TOL = 1e-4


def _tone(
    seconds: float, sr: int = 16000, freq: float = 440.0, channels: int = 1, seed: int = 0
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    mono = 0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.shape)
    if channels == 1:
        return mono.astype(np.float32)
    return np.stack([mono * (1 - 0.1 * c) for c in range(channels)], axis=1).astype(np.float32)


def test_text_matches_official_computation(tiny_embedder, reference_embedder):
    texts = ["a dog barks twice", "rain on a tin roof, then thunder — très fort 雨の音", "x", "word " * 60]
    ours = tiny_embedder.embed_text(texts)
    ref = reference_embedder.embed_text(texts)
    assert ours.dtype == np.float32 and ours.shape == (4, tiny_embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)
    assert np.abs(ours - ref).max() <= TOL
    # Different inputs must give clearly different vectors, or parity would prove nothing.
    sims = ours @ ours.T
    assert sims[np.triu_indices(4, 1)].max() < 0.95


@pytest.mark.parametrize("seconds", [0.3, 1.0, 10.0, 30.0, 45.0])
def test_audio_lengths_match_official_computation(tiny_embedder, reference_embedder, seconds):
    wav = _tone(seconds, seed=int(seconds * 10))
    ours = tiny_embedder.embed_audio([(wav, 16000)])
    ref = reference_embedder.embed_waveforms([wav])
    assert np.abs(ours - ref).max() <= TOL


def test_audio_batch_of_mixed_lengths_equals_alone(tiny_embedder, reference_embedder):
    lengths = [0.3, 2.0, 5.5, 1.0, 7.0, 0.8, 3.3, 4.1]
    waves = [_tone(s, freq=200 + 90 * i, seed=i) for i, s in enumerate(lengths)]
    batch = tiny_embedder.embed_audio([(w, 16000) for w in waves])
    alone = np.concatenate([tiny_embedder.embed_audio([(w, 16000)]) for w in waves])
    ref = reference_embedder.embed_waveforms(waves)
    assert np.abs(batch - alone).max() <= 1e-5
    assert np.abs(batch - ref).max() <= TOL
    assert (batch @ batch.T)[np.triu_indices(8, 1)].max() < 0.999


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_sample_rates_and_channels(tiny_embedder, reference_embedder, sr, channels):
    from aurola_qdrant.audio import prepare_waveform

    wav = _tone(1.2, sr=sr, channels=channels, seed=channels)
    ours = tiny_embedder.embed_audio([(wav, sr)])
    mono16k = prepare_waveform(wav, sr)
    assert mono16k.shape[0] == round(1.2 * 16000)
    ref = reference_embedder.embed_waveforms([mono16k])
    assert np.abs(ours - ref).max() <= TOL


def test_text_batches_are_deterministic(tiny_embedder):
    texts = [f"sound number {i} " + "long " * (i * 7) for i in range(11)]
    together = tiny_embedder.embed_text(texts)
    alone = np.concatenate([tiny_embedder.embed_text([t]) for t in texts])
    shuffled = tiny_embedder.embed_text(texts[::-1])[::-1]
    assert np.abs(together - alone).max() <= 1e-5
    assert np.abs(together - shuffled).max() <= 1e-5


def test_caption_containing_emb_does_not_move_read_position(tiny_embedder, reference_embedder):
    caption = f"a bell rings {EMB_TOKEN} twice"
    prompt = tiny_embedder.text_prompt(caption)
    ids = list(prompt.input_ids)
    emb_id = tiny_embedder.inputs.emb_token_id
    assert ids.count(emb_id) == 1  # the caption's; the assistant's <emb> is cut off
    # The read position is the end of "<|im_start|>assistant\n", whatever the caption holds.
    tail = tiny_embedder.thinker.tokenizer("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
    assert ids[-len(tail) :] == tail
    plain = tiny_embedder.embed_text(["a bell rings twice"])
    assert np.abs(tiny_embedder.embed_text([caption]) - plain).max() > 1e-3


def test_empty_and_reserved_text_rejected(tiny_embedder):
    for bad in ["", "   ", "\n"]:
        with pytest.raises(InputError, match="empty"):
            tiny_embedder.embed_text([bad])
    with pytest.raises(InputError, match="reserved"):
        tiny_embedder.embed_text(["hello <|AUDIO|>"])


def test_audio_too_long_refused_before_running_the_model(tiny_embedder):
    wav = np.zeros(300 * 16000 + 1, dtype=np.float32)
    with pytest.raises(AudioTooLongError, match="iter_windows"):
        tiny_embedder.embed_audio([(wav, 16000)])


def test_audio_too_short_refused(tiny_embedder):
    with pytest.raises(InputError, match="too short"):
        tiny_embedder.embed_audio([(np.ones(200, dtype=np.float32) * 0.1, 16000)])


def test_exactly_300_seconds_accepted_shape(tiny_embedder):
    # The extractor's maximum itself is accepted (check the prompt only; the forward is covered above).
    wav = np.zeros(300 * 16000, dtype=np.float32)
    prompt = tiny_embedder.audio_prompt(wav)
    assert prompt.input_ids.count(tiny_embedder.inputs.audio_token_id) == 7500


def test_emb_token_added_only_when_missing(tmp_path):
    from aurola_qdrant.testing import build_tiny_thinker

    with_emb = build_tiny_thinker(tmp_path / "with", add_emb_token=True)
    without = build_tiny_thinker(tmp_path / "without", add_emb_token=False)
    a = AurolaEmbedder.from_pretrained(with_emb)
    b = AurolaEmbedder.from_pretrained(without)
    tok_a, tok_b = a.thinker.tokenizer, b.thinker.tokenizer
    assert EMB_TOKEN in tok_b.get_vocab()
    assert len(tok_a) == len(tok_b)  # the loader added exactly the one missing token
    emb_rows = a.thinker.model.model.get_input_embeddings().weight.shape[0]
    assert emb_rows == len(tok_a)  # no resize when the token already existed
    assert b.thinker.model.model.get_input_embeddings().weight.shape[0] >= len(tok_b)


def test_lm_head_and_vision_tower_are_not_kept(tiny_embedder):
    assert tiny_embedder.thinker.model.lm_head is None
    assert tiny_embedder.thinker.model.model.visual is None


def test_offline_local_folder(tiny_thinker, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = AurolaEmbedder.from_pretrained(str(tiny_thinker))
    assert emb.model_id == tiny_thinker.name
    assert emb.revision.startswith("sha256:")
    assert emb.embed_text("hello").shape == (1, emb.dim)


def test_import_is_cheap():
    code = (
        "import sys, aurola_qdrant; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
