"""compose.yaml's search services and their container file, checked statically (no Docker engine here)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]


def test_search_services_wait_for_qdrant_and_check_readiness():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    for name, profile in (("search", "search"), ("search-gpu", "gpu")):
        svc = services[name]
        assert svc["profiles"] == [profile]
        assert svc["depends_on"]["qdrant"]["condition"] == "service_healthy"
        assert (ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        assert svc["environment"]["AUROLA_API_KEY"].startswith("${AUROLA_API_KEY:?")  # no key, no start
        assert svc["environment"]["QDRANT_URL"] == "http://qdrant:6333"
        assert svc["ports"] == ["${SEARCH_PORT:-8080}:8080"]
        assert "${AUDIO_DIR:-./audio}:/data:ro" in svc["volumes"]  # the same /data paths ingest stored
        check = svc["healthcheck"]["test"]
        assert check[:2] == ["CMD", "python"] and "/readyz" in check[-1] and "Bearer" in check[-1]
        command = svc["command"]
        assert command[0] == "serve" and command[command.index("--host") + 1] == "0.0.0.0"
        assert not any("API_KEY" in str(arg) for arg in command)  # keys come from the environment
    assert (
        services["search-gpu"]["command"][services["search-gpu"]["command"].index("--device") + 1] == "cuda"
    )
    assert "cu" in services["search-gpu"]["build"]["args"]["TORCH_INDEX_URL"]


def test_dockerfile_installs_the_serve_extra():
    text = (ROOT / "aurola_qdrant" / "serve" / "Dockerfile").read_text()
    assert text.index("pip install --index-url") < text.index('pip install ".[serve]"')
    assert "USER aurola" in text and "EXPOSE 8080" in text
