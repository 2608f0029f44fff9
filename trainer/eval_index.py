"""The two Qdrant collections an evaluation runs through, and the ranked candidate lists they return.

Audio goes in through `AudioStore` exactly as the ingest path stores it (one `SegmentRecord` per clip,
deterministic ids from the content hash and the bounds, embedder recorded in the collection), captions go
into a plain text collection with the same named vector. Queries use ``query_points`` with
``SearchParams(exact=True)``: embedded Qdrant is brute force anyway, and on a server it turns HNSW off so
that the reported recall is the model's, not the index's approximation.

Two clips with byte-identical audio and equal bounds share one point (ids are content-derived, as in
production); the point then counts as the right answer for either clip's captions.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from aurola_qdrant.audio import AudioSegment, audio_info, load_audio
from aurola_qdrant.ids import file_id
from aurola_qdrant.protocols import Embedder
from aurola_qdrant.retry import QDRANT_RETRY
from aurola_qdrant.store import AudioStore, SegmentRecord
from aurola_qdrant.store._net import Net
from trainer.manifest import ManifestItem

__all__ = ["Candidates", "EvalIndex", "exact_top"]

logger = logging.getLogger(__name__)
_QUERY_CHUNK = 64  # query requests per query_batch_points call
_CACHE_CLIPS = 512  # decoded clips kept for re-ranking (10 s clips: ~330 MB)


@dataclass(frozen=True)
class Candidates:
    """Ranked retrieval results of one direction.

    ids: (n_queries, limit) int64 target indices, best first, -1 where fewer targets exist.
    scores: (n_queries, limit) float32 cosine scores from Qdrant, -inf padding.
    positives: per query, the target indices that are correct (the ground truth; used only for ranks).
    """

    ids: np.ndarray
    scores: np.ndarray
    positives: tuple[frozenset[int], ...]


def exact_top(
    client: QdrantClient, collection: str, using: str, vectors: np.ndarray, limit: int, key: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``limit`` of every row of ``vectors``; targets are payload[key] (or the point id)."""
    n = vectors.shape[0]
    ids = np.full((n, limit), -1, dtype=np.int64)  # (n, limit)
    scores = np.full((n, limit), -np.inf, dtype=np.float32)  # (n, limit)
    exact = models.SearchParams(exact=True)
    for start in range(0, n, _QUERY_CHUNK):
        requests = [
            models.QueryRequest(
                query=[float(x) for x in vec],
                using=using,
                limit=limit,
                params=exact,
                with_payload=[key] if key else False,
            )
            for vec in vectors[start : start + _QUERY_CHUNK]
        ]
        with warnings.catch_warnings():  # local mode notes that exact=True changes nothing there: known
            warnings.filterwarnings("ignore", message="Local mode performs exact", category=UserWarning)
            responses = Net(client, collection, QDRANT_RETRY).call("query_batch_points", requests=requests)
        for row, response in enumerate(responses, start=start):
            for col, point in enumerate(response.points):
                target = (point.payload or {})[key] if key else point.id
                ids[row, col], scores[row, col] = int(target), float(point.score)
    return ids, scores


