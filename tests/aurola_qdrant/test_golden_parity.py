"""Parity of AurolaEmbedder with the OFFICIAL computation (Qwen2_5OmniProcessor, librosa.load, full thinker).

The golden vectors in tests/data/golden/embedder.json were computed by tests/reference/make_golden.py in a
separate environment (torchvision is needed by the processor and cannot live beside this env's torch). Here
the same tiny checkpoint is rebuilt, the same input files are regenerated, and our own path (soundfile+soxr
loader, exact-padding features, prompt cut before <emb>, no LM head) must reproduce every vector.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "embedder.json"
TOL = 1e-4
REGEN = (
    "the golden file no longer matches the tiny checkpoint/inputs; if the change to "
    "aurola_qdrant.testing (builder or tokenizer) or tests/reference/inputs.py is intended, regenerate it "
    "as described in tests/reference/README.md (make_golden.py in the reference env)"
)


def _load_inputs() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "reference" / "inputs.py"
    spec = importlib.util.spec_from_file_location("aurola_golden_inputs", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


inputs = _load_inputs()
GOLD = json.loads(GOLDEN.read_text(encoding="utf-8"))
CASES = {c["name"]: c for c in GOLD["cases"]}


def _ids_sha(ids) -> str:
    return hashlib.sha256(json.dumps([int(i) for i in ids]).encode()).hexdigest()


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("golden_clips")


def test_golden_checkpoint_digest_matches(tiny_thinker: Path) -> None:
    assert inputs.checkpoint_digest(tiny_thinker) == GOLD["checkpoint"]["digest"], REGEN


def test_golden_covers_required_cases() -> None:
    names = set(CASES)
    assert {"dur_0.3s", "dur_45s", "sr_8000", "sr_48000", "ch_6_44100", "batch_1", "batch_8"} <= names
    assert {"text_short", "text_long", "text_non_ascii", "text_batch"} <= names
    assert any(n.startswith("real_") for n in names)
    assert len(CASES["batch_8"]["vectors"]) == 8
    assert all(len(v) == GOLD["dim"] for c in GOLD["cases"] for v in c["vectors"])


def _paths(case: dict, clip_dir: Path) -> list[Path]:
    paths = []
    for item in case["inputs"]:
        gen = item["generated"]
        path = inputs.clip_path(gen["name"], clip_dir) if gen else inputs.REAL_DIR / Path(item["file"]).name
        assert inputs.file_sha256(path) == item["sha256"], f"{path.name}: input bytes differ; {REGEN}"
        paths.append(path)
    return paths


def _check(case: dict, got: np.ndarray, prompts: list) -> None:
    want = np.asarray(case["vectors"], dtype=np.float32)
    # Token-level parity first: same ids up to the read position (audio token counts included).
    for row, (p, r) in enumerate(zip(prompts, case["rows"], strict=True)):
        assert len(p.input_ids) == r["prompt_len"], f"{case['name']} row {row}: prompt length"
        assert _ids_sha(p.input_ids) == r["prompt_ids_sha256"], f"{case['name']} row {row}: token ids"
    diff = float(np.abs(got - want).max())
    assert got.shape == want.shape
    assert diff <= TOL, f"{case['name']}: max |ours - official| = {diff:.3g} > {TOL}"


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["kind"] == "audio"])
def test_audio_embeddings_match_official(name: str, tiny_embedder, clip_dir: Path) -> None:
    from aurola_qdrant import audio

    case = CASES[name]
    paths = _paths(case, clip_dir)
    got = tiny_embedder.embed_audio([str(p) for p in paths])  # one call, our own file loader
    prompts = [tiny_embedder.audio_prompt(audio.load_audio(p).waveform) for p in paths]
    _check(case, got, prompts)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["kind"] == "text"])
def test_text_embeddings_match_official(name: str, tiny_embedder) -> None:
    case = CASES[name]
    got = tiny_embedder.embed_text(case["inputs"])
    _check(case, got, [tiny_embedder.text_prompt(t) for t in case["inputs"]])


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["kind"] == "audio"])
def test_featurized_prompts_match_official(name: str, tiny_embedder, clip_dir: Path) -> None:
    """The Ray engine's path: log-mel features computed in another process by the pickled preparer."""
    import pickle

    from aurola_qdrant import audio

    case = CASES[name]
    preparer = pickle.loads(pickle.dumps(tiny_embedder.preparer()))
    prompts = [preparer.audio_prompt(audio.load_audio(p).waveform) for p in _paths(case, clip_dir)]
    assert all(p.features and not p.audios for p in prompts)
    _check(case, tiny_embedder.embed_prompts(prompts), prompts)
