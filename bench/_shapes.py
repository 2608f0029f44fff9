"""The model shapes of the benchmarks (``--shape tiny|mid|3b|7b``) and random-weight thinkers built at them.

- ``tiny``: the 512-wide, 4-layer thinker with the real 152,064 vocabulary the benchmarks have always used;
  written to disk by `build_tiny_thinker` and loaded by `AurolaEmbedder.from_pretrained` (the default).
- ``mid``: a shape that runs on a 2-core CPU in minutes: the text model of Qwen2.5-0.5B (published config.json
  of Qwen/Qwen2.5-0.5B: hidden 896, intermediate 4864, 24 layers, 14 heads, 2 KV heads, vocab 151,936; head
  size 64) with a Whisper-small-sized audio encoder (d_model 768, 12 layers, 12 heads, FFN 3072) projecting
  to 896. The LM head is untied (as in the tiny and 3B/7B shapes), so the baseline pays its full cost.
- ``3b`` / ``7b``: the Qwen2.5-Omni-3B / -7B thinkers (`REAL_SHAPES`, which cites the published configs).

Shapes other than ``tiny`` are built in memory (`build_thinker`): the real architecture,
`Qwen2_5OmniThinkerForConditionalGeneration`, constructed directly on the target device in the target dtype
(bf16 on CUDA, fp32 on CPU), so a 7B thinker never exists in fp32 on the host, with transformers' own random
initialisation (normal, std 0.02), seeded. Random weights cost exactly the compute of the released ones;
writing 7B random weights to disk to read them back would only measure the disk. The tokenizer, chat
template and feature extractor are the tiny checkpoints' (`aurola_qdrant.testing`): a small Qwen2-format BPE,
so every token id is far below the vocabulary size, and prompts are a few tokens shorter or longer than with
the released tokenizer. The vision tower is the tiny checkpoints' minimal one (one block, width 32): audio
and text embedding never run it, and `load_thinker` drops it (so does `embedder_from`); parameter counts
here exclude it.

The embedder, the re-ranker and the official-path reference are then built from that one in-memory model with
the same steps `load_thinker` takes after reading the files (vision tower dropped, ``<emb>`` present, left
padding, eval mode), so every benchmark runs our real inference code.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from _embed_flops import REAL_SHAPES, Shape

__all__ = [
    "SHAPES",
    "ThinkerParts",
    "add_model_args",
    "build_thinker",
    "embedder_from",
    "reference_from",
    "reranker_from",
    "resolve_device",
    "shape_settings",
]

TINY_SHAPE = Shape("tiny", 512, 2816, 4, 8, 2, 152064, 384, 4, 1536, 6)
MID_SHAPE = Shape("mid", 896, 4864, 24, 14, 2, 151936, 768, 12, 3072, 12)
SHAPES: dict[str, Shape] = {"tiny": TINY_SHAPE, "mid": MID_SHAPE, "3b": REAL_SHAPES[0], "7b": REAL_SHAPES[1]}


def shape_settings(name: str) -> dict[str, int]:
    """`build_tiny_thinker` / `TinyThinkerConfig` keyword arguments of a shape (sizes only)."""
    try:
        s = SHAPES[name]
    except KeyError:
        raise SystemExit(f"unknown shape {name!r}; known: {', '.join(SHAPES)}") from None
    return dict(
        hidden_size=s.hidden,
        intermediate_size=s.intermediate,
        num_hidden_layers=s.layers,
        num_attention_heads=s.heads,
        num_key_value_heads=s.kv_heads,
        audio_d_model=s.audio_d,
        audio_layers=s.audio_layers,
        audio_heads=s.audio_heads,
        audio_ffn_dim=s.audio_ffn,
        vocab_size=s.vocab,
    )


@dataclass
class ThinkerParts:
    """One in-memory thinker (LM head included) with its tokenizer and feature extractor."""

    shape: Shape
    model: Any
    tokenizer: Any
    feature_extractor: Any
    device: Any
    dtype: Any


def resolve_device(device: str | None, dtype: str | None) -> tuple[Any, Any]:
    """(torch.device, torch.dtype): CUDA when available unless told; bf16 on CUDA, fp32 on CPU unless told."""
    from aurola_qdrant.model.loading import pick_device, pick_dtype

    dev = pick_device(device)
    return dev, pick_dtype(dev, dtype)


def build_thinker(name: str, device: Any, dtype: Any, *, seed: int = 0, meta: bool = False) -> ThinkerParts:
    """A seeded random thinker at shape ``name``, built on ``device`` in ``dtype`` (``meta``: no storage at
    all, for counting parameters). It has its LM head and a minimal vision tower, and is in eval mode."""
    import torch
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    from aurola_qdrant.testing.checkpoint import (
        TinyThinkerConfig,
        qwen_omni_feature_extractor,
        thinker_config,
        thinker_tokenizer,
    )

    settings = TinyThinkerConfig(**shape_settings(name), seed=seed)
    tok = thinker_tokenizer(settings)
    cfg = thinker_config(settings, tok)
    if cfg.text_config.vocab_size != SHAPES[name].vocab or len(tok) > SHAPES[name].vocab:
        raise RuntimeError(f"vocabulary {cfg.text_config.vocab_size} does not fit shape {name}")
    torch.manual_seed(seed)
    with torch.device("meta" if meta else device):
        model = Qwen2_5OmniThinkerForConditionalGeneration._from_config(
            cfg, dtype=dtype, attn_implementation="sdpa"
        )
    return ThinkerParts(SHAPES[name], model.eval(), tok, qwen_omni_feature_extractor(), device, dtype)


def _loaded(parts: ThinkerParts, keep_lm_head: bool) -> Any:
    """What `load_thinker` returns for these parts; its tokenizer is a copy (the reference keeps its own)."""
    from aurola_qdrant.model import LoadedThinker

    model = parts.model
    model.model.visual = None  # as load_thinker: never used for audio or text
    if not keep_lm_head:
        model.lm_head = None
    tok = copy.deepcopy(parts.tokenizer)
    tok.padding_side = "left"
    name = f"random-{parts.shape.name.lower()}"
    return LoadedThinker(
        model=model,
        tokenizer=tok,
        feature_extractor=copy.deepcopy(parts.feature_extractor),
        device=parts.device,
        dtype=parts.dtype,
        name=name,
        model_id=name,
        revision="seeded-random",
        vector_name=name,
    )


def embedder_from(parts: ThinkerParts, *, batch_size: int, keep_lm_head: bool = True, **options: Any) -> Any:
    """`AurolaEmbedder` over the in-memory model. ``keep_lm_head=True`` leaves the head in place for a
    reference sharing the model (our path never calls it); False drops it, as `from_pretrained` does."""
    from aurola_qdrant import AurolaEmbedder

    return AurolaEmbedder(_loaded(parts, keep_lm_head), batch_size=batch_size, **options)


def reranker_from(parts: ThinkerParts, *, batch_size: int = 8, **options: Any) -> Any:
    """`AurolaReranker` over the in-memory model (it keeps two LM-head rows and drops the head)."""
    from aurola_qdrant.reranker import AurolaReranker

    return AurolaReranker(_loaded(parts, keep_lm_head=True), batch_size=batch_size, **options)


def reference_from(parts: ThinkerParts) -> Any:
    """The official-path `ReferenceEmbedder` over the in-memory model (needs the LM head)."""
    from aurola_qdrant.testing.reference import ReferenceEmbedder

    if parts.model.lm_head is None:
        raise RuntimeError("the reference path needs the LM head; build it before a path that drops it")
    return ReferenceEmbedder(parts.model, copy.deepcopy(parts.tokenizer), parts.feature_extractor)


def add_model_args(ap: Any, default_shape: str = "tiny") -> None:
    """``--shape``, ``--device``, ``--dtype`` on a benchmark's argument parser."""
    ap.add_argument(
        "--shape",
        choices=tuple(SHAPES),
        default=default_shape,
        help="model shape: tiny = the checkpoint on disk (default); mid / 3b / 7b = random weights built in "
        "memory on the device (see bench/_shapes.py)",
    )
    ap.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda if available, else cpu")
    ap.add_argument("--dtype", choices=("fp32", "bf16", "fp16"), help="default: bf16 on cuda, fp32 on cpu")
