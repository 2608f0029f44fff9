"""The HTTP API through FastAPI's test client: every endpoint with auth on and off, results equal to the
Python API, and each kind of bad input answered with its status and a JSON body naming the problem."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from aurola_qdrant.search import AudioSearch

from .conftest import KEY, QDRANT_KEY

AUTH = {"Authorization": f"Bearer {KEY}"}


def _error(response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["type"] == kind, body
    return body["error"]["message"]


def test_search_equals_the_python_api(make_client, qdrant, tiny_embedder, tiny_reranker):
    client = make_client()
    expected = AudioSearch(qdrant, "sounds", tiny_embedder, tiny_reranker)
    for options in (
        {},
        {"rerank": False, "limit": 3},
        {"group_by_file": True, "candidates": 4, "alpha": 0.5},
    ):
        body = client.post("/v1/search", json={"query": "a door bell rings", **options}).json()
        want = expected.search("a door bell rings", **options)
        assert [h["id"] for h in body["hits"]] == [h.id for h in want]
        assert [h["score"] for h in body["hits"]] == pytest.approx([h.score for h in want], abs=1e-6)
        assert body["reranked"] == (options.get("rerank", True)) and set(body["timings"]) >= {
            "embed",
            "total",
        }
        assert all(h["audio_url"] == f"/v1/audio/{h['id']}" for h in body["hits"])
    filtered = client.post(
        "/v1/search",
        json={"query": "bell", "filter": {"must": [{"key": "category", "match": {"value": "oga"}}]}},
    ).json()["hits"]
    assert filtered and {h["payload"]["category"] for h in filtered} == {"oga"}


def test_embed_texts_and_audio_equal_the_model(make_client, tiny_embedder, clips):
    client = make_client()
    body = client.post("/v1/embed", json={"texts": ["rain on a tin roof", "a dog"]}).json()
    assert body["dim"] == tiny_embedder.dim and body["model"] == tiny_embedder.model_id
    np.testing.assert_allclose(
        body["vectors"], tiny_embedder.embed_text(["rain on a tin roof", "a dog"]), atol=1e-5
    )
    with open(clips[1], "rb") as f:
        uploaded = client.post("/v1/embed", files={"audio": (clips[1].name, f)}).json()
    by_uri = client.post("/v1/embed", json={"uris": [str(clips[1])]}).json()
    want = tiny_embedder.embed_audio([clips[1]])
    np.testing.assert_allclose(uploaded["vectors"], want, atol=1e-5)
    np.testing.assert_allclose(by_uri["vectors"], want, atol=1e-5)


def test_search_by_audio_upload_uri_and_id(make_client, qdrant, tiny_embedder, clips):
    client = make_client()
    want = AudioSearch(qdrant, "sounds", tiny_embedder).search_by_audio(clips[0], limit=3, exclude_self=True)
    with open(clips[0], "rb") as f:
        up = client.post(
            "/v1/search/audio", files={"audio": ("q.wav", f)}, data={"limit": "3", "exclude_self": "true"}
        )
    assert up.status_code == 200, up.text
    assert [h["id"] for h in up.json()["hits"]] == [h.id for h in want]
    assert all(h["source"] != str(clips[0]) for h in up.json()["hits"])
    by_uri = client.post(
        "/v1/search/audio", json={"uri": str(clips[0]), "limit": 3, "exclude_self": True}
    ).json()
    assert [h["id"] for h in by_uri["hits"]] == [h.id for h in want]
    first = client.post("/v1/search", json={"query": "x", "rerank": False}).json()["hits"][0]
    by_id = client.post("/v1/search/audio", json={"id": first["id"], "limit": 2}).json()["hits"]
    assert by_id[0]["id"] == first["id"]  # a stored segment is nearest to itself


def test_rerank_both_directions_equal_the_reranker(make_client, tiny_reranker, clips):
    client = make_client()
    hits = client.post("/v1/search", json={"query": "bell", "rerank": False, "limit": 3}).json()["hits"]
    t2a = client.post("/v1/rerank", json={"query": "bell", "ids": [h["id"] for h in hits]}).json()
    from aurola_qdrant.audio import load_audio

    segments = [load_audio(h["source"], start_s=h["start_s"], end_s=h["end_s"]) for h in hits]
    np.testing.assert_allclose(t2a["scores"], tiny_reranker.score_text_to_audio("bell", segments), atol=1e-5)
    assert t2a["direction"] == "t2a" and t2a["alpha"] == 1.0
    with open(clips[2], "rb") as f:
        a2t = client.post(
            "/v1/rerank",
            files={"audio": (clips[2].name, f)},
            data={"direction": "a2t", "texts": '["a bell", "a dog barking"]'},
        ).json()
    np.testing.assert_allclose(
        a2t["scores"], tiny_reranker.score_audio_to_text(clips[2], ["a bell", "a dog barking"]), atol=1e-5
    )


def test_audio_serves_the_segment_with_ranges(make_client, clips):
    client = make_client()
    hits = client.post("/v1/search", json={"query": "x", "rerank": False, "limit": 20}).json()["hits"]
    window = next(h for h in hits if h["source"].endswith("sweep.wav") and h["start_s"] > 0)
    whole = client.get(window["audio_url"])
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    assert whole.headers["accept-ranges"] == "bytes"
    samples, sr = sf.read(io.BytesIO(whole.content))
    assert sr == 16000 and len(samples) == round((window["end_s"] - window["start_s"]) * sr)
    original, _ = sf.read(clips[-1])
    start = round(window["start_s"] * sr)
    np.testing.assert_allclose(samples, original[start : start + len(samples)], atol=1 / 32000)
    part = client.get(window["audio_url"], headers={"Range": "bytes=10-109"})
    assert part.status_code == 206 and part.content == whole.content[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{len(whole.content)}"
    tail = client.get(window["audio_url"], headers={"Range": "bytes=-20"})
    assert tail.status_code == 206 and tail.content == whole.content[-20:]
    _error(
        client.get(window["audio_url"], headers={"Range": f"bytes={len(whole.content)}-"}),
        416,
        "range_not_satisfiable",
    )


def test_audio_serves_only_stored_points(make_client):
    client = make_client()
    assert "no point" in _error(
        client.get("/v1/audio/00000000-0000-0000-0000-000000000000"), 404, "not_found"
    )
    _error(client.get("/v1/audio/not-a-uuid"), 404, "not_found")
    assert client.get("/v1/audio/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert "not a source stored" in _error(
        client.post("/v1/embed", json={"uris": ["/etc/passwd"]}), 422, "uri_not_allowed"
    )


def test_auth_on(make_client):
    client = make_client(api_key=KEY)
    assert client.get("/healthz").status_code == 200  # liveness needs no key
    assert client.get("/").status_code == 200  # the page holds no data; it asks for the key
    for method, path, body in [
        ("get", "/readyz", None),
        ("get", "/metrics", None),
        ("post", "/v1/search", {"query": "a"}),
        ("post", "/v1/embed", {"texts": ["a"]}),
        ("get", "/v1/collection", None),
        ("post", "/v1/rerank", {"query": "a", "ids": ["x"]}),
        ("get", "/v1/audio/x", None),
        ("post", "/v1/search/audio", {"uri": "x"}),
    ]:
        denied = getattr(client, method)(path, **({"json": body} if body else {}))
        _error(denied, 401, "unauthorized")
        assert denied.headers["www-authenticate"] == "Bearer"
        wrong = getattr(client, method)(
            path, headers={"Authorization": "Bearer nope"}, **({"json": body} if body else {})
        )
        assert wrong.status_code == 401
    ok = client.post("/v1/search", json={"query": "a bell"}, headers=AUTH)
    assert ok.status_code == 200 and ok.json()["hits"]
    assert client.get("/readyz", headers=AUTH).json()["ready"] is True
    assert "aurola_requests_total" in client.get("/metrics", headers=AUTH).text


def test_auth_off_by_default_and_no_cors(make_client):
    client = make_client()
    assert client.get("/readyz").json() == {
        "ready": True,
        "checks": {"models": True, "qdrant": True, "collection": True},
        "detail": "ok",
    }
    response = client.post(
        "/v1/search", json={"query": "bell"}, headers={"Origin": "https://elsewhere.example"}
    )
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers
    cors = make_client(cors_origins=("https://app.example",))
    allowed = cors.options(
        "/v1/search", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"


def test_bad_inputs_get_clear_errors(make_client, clips, tmp_path):
    client = make_client(max_body_bytes=200_000, max_upload_bytes=60_000, max_audio_s=4.0)
    assert "empty" in _error(client.post("/v1/search", json={"query": "  "}), 422, "invalid_input")
    assert "2,000" in _error(client.post("/v1/search", json={"query": "a" * 2001}), 422, "invalid_input")
    assert "muts" in _error(
        client.post("/v1/search", json={"query": "a", "filter": {"muts": []}}), 422, "invalid_filter"
    )
    msg = _error(
        client.post(
            "/v1/search",
            json={"query": "a", "filter": {"must": [{"key": "colour", "match": {"value": "red"}}]}},
        ),
        422,
        "invalid_filter",
    )
    assert "colour" in msg and "category" in msg
    assert "limt" in _error(client.post("/v1/search", json={"query": "a", "limt": 3}), 422, "invalid_input")
    _error(client.post("/v1/search", json={"query": "a", "limit": 0}), 422, "invalid_input")
    _error(
        client.post("/v1/search", content=b"{not json", headers={"content-type": "application/json"}),
        400,
        "bad_request",
    )
    assert "not-audio.wav" in _error(
        client.post("/v1/search/audio", files={"audio": ("not-audio.wav", b"RIFF garbage")}),
        422,
        "undecodable_audio",
    )
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(8000 * 5, dtype=np.float32), 8000, subtype="PCM_U8")  # 5 s in 40 kB
    with open(long, "rb") as f:
        assert "5.0 s" in _error(
            client.post("/v1/embed", files={"audio": ("long.wav", f)}), 422, "audio_too_long"
        )
    big = tmp_path / "big.wav"
    sf.write(big, np.zeros(16000 * 3, dtype=np.float32), 16000)  # 96 kB of PCM_16: over the upload limit
    with open(big, "rb") as f:
        _error(client.post("/v1/embed", files={"audio": ("big.wav", f)}), 413, "too_large")
    _error(client.post("/v1/embed", json={"texts": ["x" * 250_000]}), 413, "too_large")
    _error(client.post("/v1/embed", json={"texts": []}), 422, "invalid_input")
    _error(client.post("/v1/embed", json={}), 422, "invalid_input")
    _error(
        client.post("/v1/rerank", json={"query": "a", "ids": ["00000000-0000-0000-0000-000000000000"]}),
        404,
        "not_found",
    )
    _error(client.get("/v1/nothing"), 404, "not_found")
    assert "re-ranker" in _error(
        make_client(reranker=False).post("/v1/rerank", json={"query": "a", "ids": ["1"]}),
        422,
        "invalid_input",
    )
    # the service is still up and answers normally after all of that
    assert client.post("/v1/search", json={"query": "bell"}).status_code == 200
    errors = client.get("/metrics").text
    assert 'aurola_errors_total{type="invalid_filter"} 2.0' in errors


def test_full_queue_answers_503_with_retry_after(make_client):
    client = make_client(max_queue=2)
    busy = client.post("/v1/embed", json={"texts": ["a", "b", "c"]})
    assert "busy" in _error(busy, 503, "queue_full") and busy.headers["retry-after"] == "1"
    assert client.post("/v1/embed", json={"texts": ["a", "b"]}).status_code == 200  # nothing was left queued


def test_qdrant_down_is_503_and_secrets_never_leak(make_client, qdrant, monkeypatch):
    client = make_client(api_key=KEY)
    from aurola_qdrant.errors import StoreUnavailableError

    def down(*args, **kwargs):
        raise StoreUnavailableError(f"Qdrant at http://qdrant:6333 did not answer (api-key: {QDRANT_KEY})")

    monkeypatch.setattr(type(qdrant), "query_points", down)
    monkeypatch.setattr(type(qdrant), "collection_exists", down)
    failed = client.post("/v1/search", json={"query": "bell"}, headers=AUTH)
    assert _error(failed, 503, "store_unavailable") and failed.headers["retry-after"] == "1"
    ready = client.get("/readyz", headers=AUTH)
    assert ready.status_code == 503 and ready.json()["checks"]["qdrant"] is False
    for text in (failed.text, ready.text):
        assert QDRANT_KEY not in text and KEY not in text
    monkeypatch.undo()
    assert client.post("/v1/search", json={"query": "bell"}, headers=AUTH).status_code == 200


def test_metrics_count_requests_stages_and_batches(make_client):
    client = make_client()
    client.post("/v1/search", json={"query": "bell"})
    text = client.get("/metrics").text
    assert 'aurola_requests_total{endpoint="/v1/search",status="200"} 1.0' in text
    for stage in ("queue", "embed", "retrieve", "rerank"):
        assert f'aurola_stage_seconds_count{{stage="{stage}"}} 1.0' in text
    assert 'aurola_batch_size_count{kind="text"} 1.0' in text and "aurola_queue_depth 0.0" in text


def test_page_and_docs_are_served_offline(make_client):
    client = make_client()
    page = client.get("/").text
    assert '<script src="/page/app.js">' in page and "http" not in page.split("<body>")[1]
    js = client.get("/page/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "https://" not in js.text and "cdn" not in js.text.lower()
    assert client.get("/page/../../etc/passwd").status_code == 404
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/v1/embed",
        "/v1/search",
        "/v1/search/audio",
        "/v1/rerank",
        "/v1/audio/{point_id}",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= set(paths)


def test_the_api_docs_page_needs_no_cdn(make_client):
    client = make_client(api_key="k-docs")  # the docs hold no data: served without the key
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    assert "cdn" not in docs.text.lower() and "https://" not in docs.text
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        answer = client.get(asset)
        assert answer.status_code == 200 and len(answer.content) > 10_000, asset
    assert client.get("/docs/assets/..%2F..%2Fsetup.py").status_code == 404
    assert client.get("/docs/assets/index.html").status_code == 404
