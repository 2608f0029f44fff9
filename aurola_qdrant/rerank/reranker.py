"""`AurolaReranker`: the AuroLA Yes/No re-ranker (a Qwen2.5-Omni thinker judging query–candidate pairs).

Score (METHOD.md): ``p_yes = softmax([z_Yes, z_No])[0]`` of the next-token logits at the last prompt
position, prompts from `aurola_qdrant.model.prompting` with the generation prompt added. Only the two
logits are computed. The prompt part common to all K candidates of a query (system turn, instruction,
"Query:", the query, "Candidate:") runs once and its KV cache is reused for every candidate
(``share_prefix=True``); ``share_prefix=False`` runs each full prompt, which is the reference the shared
path is tested against.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._deps import require
from ..audio.items import AudioItem, to_waveform
from ..errors import ModelLoadError
from ..model import EncodedPrompt, LoadedThinker, ThinkerModel, answer_ids, rerank_prompt
from ..prompts import rerank_a2t_messages, rerank_t2a_messages
from .config import RerankerConfig, check_direction, config_for
from .prefix import prefix_ids, shared_prefix_length, split_audios
from .scoring import YesNoHead, run_prefix, score_full, score_suffixes

__all__ = ["AurolaReranker", "RerankStats"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RerankStats:
    """What the last scoring call did (for benchmarks). ``prefix_tokens`` is 0 when nothing was shared;
    seconds are wall-clock, ``prefix_seconds`` device-synchronised only when ``reranker.timing`` is on."""

    direction: str
    candidates: int
    shared_prefix: bool
    prefix_tokens: int
    candidate_tokens: int  # tokens run per candidate, summed (suffixes, or whole prompts)
    forward_passes: int
    prefix_seconds: float
    seconds: float


class AurolaReranker(ThinkerModel):
    """P(Yes) scores of query–candidate pairs, float32 numpy arrays in candidate input order; satisfies
    `aurola_qdrant.Reranker`.

    Build with `from_pretrained` (``share_prefix`` may be passed there too). Scores lie in [0, 1]; fuse
    them as ``cos + default_alpha(direction) · p_yes`` (METHOD.md). ``batch_size`` candidates (and at most
    ``max_batch_tokens`` prefix+suffix tokens) go through one forward pass; results do not depend on
    batching.
    """

    keep_lm_head = True

    def __init__(
        self,
        thinker: LoadedThinker,
        *,
        batch_size: int = 8,
        max_batch_tokens: int = 32768,
        share_prefix: bool = True,
        config: RerankerConfig | None = None,
    ) -> None:
        super().__init__(thinker, batch_size=batch_size, max_batch_tokens=max_batch_tokens)
        model = thinker.model
        if getattr(model, "lm_head", None) is None:
            raise ModelLoadError("the re-ranker needs the LM head: load the thinker with keep_lm_head=True")
        self.yes_token_id, self.no_token_id = answer_ids(thinker.tokenizer)
        self.head = YesNoHead(model.lm_head, self.yes_token_id, self.no_token_id)
        model.lm_head = None  # keep only the two rows (frees vocab × hidden weights)
        self.share_prefix = share_prefix
        self.config = config or config_for(thinker.name, thinker.model_id)
        self.timing = False  # True: synchronise the device around the prefix pass for exact stage timings
        self.last_stats: RerankStats | None = None

    def default_alpha(self, direction: str) -> float:
        """Fusion weight α for ``"t2a"`` or ``"a2t"``: the registry's for released re-rankers, the folder's
        ``aurola_reranker.json`` for a local one, else 1.0. Raises ValueError for another direction."""
        return self.config.alpha(check_direction(direction))

    # -------------------------------------------------------------- inputs
    def load_candidate(self, item: AudioItem) -> np.ndarray:
        """Decode and check one audio item → mono 16 kHz float32 samples, ready for the ``*_waveforms``
        methods. Raises AudioDecodeError (unreadable file), AudioTooLongError (> 300 s), InputError (too
        short, unsupported item). Call it per candidate to drop the ones that fail."""
        wav, source = to_waveform(item, self.max_audio_seconds)
        self.inputs.check_audio(wav, source)
        return wav

    def t2a_prompt(self, text: str, waveform: np.ndarray) -> EncodedPrompt:
        """The whole text→audio prompt (ids ending with the generation prompt) of one pair."""
        return rerank_prompt(self.inputs, "t2a", text, waveform)

    def a2t_prompt(self, waveform: np.ndarray, text: str) -> EncodedPrompt:
        """The whole audio→text prompt of one pair."""
        return rerank_prompt(self.inputs, "a2t", text, waveform)

    # ------------------------------------------------------------- scoring
    def score_text_to_audio(self, text: str, audio_items: Sequence[AudioItem]) -> np.ndarray:
        """P(Yes) that each audio matches the caption query → ``(K,)`` float32, input order.

        Raises InputError (empty text), AudioDecodeError / AudioTooLongError (any candidate)."""
        return self.score_text_to_audio_waveforms(text, [self.load_candidate(a) for a in audio_items])

    def score_audio_to_text(self, audio_item: AudioItem, texts: Sequence[str]) -> np.ndarray:
        """P(Yes) that each caption describes the audio query → ``(K,)`` float32, input order."""
        return self.score_audio_waveform_to_text(self.load_candidate(audio_item), texts)

    def score_text_to_audio_waveforms(
        self, text: str, waveforms: Sequence[np.ndarray], *, share_prefix: bool | None = None
    ) -> np.ndarray:
        """As `score_text_to_audio` for decoded mono 16 kHz waveforms (see `load_candidate`)."""
        self.inputs.check_text(text, "query text")
        for wav in waveforms:
            self.inputs.check_audio(wav)
        prompts = [self.t2a_prompt(text, w) for w in waveforms]
        messages = rerank_t2a_messages(text)
        return self._score("t2a", prompts, lambda: self._prefix(messages, "<|audio_bos|>", ()), share_prefix)

    def score_audio_waveform_to_text(
        self, waveform: np.ndarray, texts: Sequence[str], *, share_prefix: bool | None = None
    ) -> np.ndarray:
        """As `score_audio_to_text` for a decoded mono 16 kHz waveform."""
        self.inputs.check_audio(waveform, "query audio")
        texts = [self.inputs.check_text(t, f"candidate caption {i}") for i, t in enumerate(texts)]
        prompts = [self.a2t_prompt(waveform, t) for t in texts]
        return self._score(
            "a2t",
            prompts,
            lambda: self._prefix(rerank_a2t_messages(texts[0]), texts[0], (waveform,)),
            share_prefix,
        )

    # ------------------------------------------------------------ internals
    def _prefix(
        self, messages: list[dict[str, Any]], candidate: str, audios: Sequence[np.ndarray]
    ) -> list[int]:
        """Ids of the rendered prompt up to and including "Candidate:" (see `prefix.prefix_ids`)."""
        return prefix_ids(self.inputs, messages, candidate, audios)

    def _score(
        self,
        direction: str,
        prompts: list[EncodedPrompt],
        plan_prefix: Callable[[], list[int]],
        share_prefix: bool | None,
    ) -> np.ndarray:
        torch = require("torch")
        start = time.perf_counter()
        out = np.zeros(len(prompts), dtype=np.float32)
        share = self.share_prefix if share_prefix is None else share_prefix
        full = [p.input_ids for p in prompts]
        s = shared_prefix_length(plan_prefix(), full) if share and prompts else 0
        audio_id = self.inputs.audio_token_id
        while 0 < s < len(full[0]) and full[0][s - 1] == audio_id == full[0][s]:  # never split a clip
            s -= 1
        if share and prompts and s == 0:
            log.debug("%s: no prefix shared by all candidates; running whole prompts", direction)
        prefix_s, passes = 0.0, 0
        with torch.inference_mode():
            if s:
                head_prompt = EncodedPrompt(full[0][:s], split_audios(prompts[0], s, audio_id)[0])
                prefix = run_prefix(self.thinker.model, self.inputs, head_prompt)
                self._sync()
                prefix_s, passes = time.perf_counter() - start, 1
                items = [EncodedPrompt(p.input_ids[s:], split_audios(p, s, audio_id)[1]) for p in prompts]
            else:
                items = prompts
            for idx in self._batches([len(p.input_ids) for p in items], s):
                chunk = [items[i] for i in idx]
                if s:
                    p_yes = score_suffixes(self.thinker.model, self.inputs, self.head, prefix, chunk)
                else:
                    p_yes = score_full(self.thinker.model, self.inputs, self.head, chunk)
                out[idx] = p_yes.cpu().numpy()
                passes += 1
        self.last_stats = RerankStats(
            direction, len(prompts), bool(s), s, sum(len(p.input_ids) for p in items), passes,
            prefix_s, time.perf_counter() - start,
        )  # fmt: skip
        return out

    def _sync(self) -> None:
        if self.timing and self.thinker.device.type == "cuda":
            require("torch").cuda.synchronize(self.thinker.device)
