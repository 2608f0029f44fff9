"""The in-process engine ingests URI sources (here ``file://``, which goes through fsspec like s3:// and
http:// do): same point ids as the same files given as paths, the URI kept as ``source``, and a manifest
row naming a missing object reported as a failure (the Ray engine's tests cover http:// and s3://)."""

from __future__ import annotations

from qdrant_client import QdrantClient

from ingest import run_ingest
from ingest.progress import NullProgress


class _Recording(NullProgress):
    def start(self, summary, files_total, bytes_total):
        super().start(summary, files_total, bytes_total)
        self.at_start = bytes_total


def test_file_uris_ingest_like_paths(h, tmp_path, tiny_embedder):
    files = [
        h.write_tone(tmp_path / "in" / f"f{i}.wav", 1.0 + 2 * i, freq=300 + 50 * i, seed=i) for i in range(3)
    ]
    uris = [f.resolve().as_uri() for f in files]
    cfg = h.config(failures_path=None)
    client = QdrantClient(":memory:")
    try:
        store = h.AudioStore(client, "sounds", h.embedder_info(tiny_embedder, cfg))
        manifest = tmp_path / "list.jsonl"
        rows = [*uris, (tmp_path / "gone.wav").as_uri()]
        manifest.write_text("".join(f'{{"path": "{u}"}}\n' for u in rows), encoding="utf-8")
        progress = _Recording()
        summary = run_ingest([str(manifest)], store, tiny_embedder, cfg, progress=progress)
        points = h.all_points(client, "sounds")
        # a manifest gives no sizes: each URI's joins the progress total when probed, none is missing
        assert progress.bytes_total == progress.bytes_done == sum(f.stat().st_size for f in files)
        assert progress.at_start == 0
        listed = _Recording()  # a prefix listing gives them up front
        again = run_ingest([(tmp_path / "in").resolve().as_uri() + "/"], store, tiny_embedder, cfg,
                           progress=listed)  # fmt: skip
        assert again.files_skipped == 3 and listed.at_start == progress.bytes_total == listed.bytes_done
    finally:
        client.close()
    assert summary.files_ingested == 3 and summary.files_failed == 1
    assert [(f["path"], f["reason"]) for f in summary.failures] == [(rows[-1], "missing")]
    assert {str(p.id) for p in points} == h.expected_ids(files)
    assert {p.payload["source"] for p in points} == set(uris)
