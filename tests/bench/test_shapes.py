"""The benchmark shapes (bench/_shapes.py) build the real Qwen2.5-Omni thinker architecture at the published
3B/7B sizes: checked on the meta device (no storage), against `REAL_SHAPES`, its FLOP-count formulas and the
published Qwen2.5 parameter counts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    # bench/ is not a package and holds an ingest.py: load its modules by file, never put it on sys.path.
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


flops = _load("_embed_flops")
shapes = _load("_shapes")

# Qwen2.5 technical report, non-embedding parameters of the text models: 3B 2.77B, 7B 6.53B.
PUBLISHED_NON_EMBEDDING = {"3b": 2.77e9, "7b": 6.53e9}
WHISPER_LARGE_ENCODER = 0.635e9  # Whisper-large-v3's encoder (d_model 1280, 32 layers)


@pytest.fixture(scope="module")
def built():
    return {
        name: shapes.build_thinker(name, torch.device("cpu"), torch.float32, meta=True)
        for name in ("mid", "3b", "7b")
    }


@pytest.mark.parametrize("name", ["3b", "7b"])
def test_real_shapes_are_the_published_configs(built, name):
    parts, shape = built[name], shapes.SHAPES[name]
    assert shape in flops.REAL_SHAPES
    text, audio = parts.model.config.text_config, parts.model.config.audio_config
    assert (text.hidden_size, text.num_hidden_layers, text.num_attention_heads) == (
        shape.hidden,
        shape.layers,
        shape.heads,
    )
    assert (text.num_key_value_heads, text.intermediate_size, text.vocab_size) == (
        shape.kv_heads,
        shape.intermediate,
        shape.vocab,
    )
    assert (audio.d_model, audio.encoder_layers, audio.encoder_attention_heads, audio.encoder_ffn_dim) == (
        1280,
        32,
        20,
        5120,
    )
    assert audio.output_dim == text.hidden_size
    assert text.rope_parameters["mrope_section"] == [16, 24, 24]  # head size 128, as released
    non_embedding = sum(
        p.numel() for n, p in parts.model.model.language_model.named_parameters() if "embed_tokens" not in n
    )
    assert non_embedding == shape.lm_params()
    assert non_embedding == pytest.approx(PUBLISHED_NON_EMBEDDING[name], rel=0.01)
    encoder = sum(p.numel() for p in parts.model.model.audio_tower.parameters())
    assert encoder == shape.encoder_params()
    assert encoder == pytest.approx(WHISPER_LARGE_ENCODER, rel=0.03)


@pytest.mark.parametrize("name", ["mid", "3b", "7b"])
def test_built_on_the_meta_device_with_the_tiny_tokenizer(built, name):
    parts = built[name]
    assert all(p.device.type == "meta" for p in parts.model.parameters())
    assert parts.model.lm_head.weight.shape == (shapes.SHAPES[name].vocab, shapes.SHAPES[name].hidden)
    ids = parts.tokenizer.get_vocab().values()
    assert max(ids) < shapes.SHAPES[name].vocab
    assert "<emb>" in parts.tokenizer.get_vocab()


def test_unknown_shape_names_the_known_ones():
    with pytest.raises(SystemExit, match="tiny, mid, 3b, 7b"):
        shapes.shape_settings("13b")
