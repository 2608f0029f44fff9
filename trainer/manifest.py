"""The training/evaluation manifest (JSONL) and the tag vocabulary (tag -> cluster id).

One JSON object per line (blank lines are skipped; unknown keys are ignored):

    audio          str, required. A relative path is resolved against the manifest's folder.
    caption        str or list of str: captions for evaluation (AudioCaps-style, several per clip) and,
                   when none of the three fields below is present, the training captions.
    caption_long   str: a full-sentence description          \
    caption_short  str: a short caption                        > the multi-granular training captions
    tags           list of str: tag caption = ", ".join(tags) /
    start_s, end_s number: an excerpt of the file, in seconds (0 <= start_s < end_s)
    id             str (an int is accepted and turned into str)
    metadata       object: anything else (the synthetic generator stores its attributes here)

At least one of caption / caption_long / caption_short / non-empty tags is required. Files are not opened
while reading (a million-line manifest must read fast); a missing file fails later, at decoding time.

Tag vocabulary: a JSON object {tag: cluster_id} or a TSV file of `tag<TAB>cluster_id` lines. Tags are
compared after lower-casing and collapsing whitespace. A tag missing from the vocabulary gets its own
stable singleton cluster (a negative id from a hash of the normalised tag), rather than being ignored:
ignoring it would make "dog, siren" and "dog" equal cluster sets and so wrongly extra positives.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aurola_qdrant.errors import AurolaError

__all__ = [
    "ManifestError",
    "ManifestItem",
    "draw_caption",
    "load_tag_vocabulary",
    "read_manifest",
    "tag_cluster_set",
    "write_manifest",
    "write_tag_vocabulary",
]

logger = logging.getLogger(__name__)


class ManifestError(AurolaError, ValueError):
    """A malformed manifest or tag-vocabulary line; `path` and `line` (1-based, 0 = whole file) locate it."""

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{self.path}:{line}: {message}" if line else f"{self.path}: {message}")

    def __reduce__(self):  # picklable across DataLoader workers
        return (type(self), (self.path, self.line, self.message))


@dataclass(frozen=True)
class ManifestItem:
    """One clip of a manifest.

    `captions` holds every caption string for evaluation: the `caption` field's entries if given, else
    caption_long and caption_short (those present), else the tag caption; left empty at construction it is
    derived that way. Raises ValueError if the item has no text at all or a bad excerpt.
    """

    audio: Path
    captions: tuple[str, ...] = ()
    caption_long: str | None = None
    caption_short: str | None = None
    tags: tuple[str, ...] = ()
    start_s: float | None = None
    end_s: float | None = None
    id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.captions:
            derived = tuple(c for c in (self.caption_long, self.caption_short) if c)
            object.__setattr__(self, "captions", derived or ((", ".join(self.tags),) if self.tags else ()))
        if not self.captions:
            raise ValueError(f"item {self.audio} has no caption; give captions, caption_long/short or tags")
        if self.start_s is not None and self.start_s < 0:
            raise ValueError(f"start_s={self.start_s} is negative; use >= 0")
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"end_s={self.end_s} is not after start_s={self.start_s}")

    def granularities(self) -> list[tuple[str, str]]:
        """The multi-granular training captions present, as (kind, text) with kind "long"/"short"/"tags"."""
        out = []
        if self.caption_long:
            out.append(("long", self.caption_long))
        if self.caption_short:
            out.append(("short", self.caption_short))
        if self.tags:
            out.append(("tags", ", ".join(self.tags)))
        return out

    def to_json(self, relative_to: Path | None = None) -> dict[str, Any]:
        """The manifest line as a dict; `audio` is written relative to `relative_to` when it lies below it."""
        audio = self.audio
        if relative_to is not None and audio.is_relative_to(relative_to):
            audio = audio.relative_to(relative_to)
        row: dict[str, Any] = {"audio": audio.as_posix()}
        if self.id is not None:
            row["id"] = self.id
        row["caption"] = list(self.captions)
        for key in ("caption_long", "caption_short", "start_s", "end_s"):
            if getattr(self, key) is not None:
                row[key] = getattr(self, key)
        if self.tags:
            row["tags"] = list(self.tags)
        if self.metadata:
            row["metadata"] = dict(self.metadata)
        return row


def draw_caption(item: ManifestItem, rng: np.random.Generator | random.Random) -> tuple[str, bool]:
    """Draw one training caption: a granularity uniformly among those present (METHOD.md, Hybrid-NCE),
    or, for an item with none, one of its `captions` uniformly. Returns (text, is_tag_caption)."""
    options = item.granularities()
    pool = options if options else [("caption", c) for c in item.captions]
    index = int(rng.integers(len(pool))) if isinstance(rng, np.random.Generator) else rng.randrange(len(pool))
    kind, text = pool[index]
    return text, kind == "tags"


def _str_list(value: Any, key: str, fail) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail(f"'{key}' must be a string or a list of strings, got {json.dumps(value)[:80]}")
    if any(not v.strip() for v in value):
        fail(f"'{key}' contains an empty string")
    return tuple(value)


def _parse_line(row: Any, base: Path, fail) -> ManifestItem:
    if not isinstance(row, dict):
        fail(f"expected a JSON object, got {type(row).__name__}")
    audio = row.get("audio")
    if not isinstance(audio, str) or not audio.strip():
        fail("missing 'audio' (a path string)" if audio is None else "'audio' must be a non-empty string")
    captions = _str_list(row["caption"], "caption", fail) if row.get("caption") is not None else ()
    texts: dict[str, str | None] = {}
    for key in ("caption_long", "caption_short"):
        value = row.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            fail(f"'{key}' must be a non-empty string, got {json.dumps(value)[:80]}")
        texts[key] = value
    tags = row.get("tags")
    if tags is not None and (not isinstance(tags, list)):
        fail(f"'tags' must be a list of strings, got {json.dumps(tags)[:80]}")
    tag_tuple = _str_list(tags, "tags", fail) if tags else ()
    if not captions and not texts["caption_long"] and not texts["caption_short"] and not tag_tuple:
        fail("no caption: give 'caption', 'caption_long', 'caption_short' or non-empty 'tags'")
    span: dict[str, float | None] = {}
    for key in ("start_s", "end_s"):
        value = row.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            fail(f"'{key}' must be a number of seconds, got {json.dumps(value)[:80]}")
        span[key] = None if value is None else float(value)
    item_id = row.get("id")
    if item_id is not None and (isinstance(item_id, bool) or not isinstance(item_id, str | int)):
        fail(f"'id' must be a string, got {json.dumps(item_id)[:80]}")
    metadata = row.get("metadata", {})
    if not isinstance(metadata, dict):
        fail(f"'metadata' must be a JSON object, got {type(metadata).__name__}")
    path = Path(audio)
    try:
        return ManifestItem(
            audio=path if path.is_absolute() else base / path,
            captions=captions,
            caption_long=texts["caption_long"],
            caption_short=texts["caption_short"],
            tags=tag_tuple,
            start_s=span["start_s"],
            end_s=span["end_s"],
            id=None if item_id is None else str(item_id),
            metadata=metadata,
        )
    except ValueError as exc:
        fail(str(exc))
        raise  # unreachable: fail raises


def read_manifest(path: str | Path) -> list[ManifestItem]:
    """Read a JSONL manifest. Raises ManifestError quoting file and line for any malformed line, and
    OSError if the file cannot be opened."""
    path = Path(path)
    base = path.parent.absolute()
    items: list[ManifestItem] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue

            def fail(message: str, number: int = number) -> None:
                raise ManifestError(path, number, message)

            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                message = f"not valid JSON ({exc.msg} at column {exc.colno})"
                raise ManifestError(path, number, message) from None
            items.append(_parse_line(row, base, fail))
    if not items:
        logger.warning("manifest %s holds no items", path)
    return items


def write_manifest(path: str | Path, items: Iterable[ManifestItem]) -> Path:
    """Write items as JSONL (audio paths relative to the manifest's folder when below it); returns path."""
    path = Path(path)
    base = path.parent.absolute()
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item.to_json(base), ensure_ascii=False) + "\n")
    return path


