"""`aurola-qdrant enrich` end to end: the tiny real AuroLA checkpoint, an embedded Qdrant Edge store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf
from click.testing import CliRunner
from qdrant_client import models

from aurola_qdrant.cli import main
from aurola_qdrant.store.edge import EdgeEngine


def test_enrich_command_with_the_real_model(tmp_path: Path, tiny_thinker: Path) -> None:
    rng = np.random.default_rng(1)
    short, long_ = tmp_path / "short.wav", tmp_path / "long.wav"
    sf.write(short, (0.1 * rng.standard_normal(2 * 8000)).astype(np.float32), 8000)
    sf.write(long_, (0.1 * rng.standard_normal(7 * 8000)).astype(np.float32), 8000)
    store = tmp_path / "db"
    engine = EdgeEngine(store)
    engine.create_collection(
        "cat", vectors_config={"img": models.VectorParams(size=2, distance=models.Distance.DOT)}
    )
    engine.upsert(
        "cat",
        points=[
            models.PointStruct(id=10, vector={"img": [1.0, 2.0]}, payload={"file": str(short), "kind": "a"}),
            models.PointStruct(id=11, vector={"img": [3.0, 4.0]}, payload={"file": str(long_), "kind": "a"}),
            models.PointStruct(id=12, vector={"img": [5.0, 6.0]}, payload={"file": str(tmp_path / "x.wav")}),
        ],
    )
    engine.close()
    args = [
        "enrich",
        "--quantization",
        "scalar",
        "--collection",
        "cat",
        "--audio-field",
        "file",
        "--model",
        str(tiny_thinker),
        "--device",
        "cpu",
        "--window",
        "3",
        "--qdrant-path",
        str(store),
        "--json",
        "--failures",
        str(tmp_path / "f.jsonl"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output  # point 12's audio is missing
    summary = json.loads(result.stdout)
    assert (summary["points_dense"], summary["points_multivector"], summary["points_failed"]) == (1, 1, 1)
    assert summary["windows_embedded"] == 1 + 3
    assert json.loads((tmp_path / "f.jsonl").read_text())["reason"] == "missing"
    filtered = CliRunner().invoke(main, [*args, "--filter", "kind=a"])
    assert filtered.exit_code == 0, filtered.output
    assert json.loads(filtered.stdout)["points_skipped"] == 2
    engine = EdgeEngine(store)
    try:
        got = {r.id: r for r in engine.retrieve("cat", ids=[10, 11], with_vectors=True)}
        vectors = engine.get_collection("cat").config.params.vectors
    finally:
        engine.close()
    name = summary["vector_name"]
    assert vectors[name].quantization_config is not None  # --quantization scalar, on both of ours
    assert vectors[f"{name}-windows"].quantization_config is not None
    assert vectors["img"].quantization_config is None  # theirs untouched
    dim = len(got[10].vector[name])  # type: ignore[index]
    assert dim > 2 and np.shape(got[10].vector[name]) == (dim,)  # type: ignore[index]
    assert np.shape(got[11].vector[f"{name}-windows"]) == (3, dim)  # type: ignore[index]
    assert got[11].vector["img"] == [3.0, 4.0]  # type: ignore[index]
    search = ["search", "a dog barks", "--collection", "cat", "--model", str(tiny_thinker), "--device", "cpu",
              "--qdrant-path", str(store), "--no-rerank", "--json"]  # fmt: skip
    found = CliRunner().invoke(main, search)
    assert found.exit_code == 0, found.output
    hits = {h["id"]: h for h in json.loads(found.stdout)["hits"]}
    assert set(hits) == {10, 11}  # the team's integer ids; 12 has no vector of ours
    assert hits[10]["window_index"] == 0 and hits[10]["end_s"] == 2.0
    assert hits[11]["window_index"] in (0, 1, 2) and hits[11]["payload"]["file"] == str(long_)
    paged = CliRunner().invoke(main, [*search, "--offset", "1", "--limit", "1"])
    assert [h["id"] for h in json.loads(paged.stdout)["hits"]] == list(hits)[1:]
    refused = CliRunner().invoke(main, [*search, "--points", "per-segment"])
    assert refused.exit_code != 0 and "per-file" in refused.output and "per-segment" in refused.output


def test_ingest_points_per_file(tmp_path: Path, tiny_thinker: Path) -> None:
    rng = np.random.default_rng(2)
    archive = tmp_path / "archive"
    archive.mkdir()
    for name, seconds in (("a.wav", 2), ("b.wav", 7)):
        sf.write(archive / name, (0.1 * rng.standard_normal(seconds * 8000)).astype(np.float32), 8000)
    args = ["ingest", str(archive), "--collection", "rec", "--points", "per-file",
            "--model", str(tiny_thinker), "--device", "cpu", "--window", "3",
            "--qdrant-path", str(tmp_path / "db"), "--json",
            "--failures", str(tmp_path / "f.jsonl")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["points_dense"], summary["points_multivector"], summary["windows_embedded"]) == (1, 1, 4)
    rerun = CliRunner().invoke(main, args)
    assert json.loads(rerun.stdout)["points_skipped"] == 2
    engine = EdgeEngine(tmp_path / "db")
    try:
        assert engine.count("rec").count == 2
    finally:
        engine.close()


def test_search_fuses_with_the_team_vector(tmp_path: Path, tiny_thinker: Path) -> None:
    rng = np.random.default_rng(4)
    store = tmp_path / "db"
    engine = EdgeEngine(store)
    engine.create_collection(
        "cat", vectors_config={"img": models.VectorParams(size=2, distance=models.Distance.DOT)}
    )
    points = []
    for pid, seconds in ((1, 2), (2, 7), (3, 2)):
        path = tmp_path / f"{pid}.wav"
        sf.write(path, (0.1 * rng.standard_normal(seconds * 8000)).astype(np.float32), 8000)
        points.append(
            models.PointStruct(id=pid, vector={"img": [1.0, float(pid)]}, payload={"file": str(path)})
        )
    points.append(models.PointStruct(id=4, vector={"img": [1.0, 9.0]}, payload={"file": "gone.wav"}))
    engine.upsert("cat", points=points)
    engine.close()
    common = ["--model", str(tiny_thinker), "--device", "cpu", "--qdrant-path", str(store)]
    enriched = CliRunner().invoke(
        main, ["enrich", "--collection", "cat", "--audio-field", "file", "--window", "3", *common,
               "--failures", str(tmp_path / "f.jsonl")],
    )  # fmt: skip
    assert enriched.exit_code == 1, enriched.output  # point 4's audio is missing
    args = ["search", "a bell", "--collection", "cat", *common, "--json", "--fuse-with", "img=1"]
    fused = CliRunner().invoke(main, args)
    assert fused.exit_code == 0, fused.output
    out = json.loads(fused.stdout)
    hits = {h["id"]: h for h in out["hits"]}
    assert set(hits) == {1, 2, 3, 4} and out["reranked"] is False
    assert hits[4]["window_index"] is None and hits[2]["window_index"] is not None
    bad = CliRunner().invoke(main, [*args[:-1], "img=99"])
    assert bad.exit_code != 0 and "no dense vector 'img'" in bad.output
