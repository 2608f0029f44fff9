"""AurolaReranker against the official-style computation (full thinker + generate), on a tiny thinker."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from aurola_qdrant import AudioDecodeError, AudioTooLongError, InputError
from aurola_qdrant.rerank import RerankerConfig, config_for, expand_audio_slots, shared_prefix_length
from aurola_qdrant.reranker import AurolaReranker

TOL = 1e-4  # vs the official-style computation
SAME = 1e-5  # between our own computation paths

QUERY = "a dog barks twice"
CAPTIONS = [
    "rain on a tin roof",
    "x",
    "loud engine noise with people talking in the background " * 3,
    ":colon first",
    " leading space",
    "Candidate: a caption that repeats the marker",
    "très fort 雨の音",
    "a dog barks twice",
]


def _tone(seconds: float, freq: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)


WAVES = [_tone(s, 150 + 120 * i, i) for i, s in enumerate([1.0, 3.2, 0.4, 6.0, 2.0])]


@pytest.fixture(scope="module")
def reranker(tiny_thinker):
    return AurolaReranker.from_pretrained(tiny_thinker, device="cpu")


@pytest.fixture(scope="module")
def small_batches(tiny_thinker):
    return AurolaReranker.from_pretrained(tiny_thinker, device="cpu", batch_size=2)


@pytest.fixture(scope="module")
def reference(tiny_thinker):
    from aurola_qdrant.testing.reference_rerank import ReferenceReranker

    return ReferenceReranker.from_pretrained(str(tiny_thinker))


def _discriminates(p: np.ndarray) -> None:
    assert p.dtype == np.float32
    assert ((p >= 0) & (p <= 1)).all()
    assert p.max() - p.min() > 0.05, f"the tiny model does not discriminate: {p}"


@pytest.mark.parametrize("share", [True, False])
def test_text_to_audio_matches_official_computation(reranker, reference, share):
    ours = reranker.score_text_to_audio_waveforms(QUERY, WAVES, share_prefix=share)
    assert reranker.last_stats.shared_prefix is share
    ref = reference.score_text_to_audio(QUERY, WAVES)
    assert np.abs(ours - ref).max() <= TOL
    _discriminates(ours)


@pytest.mark.parametrize("share", [True, False])
def test_audio_to_text_matches_official_computation(reranker, reference, share):
    ours = reranker.score_audio_waveform_to_text(WAVES[3], CAPTIONS, share_prefix=share)
    assert reranker.last_stats.shared_prefix is share
    ref = reference.score_audio_to_text(WAVES[3], CAPTIONS)
    assert np.abs(ours - ref).max() <= TOL
    _discriminates(ours)


def test_shared_prefix_equals_full_computation_in_any_order_and_batching(reranker, small_batches):
    full = reranker.score_audio_waveform_to_text(WAVES[1], CAPTIONS, share_prefix=False)
    shared = reranker.score_audio_waveform_to_text(WAVES[1], CAPTIONS)
    perm = np.random.default_rng(1).permutation(len(CAPTIONS))
    permuted = small_batches.score_audio_waveform_to_text(WAVES[1], [CAPTIONS[i] for i in perm])
    assert small_batches.last_stats.forward_passes == 1 + 4  # prefix + ceil(8 / 2) candidate batches
    assert np.abs(shared - full).max() <= SAME
    assert np.abs(permuted - shared[perm]).max() <= SAME

    full = reranker.score_text_to_audio_waveforms(QUERY, WAVES, share_prefix=False)
    shared = reranker.score_text_to_audio_waveforms(QUERY, WAVES)
    perm = np.array([3, 0, 4, 2, 1])
    permuted = small_batches.score_text_to_audio_waveforms(QUERY, [WAVES[i] for i in perm])
    assert np.abs(shared - full).max() <= SAME
    assert np.abs(permuted - shared[perm]).max() <= SAME
    # One candidate alone gives the same score as inside a batch of mixed lengths.
    alone = reranker.score_text_to_audio_waveforms(QUERY, [WAVES[3]])
    assert abs(alone[0] - shared[3]) <= SAME


def test_prefix_is_computed_once_and_suffixes_are_short(reranker):
    reranker.score_audio_waveform_to_text(WAVES[3], CAPTIONS[:4])
    stats = reranker.last_stats
    assert stats.shared_prefix and stats.forward_passes == 2
    # The query audio (6 s ≈ 150 tokens) lives in the prefix; candidates carry only their caption + the tail.
    assert stats.prefix_tokens > 150 and stats.candidate_tokens < stats.prefix_tokens


def test_boundary_mismatch_falls_back_exactly(reranker, monkeypatch):
    """If the query-only tokenisation disagrees with the full prompts near "Candidate:", only the agreeing
    part is shared, and with nothing shared the whole prompts run; scores stay those of the full path."""
    full = reranker.score_audio_waveform_to_text(WAVES[0], CAPTIONS, share_prefix=False)
    real = reranker._prefix
    reranker.score_audio_waveform_to_text(WAVES[0], CAPTIONS)
    n_real = reranker.last_stats.prefix_tokens

    monkeypatch.setattr(reranker, "_prefix", lambda *a: real(*a)[:-3] + [reranker.yes_token_id] * 3)
    got = reranker.score_audio_waveform_to_text(WAVES[0], CAPTIONS)
    assert reranker.last_stats.prefix_tokens == n_real - 3
    assert np.abs(got - full).max() <= SAME

    monkeypatch.setattr(reranker, "_prefix", lambda *a: [])
    got = reranker.score_audio_waveform_to_text(WAVES[0], CAPTIONS)
    assert not reranker.last_stats.shared_prefix
    assert np.abs(got - full).max() <= SAME


def test_prefix_planning_helpers():
    prefix = [1, 2, 3, 4]
    assert shared_prefix_length(prefix, [[1, 2, 3, 4, 9], [1, 2, 3, 4, 8, 8]]) == 4
    assert shared_prefix_length(prefix, [[1, 2, 3, 4, 9], [1, 2, 3, 7, 8]]) == 3  # merge across the boundary
    assert shared_prefix_length(prefix, [[1, 2, 3, 4]]) == 3  # keep one id to read the score from
    assert shared_prefix_length(prefix, [[5, 2, 3, 4, 9]]) == 0
    assert shared_prefix_length(prefix, []) == 0
    assert shared_prefix_length([1, 2], [[1, 2, 7, 7, 7], [1, 2, 7, 7, 7]]) == 2  # capped by the query part
    assert expand_audio_slots([1, 99, 2], 99, [100]) == [1] + [99] * 25 + [2]
    with pytest.raises(ValueError, match="1 audio slots but 0 clips"):
        expand_audio_slots([1, 99, 2], 99, [])


def test_paths_and_segments_equal_waveforms(reranker, tmp_path):
    import soundfile as sf

    paths = []
    for i, w in enumerate(WAVES[:3]):
        paths.append(tmp_path / f"c{i}.wav")
        sf.write(paths[-1], w, 16000, subtype="FLOAT")
    by_path = reranker.score_text_to_audio(QUERY, paths)
    by_array = reranker.score_text_to_audio(QUERY, [(w, 16000) for w in WAVES[:3]])
    assert np.abs(by_path - by_array).max() <= SAME
    a2t = reranker.score_audio_to_text(paths[1], CAPTIONS[:3])
    assert np.abs(a2t - reranker.score_audio_waveform_to_text(WAVES[1], CAPTIONS[:3])).max() <= SAME


def test_errors(reranker, tmp_path):
    with pytest.raises(InputError, match="query text is empty"):
        reranker.score_text_to_audio_waveforms("  ", WAVES[:1])
    with pytest.raises(InputError, match="candidate caption 1 is empty"):
        reranker.score_audio_waveform_to_text(WAVES[0], ["fine", ""])
    with pytest.raises(AudioTooLongError):
        reranker.score_text_to_audio_waveforms(QUERY, [np.zeros(16000 * 301, np.float32)])
    with pytest.raises(InputError, match="too short"):
        reranker.score_audio_waveform_to_text(np.zeros(100, np.float32), ["a caption"])
    with pytest.raises(AudioDecodeError) as info:
        reranker.load_candidate(tmp_path / "missing.wav")
    assert info.value.reason == "missing"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(AudioDecodeError):
        reranker.score_text_to_audio(QUERY, [(WAVES[0], 16000), bad])
    assert reranker.score_text_to_audio_waveforms(QUERY, []).shape == (0,)
    assert reranker.score_audio_waveform_to_text(WAVES[0], []).shape == (0,)


def test_only_two_head_rows_are_kept(reranker):
    model = reranker.thinker.model
    assert model.lm_head is None
    assert tuple(reranker.head.weight.shape) == (2, model.config.text_config.hidden_size)
    assert reranker.yes_token_id != reranker.no_token_id
    assert reranker.yes_token_id == reranker.thinker.tokenizer.encode("Yes", add_special_tokens=False)[0]


def test_default_alpha(tiny_thinker, tmp_path):
    assert config_for("aurola-rerank-7b").alpha("t2a") == 0.9
    assert config_for("/nonexistent/x", "Jazzcharles/AuroLA-rerank-3B").alpha("a2t") == 0.9
    assert config_for("someone/other-reranker").alpha("t2a") == 1.0
    folder = tmp_path / "rr"
    shutil.copytree(tiny_thinker, folder)
    assert config_for(folder).alpha("a2t") == 1.0
    RerankerConfig(alpha_t2a=0.4, alpha_a2t=2.5).save(folder)
    assert json.loads((folder / "aurola_reranker.json").read_text())["alpha"] == {"t2a": 0.4, "a2t": 2.5}
    rr = AurolaReranker.from_pretrained(folder, device="cpu")
    assert (rr.default_alpha("t2a"), rr.default_alpha("a2t")) == (0.4, 2.5)
    with pytest.raises(ValueError, match="direction='text'"):
        rr.default_alpha("text")
    (folder / "aurola_reranker.json").write_text('{"alpha": 3}')
    with pytest.raises(ValueError, match=r"aurola_reranker\.json"):
        RerankerConfig.load(folder)
    with pytest.raises(ValueError, match="alpha_t2a=-1"):
        RerankerConfig(alpha_t2a=-1)
    with pytest.raises(ValueError, match="alpha_a2t=nan"):
        RerankerConfig(alpha_a2t=float("nan"))
