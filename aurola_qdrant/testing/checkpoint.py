"""Tiny, seeded Qwen2.5-Omni thinker checkpoints in the real on-disk layout.

The folder holds what a released AuroLA checkpoint holds: ``config.json`` for
`Qwen2_5OmniThinkerForConditionalGeneration`, ``model.safetensors``, the tokenizer files, the Whisper
feature-extractor settings of Qwen2.5-Omni (128 mel bins, hop 160, n_fft 400, chunk_length 300) merged with
the image-processor settings in ``preprocessor_config.json``, and the Qwen2.5-Omni chat template. Only the
sizes are small. Tests, benchmarks and the offline quickstart build their models with this module.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from .tokenizer import build_tokenizer

__all__ = [
    "TinyThinkerConfig",
    "build_tiny_thinker",
    "qwen_omni_chat_template",
    "qwen_omni_feature_extractor",
    "thinker_config",
    "thinker_tokenizer",
]

log = logging.getLogger(__name__)

# Qwen2.5-Omni's processor settings (feature extractor + image processor share one file in the release).
PREPROCESSOR_CONFIG = {
    "chunk_length": 300,
    "dither": 0.0,
    "feature_extractor_type": "WhisperFeatureExtractor",
    "feature_size": 128,
    "hop_length": 160,
    "n_fft": 400,
    "n_samples": 4800000,
    "nb_max_frames": 30000,
    "padding_side": "right",
    "padding_value": 0.0,
    "return_attention_mask": True,
    "sampling_rate": 16000,
    "image_processor_type": "Qwen2VLImageProcessor",
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "max_pixels": 12845056,
    "min_pixels": 3136,
    "merge_size": 2,
    "patch_size": 14,
    "temporal_patch_size": 2,
    "processor_class": "Qwen2_5OmniProcessor",
}


def qwen_omni_chat_template() -> str:
    """The Qwen2.5-Omni chat template (Jinja), as shipped with the released checkpoints."""
    return resources.files(__package__).joinpath("chat_template.jinja").read_text(encoding="utf-8")


@dataclass(frozen=True)
class TinyThinkerConfig:
    """Sizes of a tiny thinker. ``vocab_size`` None → just the tokenizer's size; 152064 reproduces the real
    vocabulary size (the embedding and LM-head matrices dominate then, as they do for the LM head at 3B/7B).

    ``init_std`` is the weight scale: at transformers' default (0.02) a tiny random model maps every input to
    nearly the same vector, so parity tests would prove nothing; 0.25 gives clearly different embeddings.
    """

    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    audio_d_model: int = 64
    audio_layers: int = 2
    audio_heads: int = 2
    audio_ffn_dim: int = 128
    bpe_vocab_size: int = 1024
    vocab_size: int | None = None
    init_std: float = 0.25
    add_emb_token: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        head_dim, rem = divmod(self.hidden_size, self.num_attention_heads)
        if rem or head_dim % 2:
            raise ValueError(
                f"hidden_size={self.hidden_size} must split into an even head_dim over "
                f"num_attention_heads={self.num_attention_heads}"
            )
        if self.init_std <= 0:
            raise ValueError(f"init_std must be positive, got {self.init_std}")


def _mrope_section(head_dim: int) -> list[int]:
    # The three M-RoPE sections (time, height, width) split head_dim/2 rotary frequencies; the real 7B uses
    # [16, 24, 24] of 64. Keep the same 1:1.5:1.5 shape.
    half = head_dim // 2
    t = max(1, round(half * 0.25))
    h = (half - t) // 2
    return [t, h, half - t - h]


def thinker_config(cfg: TinyThinkerConfig, tokenizer):
    """The `Qwen2_5OmniThinkerConfig` of ``cfg`` with the special-token ids of ``tokenizer``.

    The vision tower is always minimal (one block, width 32): audio and text embedding never run it, and the
    loader drops it. The vocabulary is the larger of the tokenizer's size and ``cfg.vocab_size``.
    """
    from transformers import Qwen2_5OmniThinkerConfig

    ids = tokenizer.convert_tokens_to_ids
    vocab = max(len(tokenizer), cfg.vocab_size or 0)
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    # vision_*_token_id are read by get_rope_index though the config class does not declare them.
    thinker_cfg = Qwen2_5OmniThinkerConfig(  # type: ignore[call-arg]
        audio_config=dict(
            num_mel_bins=128,
            encoder_layers=cfg.audio_layers,
            encoder_attention_heads=cfg.audio_heads,
            encoder_ffn_dim=cfg.audio_ffn_dim,
            d_model=cfg.audio_d_model,
            output_dim=cfg.hidden_size,
            n_window=100,
            max_source_positions=1500,
        ),
        vision_config=dict(
            depth=1,
            hidden_size=32,
            intermediate_size=64,
            num_heads=2,
            out_hidden_size=cfg.hidden_size,
            fullatt_block_indexes=[0],
        ),
        text_config=dict(
            vocab_size=vocab,
            hidden_size=cfg.hidden_size,
            intermediate_size=cfg.intermediate_size,
            num_hidden_layers=cfg.num_hidden_layers,
            num_attention_heads=cfg.num_attention_heads,
            num_key_value_heads=cfg.num_key_value_heads,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 1000000.0,
                "mrope_section": _mrope_section(head_dim),
            },
            max_position_embeddings=32768,
            tie_word_embeddings=False,
        ),
        audio_token_index=ids("<|AUDIO|>"),
        image_token_index=ids("<|IMAGE|>"),
        video_token_index=ids("<|VIDEO|>"),
        audio_start_token_id=ids("<|audio_bos|>"),
        audio_end_token_id=ids("<|audio_eos|>"),
        vision_start_token_id=ids("<|vision_bos|>"),
        vision_end_token_id=ids("<|vision_eos|>"),
        user_token_id=tokenizer.encode("user", add_special_tokens=False)[0],
        initializer_range=0.02,
    )
    thinker_cfg.architectures = ["Qwen2_5OmniThinkerForConditionalGeneration"]
    return thinker_cfg


def thinker_tokenizer(cfg: TinyThinkerConfig):
    """The checkpoints' tokenizer: the small Qwen2-format BPE, the chat template and (if asked) ``<emb>``."""
    tok = build_tokenizer(cfg.bpe_vocab_size, chat_template=qwen_omni_chat_template())
    if cfg.add_emb_token:
        tok.add_tokens(["<emb>"])
    return tok


