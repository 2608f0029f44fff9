"""The real thing: ``aurola-qdrant serve`` in a subprocess on a free loopback port, over an embedded store
of real sound files, hit by concurrent clients (bounded in count and time) and driven by a headless
Chromium (Debian's, through Playwright: no browser download)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from aurola_qdrant.search import AudioSearch
from aurola_qdrant.store import open_embedded

from .conftest import KEY, store_clips, write_clips

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(
    os.environ.get("AUROLA_TEST_ARTIFACTS", Path(__file__).resolve().parents[3] / ".cache" / "test-artifacts")
)
QUERIES = ["a door bell", "rain on a tin roof", "a phone line is busy", "someone says front center"]
AUTH = {"Authorization": f"Bearer {KEY}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_thinker, tiny_embedder, tiny_reranker):
    """``(base_url, expected)``: the running service and the Python API's hits per (query, rerank)."""
    root = tmp_path_factory.mktemp("served")
    clips = write_clips(root / "clips")
    client = open_embedded(root / "db")  # the default embedded engine, as `aurola-qdrant ingest` makes
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        store_clips(client, "sounds", tiny_embedder, clips)
    search = AudioSearch(client, "sounds", tiny_embedder, tiny_reranker)
    expected = {
        (q, r): [h.id for h in search.search(q, limit=5, rerank=r)] for q in QUERIES for r in (False, True)
    }
    client.close()  # the embedded store serves one process: hand it to the service
    port = _free_port()
    key_file = root / "key"
    key_file.write_text(KEY + "\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1"}
    env.pop("AUROLA_API_KEY", None)
    cmd = [sys.executable, "-c", "from aurola_qdrant.cli import main; main()", "serve"]
    cmd += ["--collection", "sounds", "--qdrant-path", str(root / "db"), "--device", "cpu"]
    cmd += ["--model", str(tiny_thinker), "--reranker", str(tiny_thinker), "--port", str(port)]
    cmd += ["--api-key-file", str(key_file), "--batch-wait-ms", "20"]
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the service exited with {proc.returncode}: {(root / 'server.log').read_text()}")
            try:
                if httpx.get(f"{base}/readyz", headers=AUTH, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail(f"the service never became ready: {(root / 'server.log').read_text()}")
        yield base, expected
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def test_concurrent_clients_get_the_python_apis_results_with_zero_errors(server):
    base, expected = server
    jobs = [(q, r) for q in QUERIES for r in (False, True)] * 3  # 24 requests from 12 concurrent clients

    def ask(job):
        query, rerank = job
        with httpx.Client(base_url=base, headers=AUTH, timeout=60) as http:
            response = http.post("/v1/search", json={"query": query, "limit": 5, "rerank": rerank})
        return job, response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(ask, jobs))
    assert [status for _, status, _ in answers] == [200] * len(jobs)
    for job, _, body in answers:
        assert [h["id"] for h in body["hits"]] == expected[job], job
        assert body["reranked"] is job[1]
    metrics = httpx.get(f"{base}/metrics", headers=AUTH).text
    assert f'aurola_requests_total{{endpoint="/v1/search",status="200"}} {float(len(jobs))}' in metrics
    count = next(
        float(x.split()[-1])
        for x in metrics.splitlines()
        if x.startswith('aurola_batch_size_count{kind="text"}')
    )
    assert count < len(jobs)  # fewer model calls than requests: concurrent queries shared batches


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_page_search_and_play_in_a_real_browser(server, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    base, _ = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(  # a fresh profile folder
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=args, headless=True, timeout=60_000
        )
        try:
            page = browser.new_page()
            outside: list[str] = []
            page.on(
                "request",
                lambda r: None if r.url.startswith((base, "blob:" + base)) else outside.append(r.url),
            )
            page.goto(base + "/")
            page.locator("#key").fill(KEY)  # the page asks for the service key on its first 401
            page.keyboard.press("Enter")
            page.wait_for_function("document.querySelector('#about').textContent.includes('segments')")
            page.keyboard.press("/")  # keyboard shortcut to the search box
            page.keyboard.type("a door bell")
            page.keyboard.press("Enter")
            page.wait_for_selector("#results li.hit", timeout=30_000)
            sources = page.locator("#results .source").all_inner_texts()
            api = httpx.post(
                f"{base}/v1/search", json={"query": "a door bell"}, headers=AUTH, timeout=60
            ).json()
            assert sources == [h["source"] for h in api["hits"]] and len(sources) == 7  # every segment
            play = page.locator("#results li.hit .play").first
            play.focus()
            page.keyboard.press("Enter")
            page.wait_for_function(
                "(() => { const a = document.querySelector('#results audio');"
                " return a && !a.paused && a.currentTime > 0; })()",
                timeout=20_000,
            )
            duration = page.evaluate("document.querySelector('#results audio').duration")
            first = page.locator("#results .span").first.inner_text()
            start, end = (float(t.split(":")[0]) * 60 + float(t.split(":")[1]) for t in first.split("–"))
            assert duration == pytest.approx(end - start, abs=0.06)  # the player holds exactly that segment
            assert page.locator("#results li.playing").count() == 1
            shot = ARTIFACTS / "serve-page.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            assert outside == []  # no CDN, no other host
        finally:
            browser.close()
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
