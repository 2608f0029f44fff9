"""The Ray engine's stages called directly (no cluster): the decode task prepares each window (prompt ids
and log-mel features, on the CPU worker), the embedder actor only collates and runs the model, and the
vectors equal `embed_audio`'s."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from aurola_qdrant.audio import iter_windows, plan_windows  # noqa: E402
from aurola_qdrant.testing import FakeEmbedder  # noqa: E402
from ingest.ray.stages import EmbedActor, decode_rows  # noqa: E402


def _task(path: Any, window: float = 2.0) -> dict[str, Any]:
    from aurola_qdrant.audio import audio_info

    bounds = plan_windows(audio_info(path).duration_s, window, None)
    return {"key": 0, "path": str(path), "bounds": json.dumps(bounds), "window_s": window, "hop_s": window}


def _batch(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Rows as Ray Data hands them to map_batches (numpy format; ragged columns become object arrays)."""
    out = {}
    for k in rows[0]:
        col = np.empty(len(rows), dtype=object)
        col[:] = [r[k] for r in rows]
        out[k] = col
    return out


def test_decode_task_prepares_features_and_the_actor_embeds_them(h, tmp_path, tiny_embedder) -> None:
    path = h.write_tone(tmp_path / "a.wav", 5.0, freq=400)
    rows = decode_rows(_task(path), tiny_embedder.preparer())
    segs = [r for r in rows if r["kind"] == "seg"]
    assert [r["kind"] for r in rows] == ["seg"] * 3 + ["done"]
    n_mels = int(tiny_embedder.inputs.fe.feature_size)
    assert all(r["clip"].ndim == 2 and r["clip"].shape[0] == n_mels for r in segs)  # features, not samples
    out = EmbedActor(tiny_embedder, 2)(_batch(rows))
    want = tiny_embedder.embed_audio([(s.waveform, 16000) for s in iter_windows(str(path), 2.0, 2.0)])
    assert np.abs(out["vector"][:3] - want).max() < 1e-5
    assert not out["vector"][3].any() and list(out["kind"]) == [r["kind"] for r in rows]


def test_a_preparer_that_keeps_waveforms_still_works(h, tmp_path) -> None:
    fake = FakeEmbedder(dim=8)
    path = h.write_tone(tmp_path / "b.wav", 3.0, freq=600)
    rows = decode_rows(_task(path), fake.preparer())
    assert all(r["clip"].ndim == 1 for r in rows if r["kind"] == "seg")
    out = EmbedActor(fake, 4)(_batch(rows))
    want = fake.embed_audio([(s.waveform, 16000) for s in iter_windows(str(path), 2.0, 2.0)])
    np.testing.assert_allclose(out["vector"][:2], want, atol=1e-6)


def test_a_window_too_short_to_embed_fails_its_file(h, tmp_path, tiny_embedder) -> None:
    path = h.write_tone(tmp_path / "c.wav", 0.01, freq=500)  # 10 ms: too short for one audio token
    rows = decode_rows(_task(path), tiny_embedder.preparer())
    assert rows[-1]["kind"] == "fail" and rows[-1]["reason"] == "too-short"
    assert "c.wav[0.0s]" in rows[-1]["detail"] and len(rows) == 1


def test_an_embedder_without_a_preparer_is_refused_before_ray_starts(h, tmp_path) -> None:
    from qdrant_client import QdrantClient

    from ingest import run_ingest
    from ingest.ray import RayOptions

    class NoPreparer(FakeEmbedder):
        preparer = None  # type: ignore[assignment]

    h.write_tone(tmp_path / "in" / "a.wav", 1.0)
    embedder, cfg = NoPreparer(dim=8), h.config()
    client = QdrantClient(":memory:")
    store = h.AudioStore(client, "sounds", h.embedder_info(embedder, cfg))
    with pytest.raises(TypeError, match="preparer"):
        run_ingest([tmp_path / "in"], store, embedder, cfg, engine="ray", ray_options=RayOptions())
    assert not ray.is_initialized()
