"""The torch-free fakes of `aurola_qdrant.testing`: deterministic, checked like the real models, and enough
for a whole search (retrieval, re-ranking, audio query) against an in-memory Qdrant."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from qdrant_client import QdrantClient

from aurola_qdrant import AudioSearch, AudioTooLongError, InputError
from aurola_qdrant.audio import load_audio
from aurola_qdrant.ids import file_id
from aurola_qdrant.store import AudioStore, SegmentRecord
from aurola_qdrant.testing import FakeEmbedder, FakeReranker

SR = 16000


def _wave(seed: int, seconds: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, int(seconds * SR)).astype(np.float32)


def test_fake_embedder_is_deterministic_unit_float32_in_any_batch() -> None:
    emb = FakeEmbedder(dim=8)
    texts = ["rain on a roof", "a dog barks", "rain on a roof"]
    vecs = emb.embed_text(texts)
    assert vecs.dtype == np.float32 and vecs.shape == (3, 8)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-6)
    assert np.array_equal(vecs[0], vecs[2]) and not np.allclose(vecs[0], vecs[1])
    assert np.array_equal(FakeEmbedder(dim=8).embed_text("a dog barks")[0], vecs[1])  # across instances
    waves = [_wave(1), _wave(2)]
    batch = emb.embed_audio([(w, SR) for w in waves])
    alone = np.concatenate([emb.embed_audio((w, SR)) for w in waves])
    assert np.array_equal(batch, alone)
    # the batch steps give the same rows as embed_audio
    prompts = [emb.audio_prompt(w) for w in waves]
    assert np.array_equal(emb.embed_collated(emb.collate(prompts)), batch)
    assert emb.embed_text([]).shape == (0, 8)


def test_fakes_check_inputs_like_the_models() -> None:
    emb, judge = FakeEmbedder(max_audio_seconds=2.0), FakeReranker()
    with pytest.raises(InputError):
        emb.embed_text([" "])
    with pytest.raises(AudioTooLongError):
        emb.embed_audio([(_wave(0, 3.0), SR)])
    with pytest.raises(InputError):
        emb.audio_prompt(np.zeros(0, np.float32))
    with pytest.raises(InputError):
        judge.score_text_to_audio_waveforms("", [_wave(0)])
    with pytest.raises(InputError):
        judge.score_audio_waveform_to_text(_wave(0), ["fine", ""])
    with pytest.raises(ValueError, match="direction"):
        judge.default_alpha("a2a")
    with pytest.raises(ValueError, match="dim"):
        FakeEmbedder(dim=0)


def test_fake_reranker_scores_pairs_alike_in_both_directions(tmp_path: Path) -> None:
    judge = FakeReranker(alpha={"t2a": 0.5, "a2t": 2.0})
    waves = [_wave(3), _wave(4)]
    t2a = judge.score_text_to_audio_waveforms("a bell", waves)
    assert t2a.dtype == np.float32 and t2a.shape == (2,) and ((t2a >= 0) & (t2a <= 1)).all()
    a2t = judge.score_audio_waveform_to_text(waves[1], ["a bell", "a drum"])
    assert a2t[0] == t2a[1]
    sf.write(tmp_path / "x.wav", waves[0], SR, subtype="FLOAT")  # exact samples, no 16-bit rounding
    assert judge.score_text_to_audio("a bell", [tmp_path / "x.wav"])[0] == t2a[0]
    assert (judge.default_alpha("t2a"), judge.default_alpha("a2t")) == (0.5, 2.0)
    scripted = FakeReranker(p_yes=lambda caption, wave: 0.9 if "bell" in caption else 0.1)
    assert scripted.score_audio_to_text((waves[0], SR), ["a bell", "rain"]).tolist() == pytest.approx(
        [0.9, 0.1]
    )
    assert judge.calls == [("t2a", 2), ("a2t", 2), ("t2a", 1)]


def _library(tmp_path: Path, client: QdrantClient, emb: FakeEmbedder) -> dict[str, Path]:
    paths = {}
    for i, name in enumerate(["dog.wav", "rain.wav", "bell.wav", "wind.wav"]):
        paths[name] = tmp_path / name
        sf.write(paths[name], _wave(10 + i, 1.0 + 0.25 * i), SR)
    store = AudioStore(client, "sounds", emb.embedder_info())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        store.ensure_collection()
    records = []
    for path in paths.values():
        seg = load_audio(path)
        records.append(
            SegmentRecord(
                file_id=file_id(path),
                source=str(path),
                start_s=0.0,
                end_s=seg.end_s,
                segment_index=0,
                n_segments=1,
                duration_s=seg.end_s,
                sample_rate=SR,
                channels=1,
            )
        )
    store.upsert_segments(records, emb.embed_audio([str(p) for p in paths.values()]))
    return paths


def test_search_with_fakes_over_in_memory_qdrant(tmp_path: Path) -> None:
    client = QdrantClient(":memory:")
    emb = FakeEmbedder(dim=8, text_vector=lambda t: np.arange(1.0, 9.0))
    paths = _library(tmp_path, client, emb)
    favourite = str(paths["bell.wav"])
    judge = FakeReranker(alpha=5.0, p_yes=lambda caption, wave: 1.0 if len(wave) == 1.5 * SR else 0.0)
    search = AudioSearch(client, "sounds", emb, judge)
    plain = search.search("a bell", limit=4, rerank=False)
    hits = search.search("a bell", limit=2, candidates=4)
    assert hits[0].source == favourite and hits[0].rerank_score == 1.0
    assert {h.source for h in plain} == {str(p) for p in paths.values()}
    assert judge.calls == [("t2a", 4)]  # one batched call for all candidates
    by_example = search.search_by_audio(paths["rain.wav"], limit=1)
    assert by_example[0].source == str(paths["rain.wav"]) and by_example[0].score == pytest.approx(1.0)
    with pytest.raises(TypeError, match="load_candidate"):
        AudioSearch(client, "sounds", emb, object())


def test_fakes_and_search_import_neither_torch_nor_transformers(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import soundfile as sf
        from qdrant_client import QdrantClient
        import aurola_qdrant.testing.fakes as fakes
        from aurola_qdrant import AudioSearch, AudioStore
        from aurola_qdrant.store import SegmentRecord

        emb, judge = fakes.FakeEmbedder(dim=4), fakes.FakeReranker()
        sf.write("a.wav", np.linspace(-0.5, 0.5, 16000, dtype=np.float32), 16000)
        client = QdrantClient(":memory:")
        store = AudioStore(client, "c", emb.embedder_info())
        store.ensure_collection()
        record = SegmentRecord(
            file_id="f" * 64, source="a.wav", start_s=0.0, end_s=1.0, segment_index=0, n_segments=1,
            duration_s=1.0, sample_rate=16000, channels=1,
        )
        store.upsert_segments([record], emb.embed_audio(["a.wav"]))
        (hit,) = AudioSearch(client, "c", emb, judge).search("anything", limit=3)
        assert hit.source == "a.wav" and hit.rerank_score is not None, hit
        heavy = [m for m in ("torch", "transformers") if m in sys.modules]
        assert not heavy, heavy
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