class EvalIndex:
    """Embeds a test set into an audio collection and a caption collection, then answers both directions.

    ``owner[j]`` is the clip index of caption j; ``point_of_clip[i]`` the audio point index of clip i.
    Collections are named ``<prefix>-<random>-audio`` / ``-text`` and dropped by `drop`.
    """

    def __init__(
        self,
        client: QdrantClient,
        embedder: Embedder,
        items: Sequence[ManifestItem],
        *,
        batch_size: int = 256,
        prefix: str = "aurola-eval",
    ) -> None:
        if not items:
            raise ValueError("the evaluation manifest holds no items; give at least one clip")
        self.client, self.embedder, self.items = client, embedder, list(items)
        self.batch_size = batch_size
        run = uuid.uuid4().hex[:8]
        self.audio_collection, self.text_collection = f"{prefix}-{run}-audio", f"{prefix}-{run}-text"
        self.vector_name = embedder.vector_name
        self.info = embedder.embedder_info()
        self.store = AudioStore(client, self.audio_collection, self.info)
        self.captions = [c for item in self.items for c in item.captions]
        self.owner = np.array([i for i, item in enumerate(self.items) for _ in item.captions], dtype=np.int64)
        self.point_of_clip = np.zeros(len(self.items), dtype=np.int64)
        self.point_audio: list[Any] = []  # per audio point: what the embedder/re-ranker takes
        self.text_vectors = np.zeros((0, embedder.dim), dtype=np.float32)
        self.audio_vectors = np.zeros((0, embedder.dim), dtype=np.float32)  # per clip
        self._cache: OrderedDict[int, AudioSegment] = OrderedDict()

    # ------------------------------------------------------------------ build
    def build(self) -> EvalIndex:
        """Embed and store all clips and captions. Raises AudioDecodeError/AudioTooLongError on bad audio."""
        self.store.ensure_collection()  # quiet on local mode: the store says what it cannot do, once
        self._store_audio()
        self.store.check_query_compatible(self.info)
        self._store_text()
        logger.info(
            "eval index: %d clips (%d audio points), %d captions",
            len(self.items),
            len(self.point_audio),
            len(self.captions),
        )
        return self

    def _records(self) -> Iterator[tuple[list[int], SegmentRecord, Any]]:
        """One (clip indices, record, audio item) per distinct point, in first-seen order."""
        by_point: dict[str, tuple[list[int], SegmentRecord, Any]] = {}
        for i, item in enumerate(self.items):
            info = audio_info(item.audio)
            start = item.start_s or 0.0
            end = info.duration_s if item.end_s is None else min(item.end_s, info.duration_s)
            excerpt = item.start_s is not None or item.end_s is not None
            record = SegmentRecord.of_segment(
                file_id(item.audio), str(item.audio), info, [(start, end)], 0, {"eval_index": len(by_point)}
            )
            if record.point_id in by_point:
                logger.warning("clip %d (%s) has the same audio as an earlier clip: one point", i, item.audio)
                by_point[record.point_id][0].append(i)
                continue
            audio = (str(item.audio), start, end) if excerpt else str(item.audio)
            by_point[record.point_id] = ([i], record, audio)
        yield from by_point.values()

    def audio_item(self, point: int) -> str | AudioSegment:
        """The audio of point ``point`` as the embedder takes it (a path, or a decoded excerpt)."""
        audio = self.point_audio[point]
        if isinstance(audio, tuple):
            return load_audio(audio[0], start_s=audio[1], end_s=audio[2])
        return str(audio)

    def decoded(self, point: int) -> AudioSegment:
        """The decoded audio of ``point``, kept in a small LRU cache: re-ranking revisits the same
        candidates across queries, and decoding a file each time would dominate a CPU run."""
        if point in self._cache:
            self._cache.move_to_end(point)
            return self._cache[point]
        audio = self.point_audio[point]
        segment = load_audio(*audio) if isinstance(audio, tuple) else load_audio(audio)
        self._cache[point] = segment
        if len(self._cache) > _CACHE_CLIPS:
            self._cache.popitem(last=False)
        return segment

    def _store_audio(self) -> None:
        entries = list(self._records())
        self.point_audio = [audio for _, _, audio in entries]
        self.audio_vectors = np.zeros((len(self.items), self.embedder.dim), dtype=np.float32)
        for start in range(0, len(entries), self.batch_size):
            chunk = entries[start : start + self.batch_size]
            vectors = self.embedder.embed_audio([self.audio_item(start + k) for k in range(len(chunk))])
            self.store.upsert_segments([record for _, record, _ in chunk], vectors)
            for k, (clips, _, _) in enumerate(chunk):
                self.point_of_clip[clips] = start + k
                self.audio_vectors[clips] = vectors[k]

    def _store_text(self) -> None:
        params = models.VectorParams(size=self.embedder.dim, distance=models.Distance.COSINE)
        name = self.text_collection
        net = Net(self.client, name, QDRANT_RETRY)
        net.call(
            "create_collection",
            vectors_config={self.vector_name: params},
            metadata={"aurola_eval": self.info.describe()},
        )
        parts = []
        for start in range(0, len(self.captions), self.batch_size):
            vectors = self.embedder.embed_text(self.captions[start : start + self.batch_size])
            points = [
                models.PointStruct(
                    id=start + k,
                    vector={self.vector_name: vec.tolist()},
                    payload={"clip": int(self.owner[start + k]), "text": self.captions[start + k]},
                )
                for k, vec in enumerate(vectors)
            ]
            net.call("upsert", points=points, wait=True)
            parts.append(vectors)
        self.text_vectors = np.concatenate(parts)

    # ----------------------------------------------------------------- query
    def text_to_audio(self, limit: int) -> Candidates:
        """Every caption against the audio collection; targets are audio point indices."""
        ids, scores = exact_top(
            self.client, self.audio_collection, self.vector_name, self.text_vectors, limit, "eval_index"
        )
        positives = tuple(frozenset({int(self.point_of_clip[c])}) for c in self.owner)
        return Candidates(ids, scores, positives)

    def audio_to_text(self, limit: int) -> Candidates:
        """Every clip against the caption collection; targets are caption indices."""
        ids, scores = exact_top(
            self.client, self.text_collection, self.vector_name, self.audio_vectors, limit, None
        )
        mine: list[set[int]] = [set() for _ in self.items]
        for j, clip in enumerate(self.owner):
            mine[clip].add(j)
        return Candidates(ids, scores, tuple(frozenset(s) for s in mine))

    def drop(self) -> None:
        """Delete both collections (best effort: a failure is logged, not raised).

        Through the store's door with one try and no waiting: cleanup must not sit out an outage budget."""
        once = replace(QDRANT_RETRY, max_attempts=1)
        for name in (self.audio_collection, self.text_collection):
            try:
                Net(self.client, name, once).call("delete_collection")
            except Exception as err:  # cleanup must not hide the evaluation's own result or error
                logger.warning("could not delete evaluation collection %r: %s", name, err)
