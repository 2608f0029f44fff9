"""`TextCollection`: captions or labels stored as points, the candidates of audio→text search.

One point per distinct text: id = UUID5 of the text (re-adding a text never duplicates it), the
embedder's text vector under its named vector, payload ``{"text": ..., **metadata}``. The embedder is
recorded in the collection metadata exactly as for audio collections (the schema and compatibility
checks are `aurola_qdrant.store`'s), so a mismatched query embedder is refused the same way.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qdrant_client import QdrantClient, models

from ..errors import InputError
from ..retry import QDRANT_RETRY, RetryPolicy
from ..store import AudioStore, EmbedderInfo, StoreConfig
from ..store._net import Net
from .compat import embedder_info

if TYPE_CHECKING:
    from ..protocols import Embedder

__all__ = ["TEXT_NAMESPACE", "TextCollection", "ingest_texts", "read_text_file", "text_point_id"]

logger = logging.getLogger(__name__)

# Fixed forever: changing it would change every text point id and duplicate existing text collections.
TEXT_NAMESPACE = uuid.UUID("5d0f3c52-4a8e-4f47-9a53-0b8f6f2ad1c7")
# "text" is indexed (keyword) so that texts can be filtered on; the store adds its audio-field indexes too,
# which are empty and cost nothing in a text collection.
TEXT_CONFIG = StoreConfig(payload_indexes={"text": "keyword"})


def text_point_id(text: str) -> str:
    """The point id (UUID5 string) of ``text``: the same text always maps to the same point."""
    return str(uuid.uuid5(TEXT_NAMESPACE, text))


class TextCollection:
    """Texts of one embedder (``info``) in ``collection``; reuses `AudioStore` for schema and reads."""

    def __init__(
        self, client: QdrantClient, collection: str, info: EmbedderInfo, *, retry: RetryPolicy | None = None
    ) -> None:
        self.client = client
        self.collection = collection
        self.info = info
        self.policy = retry if retry is not None else QDRANT_RETRY
        self.store = AudioStore(client, collection, info, TEXT_CONFIG, retry=self.policy)

    def ensure_collection(self) -> None:
        """Create or validate the collection and its recorded embedder (idempotent)."""
        self.store.ensure_collection()

    def add(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> int:
        """Store ``texts`` with ``vectors`` (shape ``(len(texts), dim)``); returns distinct texts written.

        New texts are inserted with their payload; texts already present (any embedder) only get this
        embedder's vector, so other embedders' vectors and the first payload are kept. Raises InputError on
        an empty text or a metadata ``"text"`` key, ValueError on a vector shape mismatch.
        """
        meta = list(metadata) if metadata is not None else [{} for _ in texts]
        arr = np.asarray(vectors, dtype=np.float32)
        if arr.shape != (len(texts), self.info.dim) or len(meta) != len(texts):
            raise ValueError(
                f"need vectors of shape ({len(texts)}, {self.info.dim}) and {len(texts)} metadata entries, "
                f"got {arr.shape} and {len(meta)}"
            )
        rows: dict[str, tuple[dict[str, Any], list[float]]] = {}
        for text, extra, vec in zip(texts, meta, arr, strict=True):
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"texts must be non-empty strings, got {text!r}")
            if "text" in extra:
                raise InputError(f"metadata of {text!r} must not have a 'text' key (it is the text itself)")
            rows[text_point_id(text)] = ({**extra, "text": text}, vec.tolist())
        ids = list(rows)
        step = TEXT_CONFIG.batch_size(self.info.dim)
        for start in range(0, len(ids), step):
            self._write({pid: rows[pid] for pid in ids[start : start + step]})
        logger.info("stored %d text(s) in %r", len(rows), self.collection)
        return len(rows)

    def _write(self, rows: dict[str, tuple[dict[str, Any], list[float]]]) -> None:
        name = self.info.vector_name
        points = [models.PointStruct(id=pid, vector={name: v}, payload=p) for pid, (p, v) in rows.items()]
        vectors = [models.PointVectors(id=pid, vector={name: v}) for pid, (_, v) in rows.items()]
        # insert-only leaves existing points (and other embedders' vectors) alone; update_vectors then sets
        # our vector on every row, new or old. Both are idempotent, so retries are harmless.
        ops: list[Any] = [
            models.UpsertOperation(
                upsert=models.PointsList(points=points, update_mode=models.UpdateMode.INSERT_ONLY)
            ),
            models.UpdateVectorsOperation(update_vectors=models.UpdateVectors(points=vectors)),
        ]
        Net(self.client, self.collection, self.policy).call(
            "batch_update_points", update_operations=ops, wait=True
        )


def read_text_file(path: str | Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Texts and metadata from ``path``: JSONL (``.jsonl``/``.ndjson``, objects with a ``"text"`` key, the
    other keys become metadata) or plain text (one caption/label per line). Blank lines are skipped.

    Raises InputError quoting the line number of a malformed line.
    """
    p = Path(path)
    texts: list[str] = []
    meta: list[dict[str, Any]] = []
    is_jsonl = p.suffix.lower() in (".jsonl", ".ndjson")
    for number, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if not is_jsonl:
            texts.append(line.strip())
            meta.append({})
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{p}:{number}: not a JSON object ({err})") from err
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            raise InputError(
                f'{p}:{number}: need an object with a non-empty "text" string, got {line[:80]!r}'
            )
        texts.append(obj.pop("text").strip())
        meta.append(obj)
    return texts, meta


def ingest_texts(
    client: QdrantClient,
    collection: str,
    embedder: Embedder,
    texts: Sequence[str],
    metadata: Sequence[Mapping[str, Any]] | None = None,
    *,
    batch_size: int = 256,
    retry: RetryPolicy | None = None,
) -> int:
    """Embed ``texts`` with ``embedder`` and store them in ``collection`` (created if missing).

    Returns the number of distinct texts written. Raises CollectionMismatchError when the collection
    records another embedder for this vector name.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    target = TextCollection(client, collection, embedder_info(embedder), retry=retry)
    target.ensure_collection()
    unique: dict[str, Mapping[str, Any]] = {}  # first occurrence wins, as in the collection itself
    for text, extra in zip(texts, metadata if metadata is not None else [{}] * len(texts), strict=True):
        unique.setdefault(text, extra)
    items = list(unique.items())
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        words = [text for text, _ in chunk]
        target.add(words, embedder.embed_text(words), [extra for _, extra in chunk])
    return len(items)
