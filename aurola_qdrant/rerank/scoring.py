"""Yes/No scoring forward passes: the shared-prefix KV cache, the candidate suffixes on top of it, and the
plain full-prompt computation. Only the two logits the score needs are ever formed (never the vocabulary).

Positions: AuroLA prompts hold text and audio only, so the thinker's rope-index function falls back to
``cumsum(attention_mask) - 1`` (plain sequential positions, identical in the three M-RoPE sections). The
prefix takes positions ``0..S-1`` and a suffix token at offset ``j`` takes ``S + j``, exactly what that
function gives the full prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._deps import require
from ..model import EncodedPrompt, InputBuilder, input_embeddings, last_hidden

__all__ = ["PrefixCache", "YesNoHead", "run_prefix", "score_full", "score_suffixes"]

# Per layer: (keys, values) of shape (1, kv_heads, S, head_dim).
PrefixCache = list[tuple[Any, Any]]


class YesNoHead:
    """``p_yes = softmax([z_Yes, z_No])[0]`` from final-norm hidden states, with the two LM-head rows only.

    Keeping two rows instead of the whole head frees ``vocab × hidden`` weights (about 0.6 GB for 3B and
    1.1 GB for 7B in bf16). The logits are formed in float32.
    """

    def __init__(self, lm_head: Any, yes_id: int, no_id: int) -> None:
        torch = require("torch")
        rows = torch.tensor([yes_id, no_id], device=lm_head.weight.device)
        self.weight = lm_head.weight.detach()[rows].float().clone()  # (2, H)
        bias = getattr(lm_head, "bias", None)
        self.bias = None if bias is None else bias.detach()[rows].float().clone()

    def logits(self, hidden: Any) -> Any:
        """``(B, H)`` hidden states → ``(B, 2)`` float32 logits [Yes, No]."""
        z = hidden.float() @ self.weight.T
        return z if self.bias is None else z + self.bias

    def p_yes(self, hidden: Any) -> Any:
        return require("torch").softmax(self.logits(hidden), dim=-1)[:, 0]


def _to(batch: dict[str, Any], device: Any) -> dict[str, Any]:
    torch = require("torch")
    return {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}


def _device(model: Any) -> Any:
    return next(model.parameters()).device


def run_prefix(model: Any, inputs: InputBuilder, prompt: EncodedPrompt) -> PrefixCache:
    """Run the shared prefix once (batch of 1) and return its per-layer keys/values."""
    torch = require("torch")
    transformers = require("transformers")
    device = _device(model)
    n = len(prompt.input_ids)
    batch: dict[str, Any] = {"input_ids": torch.tensor([prompt.input_ids], dtype=torch.long)}
    if prompt.audios:
        batch["input_features"], batch["feature_attention_mask"] = inputs.features(list(prompt.audios))
    batch = _to(batch, device)
    cache = transformers.DynamicCache(config=model.config.text_config)
    model.model.language_model(
        inputs_embeds=input_embeddings(model, batch),
        attention_mask=torch.ones((1, n), dtype=torch.long, device=device),
        position_ids=torch.arange(n, device=device).view(1, 1, n).expand(3, 1, n),
        cache=cache,
        use_cache=True,
    )
    return [(layer.keys, layer.values) for layer in cache.layers]


def score_suffixes(
    model: Any, inputs: InputBuilder, head: YesNoHead, prefix: PrefixCache, suffixes: Sequence[EncodedPrompt]
) -> Any:
    """P(Yes) ``(B,)`` for B candidate suffixes that all continue ``prefix``, in one forward pass.

    Suffixes are right-padded (pads come after every real token, so causal attention keeps them out of
    the real rows); each row is read at its own last real position.
    """
    torch = require("torch")
    transformers = require("transformers")
    device = _device(model)
    b = len(suffixes)
    s = int(prefix[0][0].shape[-2])
    lengths = [len(p.input_ids) for p in suffixes]
    width = max(lengths)
    ids = torch.full((b, width), inputs.pad_token_id, dtype=torch.long)
    mask = torch.zeros((b, s + width), dtype=torch.long)
    mask[:, :s] = 1
    for row, p in enumerate(suffixes):
        ids[row, : lengths[row]] = torch.tensor(p.input_ids, dtype=torch.long)
        mask[row, s : s + lengths[row]] = 1
    batch: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
    clips = [a for p in suffixes for a in p.audios]
    if clips:
        batch["input_features"], batch["feature_attention_mask"] = inputs.features(clips)
    batch = _to(batch, device)
    cache = transformers.DynamicCache(
        ddp_cache_data=[(k.expand(b, -1, -1, -1), v.expand(b, -1, -1, -1)) for k, v in prefix],
        config=model.config.text_config,
    )
    out = model.model.language_model(
        inputs_embeds=input_embeddings(model, batch),
        attention_mask=batch["attention_mask"],
        position_ids=(s + torch.arange(width, device=device)).view(1, 1, width).expand(3, b, width),
        cache=cache,
        use_cache=True,
    )
    last = torch.tensor([n - 1 for n in lengths], device=device)
    return head.p_yes(out.last_hidden_state[torch.arange(b, device=device), last])


def score_full(model: Any, inputs: InputBuilder, head: YesNoHead, prompts: Sequence[EncodedPrompt]) -> Any:
    """P(Yes) ``(B,)`` of whole prompts (left-padded, positions from the rope-index function)."""
    return head.p_yes(last_hidden(model, inputs.collate(prompts))[:, -1, :])
