"""What a user sees when `search`, `describe`, `ingest-text` and `collection` go wrong: one line naming the
problem and the fix, the right exit status, never a traceback; and what re-ranking did."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from aurola_qdrant.cli import main
from aurola_qdrant.store import open_embedded

QUERY = "an engine idles"


def _run(args: list[str], **kw):
    return CliRunner().invoke(main, args, catch_exceptions=False, **kw)


def _one_error_line(result) -> str:
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert "ValueError:" not in errors[0] and "RuntimeError:" not in errors[0]
    return errors[0]


def test_a_store_locked_by_another_process_is_one_line_for_every_command(db, tiny_thinker, tmp_path):
    path, paths = db
    labels = tmp_path / "labels.txt"
    labels.write_text("a dog barks\n", encoding="utf-8")
    conn = ["--qdrant-path", str(path), "--model", str(tiny_thinker)]
    commands = {
        "search": ["search", QUERY, "--collection", "sounds", *conn],
        "search --audio": ["search", "--audio", str(paths["dog.wav"]), "--collection", "sounds", *conn],
        "describe": ["describe", str(paths["dog.wav"]), "--collection", "labels", *conn],
        "ingest-text": ["ingest-text", str(labels), "--collection", "labels", *conn],
        "collection info": ["collection", "info", "sounds", "--qdrant-path", str(path)],
        "collection list": ["collection", "list", "--qdrant-path", str(path)],
    }
    holder = open_embedded(path)  # flock: a second client, even in this process, is refused
    try:
        for name, args in commands.items():
            result = _run(args)
            assert result.exit_code == 1, (name, result.output)
            line = _one_error_line(result)
            assert "in use by another process" in line and str(path.resolve()) in line, (name, line)
    finally:
        holder.close()


def test_read_only_commands_name_the_missing_store_and_create_nothing(tmp_path, tiny_thinker, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (
        ["search", QUERY, "--collection", "sounds", "--model", str(tiny_thinker)],
        ["describe", __file__, "--collection", "labels"],
        ["collection", "info", "sounds"],
        ["collection", "list"],
    ):
        result = _run(args)
        assert result.exit_code == 1, (args, result.output)
        line = _one_error_line(result)
        assert f"no embedded Qdrant store at {tmp_path / 'aurola_db'}" in line, line
        assert not (tmp_path / "aurola_db").exists(), args


def test_a_missing_collection_names_where_it_was_looked_for(db, tiny_thinker):
    path, _ = db
    for args in (
        ["search", QUERY, "--collection", "nope", "--qdrant-path", str(path), "--model", str(tiny_thinker)],
        ["search", QUERY, "--collection", "nope", "--qdrant-path", str(path)],
        ["collection", "info", "nope", "--qdrant-path", str(path)],
    ):
        result = _run(args)
        assert result.exit_code == 1
        line = _one_error_line(result)
        assert "nope" in line and str(path) in line, line


def test_collection_list(db):
    path, _ = db
    table = _run(["collection", "list", "--qdrant-path", str(path)])
    assert table.exit_code == 0, table.output
    rows = {line.split(":")[0]: line for line in table.output.splitlines()}
    assert set(rows) == {"sounds", "theirs"}
    assert "thinker" in rows["sounds"] and "0 points" in rows["theirs"]
    data = json.loads(_run(["collection", "list", "--qdrant-path", str(path), "--json"]).output)
    by_name = {row["collection"]: row for row in data["collections"]}
    client = open_embedded(path)
    try:
        assert by_name["sounds"]["points"] == client.count("sounds").count > 0
    finally:
        client.close()


def test_bad_values_print_the_message_not_the_exception_class(db, tiny_thinker):
    path, _ = db
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
    result = _run([*base, "--no-rerank", "--limit", "0"])
    assert result.exit_code == 1
    assert "limit must be an integer >= 1" in _one_error_line(result)


def test_an_overlong_query_is_refused_by_the_documented_rule(db, tiny_thinker):
    path, _ = db
    long_query = "rain on a tin roof " * 1100  # 20,900 characters
    args = ["search", long_query, "--collection", "sounds", "--qdrant-path", str(path),
            "--model", str(tiny_thinker), "--no-rerank"]  # fmt: skip
    result = _run(args)
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert "20,900 characters" in line and "2,000" in line


def test_search_says_when_alpha_zero_leaves_the_retrieval_order(db, tiny_thinker):
    path, _ = db
    base = ["search", QUERY, "--collection", "sounds", "--qdrant-path", str(path),
            "--model", str(tiny_thinker), "--reranker", str(tiny_thinker),
            "--limit", "4", "--candidates", "6"]  # fmt: skip
    zero = json.loads(_run([*base, "--alpha", "0", "--json"]).output)
    assert zero["reranked"] is True and zero["alpha"] == 0.0
    assert [h["score"] for h in zero["hits"]] == [h["retrieval_score"] for h in zero["hits"]]
    plain = json.loads(_run([*base, "--no-rerank", "--json"]).output)
    assert plain["reranked"] is False and plain["alpha"] is None
    assert [h["id"] for h in zero["hits"]] == [h["id"] for h in plain["hits"]]
    weighted = json.loads(_run([*base, "--alpha", "0.5", "--json"]).output)
    assert weighted["reranked"] is True and weighted["alpha"] == 0.5
    table = _run([*base, "--alpha", "0"])
    assert table.exit_code == 0 and "alpha = 0" in table.output and "retrieval order" in table.output
    assert "alpha = 0" not in _run([*base, "--alpha", "0.5"]).output


@pytest.mark.parametrize("flags", [["--reranker", "x"], ["--alpha", "0.3"], ["--rerank"]])
def test_audio_query_with_rerank_flags_names_the_flag_passed(db, tiny_thinker, flags):
    path, paths = db
    result = _run(["search", "--audio", str(paths["dog.wav"]), "--collection", "sounds",
                   "--qdrant-path", str(path), *flags])  # fmt: skip
    assert result.exit_code == 2
    assert f"drop {flags[0]}" in result.output and "Traceback" not in result.output


def test_json_outputs_are_formatted_alike(db, tiny_thinker):
    path, _ = db
    outputs = [
        _run(
            [
                "search",
                QUERY,
                "--collection",
                "sounds",
                "--qdrant-path",
                str(path),
                "--model",
                str(tiny_thinker),
                "--no-rerank",
                "--json",
            ]
        ).output,
        _run(["collection", "info", "sounds", "--qdrant-path", str(path), "--json"]).output,
        _run(["collection", "list", "--qdrant-path", str(path), "--json"]).output,
    ]
    for text in outputs:
        assert text.strip() == json.dumps(json.loads(text), indent=2, ensure_ascii=False)


class _AnswersOnce(BaseHTTPRequestHandler):
    """A Qdrant stand-in that answers the first request (the collection exists), then fails with 503."""

    answered = 0

    def do_GET(self) -> None:
        if self.path.startswith("/collections/"):  # not the client's version check (GET /)
            type(self).answered += 1
        if type(self).answered == 1:
            body = json.dumps({"result": {"exists": True}, "status": "ok", "time": 0.0}).encode()
            self.send_response(200)
        else:
            body = json.dumps({"status": {"error": "service unavailable"}}).encode()
            self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_an_outage_after_first_contact_names_the_retry_budget_flag(tiny_thinker):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AnswersOnce)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = _run(["search", QUERY, "--collection", "sounds", "--qdrant-url", url,
                       "--model", str(tiny_thinker), "--no-rerank", "--retry-budget", "1"])  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert "Qdrant unavailable" in line and "raise --retry-budget" in line, line
    assert _AnswersOnce.answered >= 3  # the first answer, then retries through the outage


def test_a_refused_server_is_one_line_naming_the_url():
    result = _run(["collection", "info", "sounds", "--qdrant-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert "Qdrant at http://127.0.0.1:9" in line and "did not answer" in line
