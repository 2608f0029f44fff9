"""Regression: the embedded (local-mode) store is written by the planner and the uploader threads at once.

Duplicate content (one folder reachable through two symlinks) makes the planner record extra paths
(`AudioStore.add_source`) while the uploader upserts; small-hop windowing makes the uploads many and
small. qdrant-client's local mode is not thread-safe, and before the store's door serialised it these runs
crashed most of the time (IndexError, numpy broadcast errors, ``sqlite3.OperationalError``). Each case runs
10 times in a row and must end with exactly the expected points every time.
"""

from __future__ import annotations

import os

import pytest

from aurola_qdrant.store import open_embedded
from ingest import run_ingest

RUNS = 10


@pytest.fixture
def twin_archive(h, tmp_path):
    """Files under ``real/`` reachable as ``a/`` and ``b/`` (symlinks): every content under two paths."""
    real = tmp_path / "arch" / "real"
    files = [
        h.write_tone(real / f"f{i:02d}.wav", 1.0 + (i % 3), freq=200 + 37 * i, seed=i) for i in range(40)
    ]
    for name in ("a", "b"):
        os.symlink(real, tmp_path / "arch" / name)
    return tmp_path / "arch", files


def _ingest_fresh(h, tiny_embedder, db, sources, cfg):
    client = open_embedded(db)
    try:
        store = h.AudioStore(client, "sounds", h.embedder_info(tiny_embedder, cfg))
        summary = run_ingest(sources, store, tiny_embedder, cfg)
        points = h.all_points(client, "sounds")
    finally:
        client.close()
    return summary, points


@pytest.mark.parametrize(
    ("window", "hop"),
    [(2.0, None), (1.0, 0.02)],
    ids=["two-symlinks", "small-hop"],
)
def test_twin_paths_ingest_exactly_every_time(h, tmp_path, tiny_embedder, twin_archive, window, hop):
    root, files = twin_archive
    files = files if hop is None else files[:12]  # ~50-150 windows per file at a 20 ms hop
    sources = [str(root / "a" / f.name) for f in files] + [str(root / "b" / f.name) for f in files]
    cfg = h.config(window_s=window, hop_s=hop, batch_size=1 if hop is None else 4, probe_chunk=4)
    want = h.expected_ids([root / "a" / f.name for f in files], window, hop)
    for run in range(RUNS):
        db = tmp_path / f"db{run}"
        summary, points = _ingest_fresh(h, tiny_embedder, db, sources, cfg)
        assert summary.error is None, (run, summary.error)
        # a twin planned after its content was flagged complete counts as already complete, else duplicate
        assert summary.files_ingested == len(files), run
        assert summary.files_duplicate + summary.files_skipped == len(files), run
        ids = [str(p.id) for p in points]
        assert len(ids) == len(set(ids)) and set(ids) == want, run
        assert all(len(p.payload["sources"]) == 2 for p in points), run
