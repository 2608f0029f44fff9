"""Where a checkpoint's files are: a local folder checked for what a thinker needs, or a hub snapshot.

A hub checkpoint is fetched with one ``snapshot_download`` (or found in the Hugging Face cache) before
transformers sees it, so transformers only ever reads a local folder. That is what makes an unreachable or
disabled hub fail at once with one message: transformers' own per-file look-ups retry each file for ~50 s
and log every retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._deps import require
from ..errors import ModelLoadError

__all__ = ["CheckpointFiles", "check_checkpoint_folder", "hub_snapshot"]

# What the loader reads; everything else in a hub repo (README, images, .bin duplicates) is not fetched.
_HUB_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model", "*.tiktoken"]
_LOCAL_HINT = "or pass a local checkpoint folder instead (--model /path/to/checkpoint)"


@dataclass(frozen=True)
class CheckpointFiles:
    """A checkpoint folder ready to load, and where it came from."""

    folder: Path
    repo_id: str | None = None  # the hub repo for a snapshot, None for a local folder
    commit: str | None = None  # the snapshot's commit hash


def check_checkpoint_folder(folder: Path) -> None:
    """Raise ModelLoadError naming every missing part when ``folder`` is not a thinker checkpoint: a
    config.json, weights (``*.safetensors`` or ``pytorch_model*.bin``), a tokenizer (tokenizer.json, or
    vocab.json with merges.txt) and preprocessor_config.json (the Whisper feature extractor)."""

    def has(*names: str) -> bool:
        return all((folder / n).is_file() for n in names)

    missing = []
    if not has("config.json"):
        missing.append("config.json")
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("pytorch_model*.bin")):
        missing.append("weights (*.safetensors)")
    if not (has("tokenizer.json") or has("vocab.json", "merges.txt")):
        missing.append("tokenizer (tokenizer.json, or vocab.json + merges.txt)")
    if not has("preprocessor_config.json"):
        missing.append("preprocessor_config.json (the audio feature extractor)")
    if not missing:
        return
    msg = f"{folder} is not a model checkpoint folder: it has no {', no '.join(missing)}"
    if (folder / "final" / "config.json").is_file():  # a training run's folder: its export is one level down
        msg += f"; did you mean {folder / 'final'}?"
    raise ModelLoadError(msg)


def hub_snapshot(repo_id: str, revision: str | None, *, asked: str) -> CheckpointFiles:
    """The local snapshot of hub repo ``repo_id``: downloaded once, or taken from the Hugging Face cache
    when the hub cannot be reached or ``HF_HUB_OFFLINE=1`` is set. ``asked`` is what the user typed.

    Raises:
        ModelLoadError: the repo is neither reachable nor cached, does not exist, or is gated/private.
    """
    hub = require("huggingface_hub")
    from huggingface_hub import errors

    what = repo_id if asked == repo_id else f"{asked!r} (hub repo {repo_id})"
    no_folder = f" There is no local folder {asked!r} either." if asked.count("/") == 1 else ""
    try:
        folder = hub.snapshot_download(repo_id, revision=revision, allow_patterns=_HUB_PATTERNS)
    except errors.LocalEntryNotFoundError as exc:
        if hub.constants.HF_HUB_OFFLINE:
            why, fix = "which HF_HUB_OFFLINE=1 turns off", "unset HF_HUB_OFFLINE to download it once"
        else:
            cause = exc.__cause__ or exc
            why, fix = f"which is not reachable ({type(cause).__name__})", "connect once to download it"
        raise ModelLoadError(
            f"model {what} needs the Hugging Face hub, {why}, and is not in the local cache: {fix}, "
            f"{_LOCAL_HINT}.{no_folder}"
        ) from None
    except errors.RevisionNotFoundError:
        raise ModelLoadError(f"model {what} has no revision {revision!r} on the hub") from None
    except errors.RepositoryNotFoundError:  # GatedRepoError included
        raise ModelLoadError(
            f"model {what} was not found on the Hugging Face hub (or it is gated/private: log in with "
            f"`hf auth login`); check the name, {_LOCAL_HINT}.{no_folder}"
        ) from None
    except (errors.HfHubHTTPError, OSError) as exc:
        raise ModelLoadError(f"cannot fetch model {what} from the hub: {exc}") from exc
    path = Path(folder)
    try:
        check_checkpoint_folder(path)
    except ModelLoadError as exc:
        raise ModelLoadError(f"the hub snapshot of {what} is incomplete: {exc}") from None
    return CheckpointFiles(path, repo_id=repo_id, commit=path.name)
