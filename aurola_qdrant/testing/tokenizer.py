"""A small byte-level BPE tokenizer in Qwen2's format, trained on the fly with the `tokenizers` library.

It uses Qwen2's pre-tokenisation regex and byte-level alphabet (so any Unicode text encodes), and carries
Qwen2.5-Omni's special tokens in their real order, so the chat template and the processor treat it exactly
like the released tokenizer; only the vocabulary is small.
"""

from __future__ import annotations

import itertools

__all__ = ["QWEN_SPECIAL_TOKENS", "build_tokenizer", "tokenizer_corpus"]

# Qwen2.5-Omni's added tokens from <|endoftext|> (id 151643 in the real vocabulary) onwards, in order.
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|AUDIO|>",
    "<|audio_bos|>",
    "<|audio_eos|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_bos|>",
    "<|vision_eos|>",
    "<|vision_pad|>",
    "<|IMAGE|>",
    "<|VIDEO|>",
)
NAMED_SPECIAL_TOKENS = {
    "image_token": "<|IMAGE|>",
    "audio_token": "<|AUDIO|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}
QWEN_PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""  # noqa: E501

_SOUNDS = ["tone", "noise", "click", "chirp", "rain", "dog", "bark", "engine", "bird", "speech", "music"]
_ADJ = ["loud", "quiet", "high", "low", "steady", "pulsing", "rising", "falling", "soft", "sharp", "white"]
_WORDS = [
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "with",
    "and",
    "is",
    "sound",
    "audio",
    "caption",
    "query",
    "candidate",
    "pitch",
    "pattern",
    "sine",
    "square",
    "sawtooth",
    "triangle",
    "pink",
    "brown",
    "train",
    "fading",
    "bursts",
    "beeping",
    "moderate",
    "very",
    "roof",
    "tin",
    "water",
    "people",
    "talking",
]


def tokenizer_corpus() -> list[str]:
    """Deterministic training text: the AuroLA prompts plus caption-like sentences."""
    from .. import prompts

    fixed = [
        prompts.AUDIO_EMBED_INSTRUCTION,
        prompts.TEXT_EMBED_SUFFIX,
        prompts.RERANK_INSTRUCTION,
        prompts.RERANK_T2A_TEMPLATE,
        prompts.RERANK_A2T_QUERY,
        "You are a helpful assistant.",
        "system\nuser\nassistant\n Yes No Yes. No.",
    ]
    sentences = [
        f"{a} {b} {s} {w}"
        for (a, b), s, w in zip(
            itertools.product(_ADJ, _ADJ), itertools.cycle(_SOUNDS), itertools.cycle(_WORDS)
        )
    ]
    return fixed * 20 + sentences + [" ".join(_WORDS)] * 5


def build_tokenizer(vocab_size: int = 1024, chat_template: str | None = None):
    """Train and return a `Qwen2Tokenizer` (transformers) with Qwen2.5-Omni's special tokens.

    ``vocab_size`` bounds the BPE vocabulary (byte alphabet + merges) before the special tokens are added.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
        min_frequency=2,
    )
    bpe.train_from_iterator(tokenizer_corpus(), trainer=trainer)
    vocab = bpe.get_vocab()
    merges = _merges_of(bpe)
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,  # type: ignore[arg-type]  # the backend takes (left, right) pairs too
        errors="replace",
        unk_token=None,  # type: ignore[arg-type]  # Qwen's tokenizer has no unknown token
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=dict(NAMED_SPECIAL_TOKENS),
        model_max_length=32768,
    )
    tok.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIAL_TOKENS)})
    if chat_template is not None:
        tok.chat_template = chat_template
    return tok


def _merges_of(tokenizer) -> list[tuple[str, str]]:
    import json

    data = json.loads(tokenizer.to_str())["model"]["merges"]
    return [(m.split(" ")[0], m.split(" ")[1]) if isinstance(m, str) else (m[0], m[1]) for m in data]
