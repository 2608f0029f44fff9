"""Forward FLOP counts of the thinker stages, and the projection of bench/embed.py's stage times to the
released 3B and 7B shapes.

Counting: one multiply-add = 2 FLOPs; matrix products only (norms, activations, RoPE and softmax are
lower order). Per prompt of ``T`` tokens and ``F`` valid mel frames:
- language model, per layer: ``2·T·(2·H² + 2·H·kv + 3·H·I)`` for the q/o, k/v and SwiGLU projections plus
  ``2·T²·H`` for causal attention scores and values (``kv`` = key/value heads × head size);
- LM head: ``2·T·H·V`` (the baseline evaluates it on every position; we never do);
- audio encoder: conv1 ``2·F·3·128·d``, conv2 (stride 2) ``2·(F/2)·3·d²``, per layer on ``F/2`` frames
  ``2·(F/2)·(4·d² + 2·d·ffn)`` plus windowed attention ``4·(F/2)·w·d`` (window ``w`` = 100 frames), and the
  projection to the LM width ``2·(F/4)·d·H``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REAL_SHAPES", "Shape", "project"]


@dataclass(frozen=True)
class Shape:
    name: str
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    audio_d: int
    audio_layers: int
    audio_ffn: int
    audio_heads: int

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def lm_params(self) -> int:
        """Parameters of the language model's layers and final norm (embeddings and LM head excluded):
        q/k/v with biases, o, SwiGLU, two RMSNorms per layer."""
        h, kv = self.hidden, self.kv_heads * self.head_dim
        attn = h * h + h + 2 * (h * kv + kv) + h * h
        return self.layers * (attn + 3 * h * self.intermediate + 2 * h) + h

    def encoder_params(self) -> int:
        """Parameters of the audio encoder: two convolutions, Whisper layers (k without bias), final norm,
        the projection to the LM width and the audio BOS/EOS embeddings."""
        d, ffn = self.audio_d, self.audio_ffn
        conv = 128 * d * 3 + d + d * d * 3 + d
        layer = 4 * d * d + 3 * d + 2 * d * ffn + ffn + d + 4 * d
        return conv + self.audio_layers * layer + 2 * d + d * self.hidden + self.hidden + 2 * self.hidden

    def lm(self, tokens: int) -> float:
        kv = self.kv_heads * self.hidden // self.heads
        h = self.hidden
        per_layer = 2 * tokens * (2 * h * h + 2 * h * kv + 3 * h * self.intermediate)
        return self.layers * (per_layer + 2 * tokens**2 * h)

    def head(self, tokens: int) -> float:
        return 2 * tokens * self.hidden * self.vocab

    def encoder(self, mel_frames: int) -> float:
        f, d = mel_frames, self.audio_d
        conv = 2 * f * 3 * 128 * d + 2 * (f // 2) * 3 * d * d
        layer = 2 * (f // 2) * (4 * d * d + 2 * d * self.audio_ffn) + 4 * (f // 2) * 100 * d
        return conv + self.audio_layers * layer + 2 * (f // 4) * d * self.hidden


# Qwen2.5-Omni thinker configs, from the published config.json files (thinker_config) of Qwen/Qwen2.5-Omni-3B
# and Qwen/Qwen2.5-Omni-7B; text model = Qwen2.5-3B / -7B, audio encoder = Whisper-large-v3-sized:
# - 3B: text hidden 2048, 36 layers, 16 heads, 2 KV heads, intermediate 11008, vocab 151936;
# - 7B: text hidden 3584, 28 layers, 28 heads, 4 KV heads, intermediate 18944, vocab 152064;
# - both: audio d_model 1280, 32 layers, 20 heads, FFN 5120, output_dim = the text hidden size.
# transformers 5.24's Qwen2_5Omni{Text,AudioEncoder}Config defaults are exactly the 7B values (output_dim
# 3584); it has no 3B defaults. Head size is 128 in both: M-RoPE sections [16, 24, 24], as released.
REAL_SHAPES = (
    Shape("3B", 2048, 11008, 36, 16, 2, 151936, 1280, 32, 5120, 20),
    Shape("7B", 3584, 18944, 28, 28, 4, 152064, 1280, 32, 5120, 20),
)


def _model_flops(shape: Shape, stages: dict[str, float], tokens: int, mel_frames: int, clips: int) -> float:
    enc = shape.encoder(mel_frames) if mel_frames else 0.0
    head = shape.head(tokens) if "LM head" in stages else 0.0
    return clips * (enc + shape.lm(tokens) + head)


MODEL_STAGES = ("audio encoder", "language model", "LM head")


def project(
    tiny: Shape,
    stages: dict[str, dict[str, float]],
    tokens: dict[str, int],
    mel_frames: int,
    clips: int,
) -> dict[str, object]:
    """Project a batch's wall time to the real shapes on the machine that ran the benchmark.

    ``stages[path][stage]``: median seconds per batch; ``tokens[path]``: LM width per prompt; ``mel_frames``
    per clip (0 for text). Model stages run at one common rate, measured on the tiny model over both paths
    (so per-stage timing noise cannot favour either path); feature extraction and "other" (tokenisation,
    glue) do not depend on the model size and are kept as measured. Returns the rate (GFLOP/s) and per
    real shape the FLOPs, the projected seconds per batch and the speed-up.
    """
    tiny_flops = sum(_model_flops(tiny, stages[p], tokens[p], mel_frames, clips) for p in stages)
    tiny_time = sum(stages[p].get(s, 0.0) for p in stages for s in MODEL_STAGES)
    rate = tiny_flops / tiny_time
    rows = []
    for real in REAL_SHAPES:
        row: dict[str, float | str] = {"shape": real.name}
        for p in ("baseline", "ours"):
            flops = _model_flops(real, stages[p], tokens[p], mel_frames, clips)
            fixed = stages[p].get("features", 0.0) + stages[p].get("other", 0.0)
            row[f"{p}_tflop"] = flops / 1e12
            row[f"{p}_fixed_s"] = fixed
            row[f"{p}_s"] = fixed + flops / rate
        row["flop_ratio"] = float(row["baseline_tflop"]) / float(row["ours_tflop"])
        row["speedup"] = float(row["baseline_s"]) / float(row["ours_s"])
        rows.append(row)
    return {"rate_gflops": rate / 1e9, "shapes": rows}
