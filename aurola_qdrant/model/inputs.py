"""Token ids and audio features for AuroLA prompts: the one input builder shared by the embedder, the
re-ranker and the trainer (never a second copy).

Equivalence with the official ``Qwen2_5OmniProcessor``:
- text: the chat template renders the messages; the processor expands each ``<|AUDIO|>`` in the *string*
  to one token per audio frame and tokenises. ``<|AUDIO|>`` is a special token, so expanding it after
  tokenisation gives the same ids, for less work.
- audio: the processor pads every clip with zeros to the extractor's maximum (300 s) before the log-mel
  STFT. A valid frame only ever reads samples within n_fft/2 of its centre, and padded zeros can only lower
  the per-clip maximum used for the dynamic-range clamp (log10 of the clamped power is >= -10 there), so
  padding each batch to its longest clip plus n_fft zero samples gives bit-identical valid frames — and
  saves computing the STFT of up to 300 s of zeros per clip.
- features computed apart (`InputBuilder.featurize`, e.g. in a CPU worker while the model runs elsewhere):
  each clip's valid frames alone, by the same argument bit-identical to the batch's; the audio encoder
  reads only the frames the frame mask marks, so the zero frames `collate` pads them with are never used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._deps import require
from ..errors import AudioTooLongError, InputError
from ..prompts import EMB_TOKEN

__all__ = ["EncodedPrompt", "InputBuilder", "audio_token_count"]

_PLACEHOLDERS = (
    "<|AUDIO|>",
    "<|IMAGE|>",
    "<|VIDEO|>",
    "<|audio_bos|>",
    "<|audio_eos|>",
    "<|vision_bos|>",
    "<|vision_eos|>",
    "<|im_start|>",
    "<|im_end|>",
)


def audio_token_count(n_frames: int) -> int:
    """Audio tokens for ``n_frames`` valid mel frames (two stride-2 stages of the audio encoder)."""
    return ((n_frames - 1) // 2 + 1 - 2) // 2 + 1


@dataclass(frozen=True)
class EncodedPrompt:
    """One prompt: ids up to (excluding) the cut point, and the clips it holds, in order: as waveforms
    (``audios``), or as their log-mel features already computed (``features``: ``(n_mels, frames)``
    float32 per clip, valid frames only; see `InputBuilder.featurize`)."""

    input_ids: tuple[int, ...]
    audios: tuple[np.ndarray, ...] = ()
    features: tuple[np.ndarray, ...] = ()


class InputBuilder:
    """Renders AuroLA messages with the checkpoint's chat template and builds model-ready tensors."""

    def __init__(self, tokenizer: Any, feature_extractor: Any) -> None:
        self.tokenizer = tokenizer
        self.fe = feature_extractor
        self.sample_rate = int(feature_extractor.sampling_rate)
        self.hop = int(feature_extractor.hop_length)
        self.n_fft = int(feature_extractor.n_fft)
        self.max_samples = int(feature_extractor.n_samples)  # chunk_length * sampling_rate (300 s)
        self.audio_token_id = tokenizer.convert_tokens_to_ids("<|AUDIO|>")
        self.emb_token_id = tokenizer.convert_tokens_to_ids(EMB_TOKEN)
        self.pad_token_id = tokenizer.pad_token_id

    # ----------------------------------------------------------------- audio
    def n_frames(self, n_samples: int) -> int:
        # The processor's frame mask keeps every hop-th sample of the sample mask: ceil(L / hop) frames.
        return math.ceil(n_samples / self.hop)

    def check_audio(self, waveform: np.ndarray, source: str = "<audio>") -> None:
        n = int(waveform.shape[0])
        if n > self.max_samples:
            raise AudioTooLongError(
                f"{source}: {n / self.sample_rate:.1f} s of audio exceeds the feature extractor's maximum of "
                f"{self.max_samples / self.sample_rate:.0f} s; split it with aurola_qdrant.iter_windows first"
            )
        if audio_token_count(self.n_frames(n)) < 1:
            raise InputError(
                f"{source}: {n} samples ({n / self.sample_rate * 1000:.0f} ms) is too short to embed"
            )

    def features(self, waveforms: Sequence[np.ndarray]):
        """Log-mel features ``(B, 128, F)`` and frame mask ``(B, F)`` (torch), equal on valid frames to the
        processor's 300 s padded output (see module docstring)."""
        torch = require("torch")
        longest = max(int(w.shape[0]) for w in waveforms)
        target = math.ceil((longest + self.n_fft) / self.hop) * self.hop
        out = self.fe(
            [np.asarray(w, dtype=np.float32) for w in waveforms],
            sampling_rate=self.sample_rate,
            padding="max_length",
            max_length=target,
            truncation=False,
            return_attention_mask=True,
            return_tensors="np",
        )
        feats = torch.from_numpy(np.ascontiguousarray(out["input_features"]))
        mask = torch.from_numpy(np.ascontiguousarray(out["attention_mask"])).long()
        return feats, mask

    def featurize(self, prompt: EncodedPrompt) -> EncodedPrompt:
        """The same prompt with its clips' log-mel features computed now (valid frames only) in place of
        the waveforms, so the process that collates it no longer runs the STFT."""
        feats = []
        for wav in prompt.audios:
            full, _ = self.features([wav])
            feats.append(np.ascontiguousarray(full[0, :, : self.n_frames(int(wav.shape[0]))].numpy()))
        return EncodedPrompt(prompt.input_ids, (), (*prompt.features, *feats))

    def _stack_features(self, clips: Sequence[np.ndarray]):
        """Featurized clips padded with zero frames to the longest, and their frame mask (torch)."""
        torch = require("torch")
        width = max(int(f.shape[1]) for f in clips)
        feats = torch.zeros((len(clips), int(clips[0].shape[0]), width), dtype=torch.float32)
        mask = torch.zeros((len(clips), width), dtype=torch.long)
        for row, f in enumerate(clips):
            feats[row, :, : f.shape[1]] = torch.from_numpy(np.asarray(f, dtype=np.float32))
            mask[row, : f.shape[1]] = 1
        return feats, mask

    # ------------------------------------------------------------------ text
    def check_text(self, text: str, what: str = "text") -> str:
        if not isinstance(text, str):
            raise InputError(f"{what} must be a str, got {type(text).__name__}")
        if not text.strip():
            raise InputError(f"{what} is empty; an AuroLA prompt needs a non-empty caption")
        bad = [p for p in _PLACEHOLDERS if p in text]
        if bad:
            raise InputError(f"{what} contains reserved chat-template token(s) {bad}: {text[:80]!r}")
        return text

    def render(self, messages: list[dict[str, Any]], *, add_generation_prompt: bool = False) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )

    def encode(
        self,
        messages: list[dict[str, Any]],
        audios: Sequence[np.ndarray] = (),
        *,
        add_generation_prompt: bool = False,
        cut_before_last_emb: bool = False,
    ) -> EncodedPrompt:
        """Token ids of the rendered prompt with each ``<|AUDIO|>`` expanded to its frame count.

        ``cut_before_last_emb``: end the ids just before the *last* ``<emb>`` (the assistant's), whose
        predecessor is the embedding's read position. The assistant turn comes after all user content, so a
        caption that itself contains ``<emb>`` cannot move the read position.
        """
        text = self.render(messages, add_generation_prompt=add_generation_prompt)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if cut_before_last_emb:
            try:
                cut = len(ids) - 1 - ids[::-1].index(self.emb_token_id)
            except ValueError:
                raise InputError(
                    "the rendered prompt has no <emb> token; is this an AuroLA tokenizer?"
                ) from None
            ids = ids[:cut]
        slots = [i for i, t in enumerate(ids) if t == self.audio_token_id]
        if len(slots) != len(audios):
            raise InputError(f"prompt has {len(slots)} audio slots but {len(audios)} clips were given")
        expanded: list[int] = []
        prev = 0
        for slot, wav in zip(slots, audios, strict=True):
            expanded.extend(ids[prev:slot])
            expanded.extend([self.audio_token_id] * audio_token_count(self.n_frames(int(wav.shape[0]))))
            prev = slot + 1
        expanded.extend(ids[prev:])
        return EncodedPrompt(tuple(expanded), tuple(audios))

    def collate(self, prompts: Sequence[EncodedPrompt]) -> dict[str, Any]:
        """Left-padded ``input_ids``/``attention_mask`` plus audio features of every clip, in order."""
        torch = require("torch")
        width = max(len(p.input_ids) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, p in enumerate(prompts):
            n = len(p.input_ids)
            ids[row, width - n :] = torch.tensor(p.input_ids, dtype=torch.long)
            mask[row, width - n :] = 1
        batch: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        clips = [a for p in prompts for a in p.audios]
        featurized = [f for p in prompts for f in p.features]
        if clips and featurized:
            raise InputError("a batch mixes waveform prompts and featurized ones; featurize all or none")
        if clips:
            batch["input_features"], batch["feature_attention_mask"] = self.features(clips)
        elif featurized:
            batch["input_features"], batch["feature_attention_mask"] = self._stack_features(featurized)
        return batch
