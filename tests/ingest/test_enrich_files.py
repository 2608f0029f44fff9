"""`ingest_per_file`: an archive ingested as catalog points (one per recording), on both embedded engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from qdrant_client import QdrantClient

from aurola_qdrant.errors import CollectionMismatchError
from aurola_qdrant.search import AudioSearch
from aurola_qdrant.store import AudioStore
from aurola_qdrant.testing import FakeEmbedder
from ingest.enrich_files import ingest_per_file
from ingest.sources import SourceFile


@pytest.fixture(params=("local", "edge"))
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from aurola_qdrant.store.edge import EdgeEngine

    c: Any = QdrantClient(":memory:") if request.param == "local" else EdgeEngine(tmp_path / "edge")
    yield c
    c.close()


def test_one_point_per_recording_resumable(client: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    paths = []
    for i, seconds in enumerate((4.0, 25.0)):
        paths.append(tmp_path / f"r{i}.wav")
        sf.write(paths[-1], (0.1 * rng.standard_normal(int(seconds * 8000))).astype(np.float32), 8000)
    copy = tmp_path / "copy.wav"
    copy.write_bytes(paths[0].read_bytes())
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF" + b"\0" * 40)
    files = [SourceFile(str(p), {"project": "x"}) for p in (*paths, copy, broken, tmp_path / "gone.wav")]
    failures = tmp_path / "f.jsonl"
    run = lambda: ingest_per_file(  # noqa: E731
        files, client, "archive", FakeEmbedder(dim=8), window_s=10.0, failures_path=failures
    )
    summary = run()
    assert (summary.points_dense, summary.points_multivector) == (1, 1)  # the copy is the same point
    assert summary.windows_embedded == 1 + 3 and summary.points_failed == 2
    reasons = {
        json.loads(line)["path"]: json.loads(line)["reason"] for line in failures.read_text().splitlines()
    }
    assert set(reasons) == {str(broken), str(tmp_path / "gone.wav")}
    assert client.count("archive").count == 3  # two recordings + the undecodable one (no vectors)
    again = run()
    assert (again.points_enriched, again.points_skipped) == (0, 2)
    hits = AudioSearch(client, "archive", FakeEmbedder(dim=8)).search("anything", limit=5)
    assert sorted(h.source for h in hits) == sorted(str(p) for p in paths)
    assert all(h.payload["project"] == "x" and h.window_index is not None for h in hits)


def test_a_per_segment_collection_is_refused(client: Any, tmp_path: Path) -> None:
    AudioStore.for_embedder(
        client, "segs", FakeEmbedder(dim=8), window_s=10.0, hop_s=10.0
    ).ensure_collection()
    with pytest.raises(CollectionMismatchError, match="per-segment"):
        ingest_per_file([], client, "segs", FakeEmbedder(dim=8), window_s=10.0)
