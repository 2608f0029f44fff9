"""Loading an AuroLA thinker checkpoint (hub repo id or local folder) without torchvision.

The Hugging Face ``Qwen2_5OmniProcessor`` pulls in image and video processors that need torchvision; an
audio-text model needs none of that, so we load the three parts we use ourselves: the thinker weights, the
tokenizer (with its chat template) and the Whisper feature extractor.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._deps import require
from ..errors import ModelLoadError
from ..prompts import EMB_TOKEN
from ..registry import resolve_model
from .identity import local_model_id, vector_name_for
from .quiet import hf_progress_bars, progress_wanted
from .source import CheckpointFiles, check_checkpoint_folder, hub_snapshot

__all__ = ["LoadedThinker", "load_thinker", "pick_device", "pick_dtype"]

log = logging.getLogger(__name__)


@dataclass
class LoadedThinker:
    """A thinker ready for inference, plus everything needed to build its inputs."""

    model: Any  # Qwen2_5OmniThinkerForConditionalGeneration (vision tower dropped)
    tokenizer: Any
    feature_extractor: Any
    device: Any  # torch.device
    dtype: Any  # torch.dtype
    name: str  # what the user asked for (registry name, folder or repo id)
    model_id: str  # repo id, or a local checkpoint's recorded name (aurola_model.json), else its folder name
    revision: str  # hub commit or a content fingerprint of a local folder
    vector_name: str  # Qdrant vector name: the registry name, or the sanitised model id

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.text_config.hidden_size)


def pick_device(device: str | None = None):
    torch = require("torch")
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(device, dtype: str | Any | None = None):
    """bf16 on CUDA (as the official code runs), fp32 elsewhere, unless ``dtype`` says otherwise."""
    torch = require("torch")
    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if isinstance(dtype, str):
        try:
            return {
                "float32": torch.float32,
                "fp32": torch.float32,
                "bfloat16": torch.bfloat16,
                "bf16": torch.bfloat16,
                "float16": torch.float16,
                "fp16": torch.float16,
            }[dtype]
        except KeyError:
            raise ValueError(f"unknown dtype {dtype!r}; use float32, bfloat16 or float16") from None
    return dtype


def _local_fingerprint(folder: Path) -> str:
    """A cheap content fingerprint of a local checkpoint: config bytes plus the size and 16 sampled 64 KiB
    blocks of every weight file, so retrained weights of the same shape get a different revision without
    hashing gigabytes."""
    h = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "chat_template.jinja"):
        p = folder / name
        if p.is_file():
            h.update(name.encode() + p.read_bytes())
    for p in sorted(folder.glob("*.safetensors")):
        size = p.stat().st_size
        h.update(f"{p.name}:{size}".encode())
        with p.open("rb") as f:
            for k in range(16):
                f.seek(size * k // 16)
                h.update(f.read(1 << 16))
    return "sha256:" + h.hexdigest()[:16]


def load_thinker(
    name_or_path: str | os.PathLike[str],
    *,
    device: str | None = None,
    dtype: str | Any | None = None,
    revision: str | None = None,
    keep_lm_head: bool = False,
) -> LoadedThinker:
    """Load weights, tokenizer and feature extractor; add ``<emb>`` only if the tokenizer lacks it.

    A hub checkpoint is fetched (or found in the Hugging Face cache) as one snapshot first, so an
    unreachable hub or ``HF_HUB_OFFLINE=1`` without a cached copy fails at once. Progress bars are shown
    only when ``aurola_qdrant`` logs at INFO.

    Raises:
        UnknownModelError: the name is not a registry name, folder or repo id; a path that does not exist.
        ModelLoadError: the folder is not a checkpoint (the message names what is missing), the hub repo is
            neither reachable nor cached, or the files do not load as a Qwen2.5-Omni thinker.
    """
    require("torch")
    transformers = require("transformers")
    name = os.fspath(name_or_path)
    source = resolve_model(name)
    show = progress_wanted()
    if Path(source).is_dir():
        files = CheckpointFiles(Path(source))
        check_checkpoint_folder(files.folder)
    else:
        with hf_progress_bars(show):
            files = hub_snapshot(source, revision, asked=name)
    dev = pick_device(device)
    dt = pick_dtype(dev, dtype)
    folder = str(files.folder)
    try:
        with hf_progress_bars(show):
            tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
            feature_extractor = transformers.WhisperFeatureExtractor.from_pretrained(folder)
            model = transformers.Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(
                folder, dtype=dt, attn_implementation="sdpa"
            )
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"cannot load an AuroLA thinker from {source!r}: {exc}") from exc
    if tokenizer.chat_template is None:
        raise ModelLoadError(f"{source!r} has no chat template; AuroLA prompts need Qwen2.5-Omni's template")

    if EMB_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_tokens([EMB_TOKEN])
        model.resize_token_embeddings(len(tokenizer))
        log.info("added %s to the tokenizer of %s", EMB_TOKEN, source)
    # The vision tower is never used for audio/text; free it. The LM head is only needed by the re-ranker.
    model.model.visual = None
    if not keep_lm_head:
        model.lm_head = None
    model.to(dev).eval()
    tokenizer.padding_side = "left"

    if files.repo_id is None:
        model_id = local_model_id(files.folder)
        rev = _local_fingerprint(files.folder)
    else:
        model_id = files.repo_id
        rev = files.commit or revision or "main"
    return LoadedThinker(
        model=model,
        tokenizer=tokenizer,
        feature_extractor=feature_extractor,
        device=dev,
        dtype=dt,
        name=name,
        model_id=model_id,
        revision=str(rev),
        vector_name=vector_name_for(name, model_id),
    )
