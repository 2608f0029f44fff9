"""`AurolaEmbedder`: one shared embedding space for audio and text (AuroLA, arXiv 2602.18010).

The embedding of a prompt is the last-layer hidden state (after the final norm) at the position just
before the assistant's ``<emb>`` token, L2-normalised. Attention is causal, so the prompt is cut there and
nothing after it is computed; the LM head is never evaluated.

Besides ``embed_text`` / ``embed_audio``, the class exposes the three steps they run, for callers that
overlap them (the ingest worker builds batch k+1 while the model runs batch k): prepare a prompt
(``text_prompt`` / ``audio_prompt``), ``collate`` prompts into a batch, ``embed_collated`` that batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ._deps import require
from .audio.items import AudioItem, is_single_item, to_waveform
from .model import EmbedPrompts, EncodedPrompt, LoadedThinker, ThinkerModel, last_hidden
from .prompts import PROMPT_VERSION

if TYPE_CHECKING:
    from .store import EmbedderInfo

# AudioItem and to_waveform live in aurola_qdrant.audio; re-exported here, where they used to be defined.
__all__ = ["AudioItem", "AurolaEmbedder", "to_waveform"]


class AurolaEmbedder(ThinkerModel):
    """Embeds texts and audio clips into the AuroLA space; satisfies `aurola_qdrant.BatchEmbedder`.

    Build with `from_pretrained`. Outputs are float32 numpy arrays ``(n, dim)``, rows L2-normalised, in input
    order; the same input gives the same vector alone or in any batch (inputs are length-sorted into
    batches and left-padded, and positions come from the model's own rope-index function).
    """

    def __init__(self, thinker: LoadedThinker, *, batch_size: int = 8, max_batch_tokens: int = 32768) -> None:
        super().__init__(thinker, batch_size=batch_size, max_batch_tokens=max_batch_tokens)
        self.prompts = EmbedPrompts(self.inputs)

    # ------------------------------------------------------------ identity
    @property
    def dim(self) -> int:
        """Vector size: the thinker's hidden size (read from its config, never assumed)."""
        return self.thinker.hidden_size

    @property
    def prompt_version(self) -> str:
        return PROMPT_VERSION

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

    # ------------------------------------------------- prepare, collate, embed
    def text_prompt(self, text: str) -> EncodedPrompt:
        """The prompt of one caption/query (see `EmbedPrompts.text_prompt`)."""
        return self.prompts.text_prompt(text)

    def audio_prompt(self, waveform: np.ndarray, source: str = "<audio>") -> EncodedPrompt:
        """The prompt of one mono 16 kHz clip (see `EmbedPrompts.audio_prompt`)."""
        return self.prompts.audio_prompt(waveform, source)

    def preparer(self) -> EmbedPrompts:
        """A weight-free, picklable `audio_prompt` whose prompts carry their log-mel features: decode
        workers (the Ray engine's CPU tasks) run it, so the model's process only collates and embeds."""
        return EmbedPrompts(self.inputs, featurize=True)

    def collate(self, prompts: Sequence[EncodedPrompt]) -> dict[str, Any]:
        """One model batch of ``prompts`` (left-padded ids, log-mel features), for `embed_collated`."""
        return self.inputs.collate(prompts)

    def embed_collated(self, batch: dict[str, Any]) -> np.ndarray:
        """Vectors ``(B, dim)`` float32, L2-normalised, of one `collate`d batch, in its row order."""
        torch = require("torch")
        with torch.inference_mode():
            hidden = last_hidden(self.thinker.model, batch)[:, -1, :].float()
            hidden = torch.nn.functional.normalize(hidden, dim=-1)
        return hidden.cpu().numpy()

    # ----------------------------------------------------------- embedding
    def embed_text(self, texts: str | Sequence[str]) -> np.ndarray:
        """Embed captions/queries → ``(n, dim)`` float32, L2-normalised. Raises InputError on empty text."""
        items = [texts] if isinstance(texts, str) else list(texts)
        return self.embed_prompts([self.text_prompt(t) for t in items])

    def embed_audio(self, items: AudioItem | Iterable[AudioItem]) -> np.ndarray:
        """Embed clips (paths, ``(waveform, sr)`` pairs or AudioSegments) → ``(n, dim)`` float32.

        Raises AudioDecodeError for unreadable files, AudioTooLongError beyond the extractor's 300 s.
        """
        batch = [items] if is_single_item(items) else items
        prompts = []
        for item in cast(Iterable[AudioItem], batch):
            wav, source = to_waveform(item, self.max_audio_seconds)
            prompts.append(self.audio_prompt(wav, source))
        return self.embed_prompts(prompts)

    def embed_prompts(self, prompts: Sequence[EncodedPrompt]) -> np.ndarray:
        """Embed pre-built prompts, batching those of similar length together."""
        out = np.zeros((len(prompts), self.dim), dtype=np.float32)
        for idx in self._batches([len(p.input_ids) for p in prompts]):
            out[idx] = self.embed_collated(self.collate([prompts[i] for i in idx]))
        return out
