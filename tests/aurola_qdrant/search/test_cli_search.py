"""`aurola-qdrant search / describe / ingest-text` through click, on an embedded Qdrant folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aurola_qdrant.cli import main
from aurola_qdrant.search import AudioSearch, TextSearch
from aurola_qdrant.store import open_embedded

QUERY = "an engine idles"
LABELS = ["a dog barks", "rain falls on a roof", "an engine idles", "wind howls", "a drill whines"]


def _run(args: list[str], env: dict[str, str] | None = None):
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    return result


def test_search_json_matches_the_library(db, tiny_thinker, tiny_embedder, tiny_reranker) -> None:
    path, _ = db
    args = [
        "search",
        QUERY,
        "--collection",
        "sounds",
        "--qdrant-path",
        str(path),
        "--model",
        str(tiny_thinker),
    ]
    result = _run([*args, "--reranker", str(tiny_thinker), "--limit", "3", "--candidates", "6", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["query"] == QUERY and len(out["hits"]) == 3
    assert all(h["rerank_score"] is not None for h in out["hits"])
    client = open_embedded(path)
    try:
        expected = AudioSearch(client, "sounds", tiny_embedder, tiny_reranker).search(
            QUERY, limit=3, candidates=6
        )
    finally:
        client.close()
    assert [h["id"] for h in out["hits"]] == [h.id for h in expected]
    assert [h["score"] for h in out["hits"]] == pytest.approx([h.score for h in expected], abs=1e-5)


def test_search_table_filters_grouping_and_no_rerank(db, tiny_thinker) -> None:
    path, paths = db
    base = [
        "search",
        QUERY,
        "--collection",
        "sounds",
        "--qdrant-path",
        str(path),
        "--model",
        str(tiny_thinker),
    ]
    table = _run([*base, "--no-rerank", "--limit", "4"])
    assert table.exit_code == 0, table.output
    lines = table.stdout.strip().splitlines()
    assert "time range" in lines[0] and "source" in lines[0] and len(lines) == 5
    assert lines[1].split()[0] == "1" and lines[1].split()[3] == "-"  # rank, …, p_yes not computed
    assert any(str(p) in table.stdout for p in paths.values())

    machine = _run([*base, "--no-rerank", "--filter", "category=machine", "--json"])
    sources = {Path(h["source"]).name for h in json.loads(machine.stdout)["hits"]}
    assert sources == {"engine.wav", "drill.flac"}
    grouped = json.loads(_run([*base, "--no-rerank", "--group-by-file", "--limit", "20", "--json"]).stdout)
    assert len(grouped["hits"]) == len(paths) == len({h["payload"]["file_id"] for h in grouped["hits"]})

    by_example = _run(
        ["search", "--audio", str(paths["dog.wav"]), "--exclude-self", "--collection", "sounds",
         "--qdrant-path", str(path), "--model", str(tiny_thinker), "--limit", "50", "--json"]
    )  # fmt: skip
    hits = json.loads(by_example.stdout)["hits"]
    assert hits and all(Path(h["source"]).name != "dog.wav" for h in hits)


def test_model_resolution_and_mismatch_errors(db, tiny_thinker) -> None:
    path, _ = db
    no_model = _run(["search", QUERY, "--collection", "sounds", "--qdrant-path", str(path)])
    assert no_model.exit_code != 0
    assert "local checkpoint" in no_model.output and "--model" in no_model.output
    foreign = _run(
        ["search", QUERY, "--collection", "theirs", "--qdrant-path", str(path), "--model", str(tiny_thinker)]
    )
    assert foreign.exit_code != 0 and "someone/other" in foreign.output and "Traceback" not in foreign.output
    missing = _run(
        ["search", QUERY, "--collection", "nope", "--qdrant-path", str(path), "--model", str(tiny_thinker)]
    )
    assert missing.exit_code != 0 and "does not exist" in missing.output
    bad_filter = _run(
        ["search", QUERY, "--collection", "sounds", "--qdrant-path", str(path), "--filter", "oops"]
    )
    assert bad_filter.exit_code != 0 and "KEY=VALUE" in bad_filter.output


def test_ingest_text_and_describe(tmp_path, db, tiny_thinker, tiny_embedder, tiny_reranker) -> None:
    _, paths = db
    store = tmp_path / "textdb"
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join([*LABELS, "", LABELS[0]]) + "\n", encoding="utf-8")
    conn = ["--qdrant-path", str(store)]
    secret = {"QDRANT_API_KEY": "sekrit-key-123"}
    made = _run(
        ["ingest-text", str(labels), "--collection", "labels", "--model", str(tiny_thinker), *conn], secret
    )
    assert made.exit_code == 0, made.output
    assert "stored 5 distinct" in made.output and "sekrit" not in made.output
    again = _run(["ingest-text", str(labels), "--collection", "labels", "--model", str(tiny_thinker), *conn])
    assert again.exit_code == 0
    args = [
        "describe",
        str(paths["engine.wav"]),
        "--collection",
        "labels",
        "--model",
        str(tiny_thinker),
        *conn,
    ]
    result = _run([*args, "--reranker", str(tiny_thinker), "--limit", "3", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    client = open_embedded(store)
    try:
        assert client.count("labels").count == len(LABELS)
        expected = TextSearch(client, "labels", tiny_embedder, tiny_reranker).describe(
            paths["engine.wav"], limit=3
        )
    finally:
        client.close()
    assert [h["payload"]["text"] for h in hits] == [h.text for h in expected]
    assert all(h["source"] is None and h["rerank_score"] is not None for h in hits)
    table = _run([*args, "--no-rerank"])
    assert table.exit_code == 0 and all(t in table.output for t in LABELS)
