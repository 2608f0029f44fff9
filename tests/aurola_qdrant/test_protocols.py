"""The model contract: the real classes and the fakes satisfy the protocols; the embedder's batch steps
give `embed_audio`'s vectors; the weight-free prompt builders give the models' own prompts."""

from __future__ import annotations

import numpy as np
import pytest

from aurola_qdrant import BatchEmbedder, Embedder, Reranker
from aurola_qdrant.model import EmbedPrompts, answer_ids, rerank_prompt
from aurola_qdrant.model.loading import load_thinker
from aurola_qdrant.protocols import check_reranker
from aurola_qdrant.testing import FakeEmbedder, FakeReranker


@pytest.fixture(scope="module")
def tiny_reranker(tiny_thinker):
    from aurola_qdrant import AurolaReranker

    return AurolaReranker.from_pretrained(tiny_thinker, device="cpu")


def _waves() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.uniform(-0.3, 0.3, n).astype(np.float32) for n in (16000, 9000, 23000)]


def test_models_and_fakes_satisfy_the_protocols(tiny_embedder, tiny_reranker) -> None:
    for emb in (tiny_embedder, FakeEmbedder()):
        assert isinstance(emb, Embedder) and isinstance(emb, BatchEmbedder)
    for judge in (tiny_reranker, FakeReranker()):
        assert isinstance(judge, Reranker)
        check_reranker(judge)
    assert not isinstance(tiny_reranker, Embedder)
    with pytest.raises(TypeError, match="score_text_to_audio_waveforms"):
        check_reranker(object())
    check_reranker(None)


def test_batch_steps_equal_embed_audio(tiny_embedder) -> None:
    waves = _waves()
    prompts = [tiny_embedder.audio_prompt(w) for w in waves]
    stepwise = tiny_embedder.embed_collated(tiny_embedder.collate(prompts))
    assert stepwise.dtype == np.float32 and stepwise.shape == (3, tiny_embedder.dim)
    assert np.abs(stepwise - tiny_embedder.embed_audio([(w, 16000) for w in waves])).max() < 1e-5


def test_weight_free_prompts_are_the_models_prompts(tiny_thinker, tiny_embedder, tiny_reranker) -> None:
    loaded = load_thinker(tiny_thinker, device="cpu")
    prompts = EmbedPrompts.from_tokenizer(loaded.tokenizer, loaded.feature_extractor)
    wav = _waves()[0]
    assert prompts.text_prompt("a bell").input_ids == tiny_embedder.text_prompt("a bell").input_ids
    assert prompts.audio_prompt(wav).input_ids == tiny_embedder.audio_prompt(wav).input_ids
    assert answer_ids(loaded.tokenizer) == (tiny_reranker.yes_token_id, tiny_reranker.no_token_id)
    t2a = rerank_prompt(prompts.inputs, "t2a", "a bell", wav)
    assert t2a.input_ids == tiny_reranker.t2a_prompt("a bell", wav).input_ids
    assert rerank_prompt(prompts.inputs, "a2t", "a bell", wav).input_ids != t2a.input_ids


def test_featurized_prompts_give_the_same_features_and_vectors(tiny_embedder) -> None:
    from aurola_qdrant.errors import InputError

    waves = _waves()
    plain = [tiny_embedder.audio_prompt(w) for w in waves]
    ready = [tiny_embedder.preparer().audio_prompt(w) for w in waves]
    assert [p.input_ids for p in ready] == [p.input_ids for p in plain]
    a, b = tiny_embedder.collate(plain), tiny_embedder.collate(ready)
    assert (a["feature_attention_mask"].sum(1) == b["feature_attention_mask"].sum(1)).all()
    for row in range(len(waves)):  # valid frames bit-identical; the padding differs and is never read
        a_valid = a["input_features"][row][:, a["feature_attention_mask"][row].bool()]
        b_valid = b["input_features"][row][:, b["feature_attention_mask"][row].bool()]
        assert a_valid.shape == b_valid.shape and bool((a_valid == b_valid).all())
    assert np.abs(tiny_embedder.embed_collated(a) - tiny_embedder.embed_collated(b)).max() < 1e-6
    with pytest.raises(InputError, match="mixes"):
        tiny_embedder.collate([plain[0], ready[1]])
