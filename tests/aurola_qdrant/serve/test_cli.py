"""``aurola-qdrant serve``: mounted in the command group, an install hint without its extra, cheap import."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from aurola_qdrant.cli import main


def test_serve_is_a_command_with_its_options():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--collection", "--qdrant-url", "--model", "--reranker", "--host", "--port", "--device",
                   "--api-key-file", "--cors-origin", "--max-queue"):  # fmt: skip
        assert option in result.output
    assert "127.0.0.1" in result.output and "8080" in result.output


def test_missing_extra_fails_with_the_install_hint(monkeypatch):
    import aurola_qdrant.serve.deps as deps

    monkeypatch.setattr(deps, "missing", lambda: ["fastapi", "uvicorn"])
    result = CliRunner().invoke(main, ["serve", "--collection", "x"])
    assert result.exit_code == 1
    assert 'pip install "aurola-qdrant[serve]"' in result.output and "fastapi" in result.output


def test_bad_key_file_is_one_line(tmp_path):
    empty = tmp_path / "key"
    empty.write_text("\n")
    result = CliRunner().invoke(main, ["serve", "--collection", "x", "--api-key-file", str(empty)])
    assert result.exit_code == 1 and "is empty" in result.output and "Traceback" not in result.output


def test_importing_the_package_loads_no_web_or_model_stack():
    heavy = "('fastapi', 'torch', 'uvicorn', 'transformers')"
    code = "import sys, aurola_qdrant, aurola_qdrant.serve, aurola_qdrant.serve.cli; "
    code += f"print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