def qwen_omni_feature_extractor():
    """Qwen2.5-Omni's `WhisperFeatureExtractor` (128 mel bins, hop 160, n_fft 400, 300 s maximum)."""
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(
        feature_size=128,
        sampling_rate=16000,
        hop_length=160,
        chunk_length=300,
        n_fft=400,
        dither=0.0,
        padding_value=0.0,
        return_attention_mask=True,
    )


def build_tiny_thinker(out_dir: str | Path, config: TinyThinkerConfig | None = None, **overrides) -> Path:
    """Build, initialise (seeded) and save a tiny thinker checkpoint folder; returns the folder."""
    import torch
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    cfg = config or TinyThinkerConfig()
    if overrides:
        cfg = TinyThinkerConfig(**{**asdict(cfg), **overrides})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    tok = thinker_tokenizer(cfg)
    thinker_cfg = thinker_config(cfg, tok)
    torch.manual_seed(cfg.seed)
    model = Qwen2_5OmniThinkerForConditionalGeneration(thinker_cfg)
    _reinit(model, cfg.init_std, cfg.seed)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    fe = qwen_omni_feature_extractor()
    fe.save_pretrained(out)
    merged = json.loads((out / "preprocessor_config.json").read_text())
    merged.update(PREPROCESSOR_CONFIG)
    (out / "preprocessor_config.json").write_text(json.dumps(merged, indent=2, sort_keys=True))
    (out / "aurola_tiny.json").write_text(json.dumps(asdict(cfg), indent=2))
    log.info("built tiny thinker in %s (vocab %d, hidden %d)", out, thinker_cfg.text_config.vocab_size,
             cfg.hidden_size)  # fmt: skip
    return out


def _reinit(model, std: float, seed: int) -> None:
    """Re-draw every weight matrix at ``std / sqrt(fan_in / 64)`` so activations keep a useful scale at any
    width, and every bias and norm at a small random perturbation of its default (so nothing is a no-op)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.ndim >= 2:
                fan_in = p[0].numel()
                scale = std / max(1.0, (fan_in / 64) ** 0.5)
                if "embed_tokens" in name or "audio_bos_eos" in name:
                    scale = 1.0
                p.copy_(torch.randn(p.shape, generator=gen) * scale)
            elif "norm" in name or "ln" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))
