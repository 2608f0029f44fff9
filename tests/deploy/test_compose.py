"""compose.yaml and ingest/Dockerfile: no Docker engine runs here, so check what can be checked
statically — the file parses, the services, ports, volumes, readiness check and mounts are as documented."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_qdrant_service_is_pinned_and_secured():
    qdrant = _compose()["services"]["qdrant"]
    image = qdrant["image"]
    assert re.fullmatch(r"qdrant/qdrant:v1\.(1[89]|[2-9]\d)\.\d+", image), image  # pinned, >= 1.18
    assert set(qdrant["ports"]) == {"6333:6333", "6334:6334"}
    assert qdrant["environment"]["QDRANT__SERVICE__API_KEY"].startswith("${QDRANT_API_KEY")
    assert "qdrant_storage:/qdrant/storage" in qdrant["volumes"]
    assert "qdrant_storage" in _compose()["volumes"]


def test_readiness_check_needs_no_curl():
    test = _compose()["services"]["qdrant"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "bash"]
    script = test[-1]
    assert "/readyz" in script and "/dev/tcp/127.0.0.1/6333" in script
    assert "curl" not in script and "wget" not in script


def test_ingest_services_wait_for_qdrant_and_mount_the_archive():
    services = _compose()["services"]
    for name in ("ingest", "ingest-gpu"):
        svc = services[name]
        assert svc["depends_on"]["qdrant"]["condition"] == "service_healthy"
        assert svc["build"]["dockerfile"] == "ingest/Dockerfile"
        assert (ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        assert any(v.endswith(":/data:ro") for v in svc["volumes"])
        assert svc["environment"]["QDRANT_URL"] == "http://qdrant:6333"
        assert svc["command"][:2] == ["ingest", "/data"]
        assert "--collection" in svc["command"]
        # The API key comes from the environment, never from the command line.
        assert not any("API_KEY" in str(arg) for arg in svc["command"])


def test_gpu_variant_reserves_nvidia_devices():
    gpu = _compose()["services"]["ingest-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert "cuda" in gpu["command"]
    assert "cu" in gpu["build"]["args"]["TORCH_INDEX_URL"]


def test_dockerfile_installs_torch_first_and_runs_the_cli():
    text = (ROOT / "ingest" / "Dockerfile").read_text()
    assert text.index("pip install --index-url") < text.index("RUN pip install .")
    assert 'ENTRYPOINT ["aurola-qdrant"]' in text
    for path in re.findall(r"^COPY (\S+)", text, flags=re.M):
        assert (ROOT / path).exists(), path