def _norm_tag(tag: str) -> str:
    return " ".join(tag.lower().split())


def load_tag_vocabulary(path: str | Path) -> dict[str, int]:
    """Read {tag: cluster_id} from JSON (an object) or TSV (`tag<TAB>id` lines; '#' starts a comment).
    Tags are normalised (lower case, single spaces). Raises ManifestError on a malformed entry."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    entries: list[tuple[int, Any, Any]] = []
    if text.lstrip().startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError(path, exc.lineno, f"not valid JSON ({exc.msg})") from None
        entries = [(0, k, v) for k, v in obj.items()]
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 2 or not fields[1].strip().lstrip("-").isdigit():
                raise ManifestError(path, number, f"expected 'tag<TAB>cluster_id', got {line[:80]!r}")
            entries.append((number, fields[0], int(fields[1])))
    vocab: dict[str, int] = {}
    for number, tag, cluster in entries:
        if isinstance(cluster, bool) or not isinstance(cluster, int) or not _norm_tag(tag):
            raise ManifestError(path, number, f"bad entry {tag!r}: {cluster!r}; want a tag and an integer id")
        key = _norm_tag(tag)
        if vocab.get(key, cluster) != cluster:
            raise ManifestError(path, number, f"tag {key!r} given two clusters ({vocab[key]} and {cluster})")
        vocab[key] = cluster
    return vocab


def write_tag_vocabulary(path: str | Path, vocab: Mapping[str, int]) -> Path:
    """Write the vocabulary as TSV if the name ends in .tsv, else as a JSON object; returns path."""
    path = Path(path)
    if path.suffix.lower() == ".tsv":
        path.write_text("".join(f"{t}\t{c}\n" for t, c in vocab.items()), encoding="utf-8")
    else:
        path.write_text(json.dumps(dict(vocab), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def tag_cluster_set(tags: Iterable[str], vocab: Mapping[str, int]) -> frozenset[int]:
    """The set C of cluster ids of `tags` (Hybrid-NCE). Unknown tags map to a stable negative id."""
    out = set()
    for tag in tags:
        cluster = vocab.get(tag)
        if cluster is None:
            key = _norm_tag(tag)
            cluster = vocab.get(key)
            if cluster is None:
                digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
                cluster = -1 - (int.from_bytes(digest, "big") >> 2)
        out.add(cluster)
    return frozenset(out)
