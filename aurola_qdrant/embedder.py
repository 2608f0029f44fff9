"""`AurolaEmbedder`: one shared embedding space for audio and text (AuroLA, arXiv 2602.18010).

The embedding of a prompt is the last-layer hidden state (after the final norm) at the position just
before the assistant's ``<emb>`` token, L2-normalised. Attention is causal, so the prompt is cut there and
nothing after it is computed; the LM head is never evaluated.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._deps import require
from .errors import InputError
from .model import EncodedPrompt, InputBuilder, LoadedThinker, last_hidden, load_thinker
from .prompts import PROMPT_VERSION, audio_embed_messages, text_embed_messages

if TYPE_CHECKING:
    from .store import EmbedderInfo

__all__ = ["AudioItem", "AurolaEmbedder", "to_waveform"]

log = logging.getLogger(__name__)

# A file path, a (waveform, sample_rate) pair, or an aurola_qdrant.audio.AudioSegment.
AudioItem = Any


def to_waveform(item: AudioItem, max_seconds: float | None = None) -> tuple[np.ndarray, str]:
    """Mono 16 kHz float32 samples and a printable source name for any supported audio item."""
    from . import audio

    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        if max_seconds is not None:
            info = audio.audio_info(path)  # refuse overlong files from the header, before decoding them
            if info.duration_s > max_seconds:
                from .errors import AudioTooLongError

                raise AudioTooLongError(
                    f"{path}: {info.duration_s:.1f} s exceeds the feature extractor's maximum of "
                    f"{max_seconds:.0f} s; split it with aurola_qdrant.iter_windows first"
                )
        return audio.load_audio(path).waveform, path
    if isinstance(item, audio.AudioSegment):
        name = f"{item.source or '<segment>'}[{item.start_s:.2f}-{item.end_s:.2f}s]"
        return item.waveform, name
    if isinstance(item, tuple) and len(item) == 2:
        return audio.prepare_waveform(item[0], item[1]), "<array>"
    raise InputError(
        f"unsupported audio item of type {type(item).__name__}: pass a path, a (waveform, sample_rate) "
        "pair or an AudioSegment"
    )


class AurolaEmbedder:
    """Embeds texts and audio clips into the AuroLA space.

    Build with `from_pretrained`. Outputs are float32 numpy arrays ``(n, dim)``, rows L2-normalised, in input
    order; the same input gives the same vector alone or in any batch (inputs are length-sorted into
    batches and left-padded, and positions come from the model's own rope-index function).
    """

    def __init__(self, thinker: LoadedThinker, *, batch_size: int = 8, max_batch_tokens: int = 32768) -> None:
        if batch_size < 1 or max_batch_tokens < 1:
            raise ValueError(
                f"batch_size and max_batch_tokens must be >= 1, got {batch_size}, {max_batch_tokens}"
            )
        self.thinker = thinker
        self.inputs = InputBuilder(thinker.tokenizer, thinker.feature_extractor)
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str],
        *,
        device: str | None = None,
        dtype: str | Any | None = None,
        revision: str | None = None,
        batch_size: int = 8,
    ) -> AurolaEmbedder:
        """Load a registry name (``aurola-3b`` …), a hub repo id or a local checkpoint folder."""
        return cls(
            load_thinker(name_or_path, device=device, dtype=dtype, revision=revision), batch_size=batch_size
        )

    # ------------------------------------------------------------ identity
    @property
    def dim(self) -> int:
        return self.thinker.hidden_size

    @property
    def model_id(self) -> str:
        return self.thinker.model_id

    @property
    def revision(self) -> str:
        return self.thinker.revision

    @property
    def vector_name(self) -> str:
        return self.thinker.vector_name

    @property
    def prompt_version(self) -> str:
        return PROMPT_VERSION

    @property
    def max_audio_seconds(self) -> float:
        return self.inputs.max_samples / self.inputs.sample_rate

    def embedder_info(self, window_s: float | None = None, hop_s: float | None = None) -> EmbedderInfo:
        """The identity a Qdrant collection records for this embedder, with the segments' windowing if any."""
        from .store import EmbedderInfo

        return EmbedderInfo(
            vector_name=self.vector_name,
            model_id=self.model_id,
            revision=self.revision,
            prompt_version=self.prompt_version,
            dim=self.dim,
            window_s=window_s,
            hop_s=hop_s,
        )

    def __repr__(self) -> str:
        return f"AurolaEmbedder({self.model_id!r}, dim={self.dim}, device={self.thinker.device})"

    # ------------------------------------------------------------- prompts
    def text_prompt(self, text: str) -> EncodedPrompt:
        self.inputs.check_text(text)
        return self.inputs.encode(text_embed_messages(text), cut_before_last_emb=True)

    def audio_prompt(self, waveform: np.ndarray, source: str = "<audio>") -> EncodedPrompt:
        self.inputs.check_audio(waveform, source)
        return self.inputs.encode(audio_embed_messages(), [waveform], cut_before_last_emb=True)

    # ----------------------------------------------------------- embedding
    def embed_text(self, texts: str | Sequence[str]) -> np.ndarray:
        """Embed captions/queries → ``(n, dim)`` float32, L2-normalised. Raises InputError on empty text."""
        items = [texts] if isinstance(texts, str) else list(texts)
        return self.embed_prompts([self.text_prompt(t) for t in items])

    def embed_audio(self, items: AudioItem | Iterable[AudioItem]) -> np.ndarray:
        """Embed clips (paths, ``(waveform, sr)`` pairs or AudioSegments) → ``(n, dim)`` float32.

        Raises AudioDecodeError for unreadable files, AudioTooLongError beyond the extractor's 300 s.
        """
        if isinstance(items, (str, os.PathLike, Path)) or (
            isinstance(items, tuple) and len(items) == 2 and isinstance(items[0], np.ndarray)
        ):
            items = [items]
        prompts = []
        for item in items:
            wav, source = to_waveform(item, self.max_audio_seconds)
            prompts.append(self.audio_prompt(wav, source))
        return self.embed_prompts(prompts)

    def embed_prompts(self, prompts: Sequence[EncodedPrompt]) -> np.ndarray:
        """Embed pre-built prompts, batching those of similar length together."""
        torch = require("torch")
        out = np.zeros((len(prompts), self.dim), dtype=np.float32)
        if not prompts:
            return out
        for idx in self._batches([len(p.input_ids) for p in prompts]):
            batch = self.inputs.collate([prompts[i] for i in idx])
            with torch.inference_mode():
                hidden = last_hidden(self.thinker.model, batch)[:, -1, :].float()
                hidden = torch.nn.functional.normalize(hidden, dim=-1)
            out[idx] = hidden.cpu().numpy()
        return out

    def _batches(self, lengths: Sequence[int]) -> list[list[int]]:
        # Longest first so a too-large batch fails early; consecutive lengths keep padding small.
        order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
        batches: list[list[int]] = []
        cur: list[int] = []
        for i in order:
            width = lengths[cur[0]] if cur else lengths[i]
            if cur and (len(cur) >= self.batch_size or width * (len(cur) + 1) > self.max_batch_tokens):
                batches.append(cur)
                cur = []
            cur.append(i)
        if cur:
            batches.append(cur)
        return batches
