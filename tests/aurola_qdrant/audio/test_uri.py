"""Audio under URIs: a range-capable HTTP server on 127.0.0.1 and an S3 endpoint (moto's server mode),
both started here; reads must equal the local file's, stream only what a window needs, and retry."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aurola_qdrant.audio import iter_windows, load_audio
from aurola_qdrant.audio.uri import content_hash, display, is_uri, list_uri, list_uri_sizes, source_size
from aurola_qdrant.errors import AudioDecodeError
from aurola_qdrant.ids import file_id
from aurola_qdrant.search.candidates import load_candidates
from aurola_qdrant.search.hits import SearchHit


class _RangeHandler(SimpleHTTPRequestHandler):
    """Serves files with ``Range`` support, counts the bytes it sends, fails the first N requests of a
    name listed in ``flaky`` with 503."""

    sent: dict[str, int]
    flaky: dict[str, int]

    def log_message(self, *args: object) -> None:
        pass

    def _serve(self, body: bool) -> None:
        path = self.translate_path(self.path)
        name = os.path.basename(path)
        if self.flaky.get(name, 0) > 0:
            self.flaky[name] -= 1
            self.send_error(503)
            return
        if not os.path.isfile(path):
            self.send_error(404)
            return
        data = Path(path).read_bytes()
        start, end = 0, len(data) - 1
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match:
            start = int(match[1])
            end = min(int(match[2]) if match[2] else end, end)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if body:
            self.wfile.write(data[start : end + 1])
            self.sent[name] = self.sent.get(name, 0) + end - start + 1

    def do_GET(self) -> None:
        self._serve(True)

    def do_HEAD(self) -> None:
        self._serve(False)


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    root.mkdir()
    rng = np.random.default_rng(0)
    sf.write(root / "long.wav", (0.1 * rng.standard_normal((44_100 * 40, 2))).astype(np.float32), 44_100)
    sf.write(root / "short.flac", (0.1 * rng.standard_normal(22_050)).astype(np.float32), 22_050)
    (root / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    return root


@pytest.fixture()
def http_root(archive: Path) -> Iterator[tuple[str, type[_RangeHandler]]]:
    handler = type("H", (_RangeHandler,), {"sent": {}, "flaky": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(archive)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def s3_bucket(archive: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }.items():
        monkeypatch.setenv(key, value)
    import fsspec

    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    if not fs.exists("sounds"):  # moto keeps its state per process, across servers
        fs.mkdir("sounds")
    for name in ("long.wav", "short.flac", "bad.wav"):
        fs.put_file(str(archive / name), f"sounds/field/{name}")
    fs.put_file(str(archive / "short.flac"), "sounds/other/short.flac")
    fs.clear_instance_cache()
    try:
        yield "s3://sounds"
    finally:
        fsspec.filesystem("s3").clear_instance_cache()
        server.stop()


def test_uri_names() -> None:
    assert is_uri("s3://b/k.wav") and is_uri("file:///x.wav") and not is_uri("/a/b.wav")
    assert display("https://user:secret@host:8080/a.wav?X-Amz-Signature=abc") == "https://host:8080/a.wav"
    assert display("/plain/path.wav") == "/plain/path.wav"


def test_http_window_streams_and_equals_local(
    http_root: tuple[str, type[_RangeHandler]], archive: Path
) -> None:
    base, handler = http_root
    uri = f"{base}/long.wav"
    got = load_audio(uri, start_s=20.0, end_s=21.0)
    want = load_audio(archive / "long.wav", start_s=20.0, end_s=21.0)
    np.testing.assert_array_equal(got.waveform, want.waveform)
    assert got.source == uri and got.source_duration_s == want.source_duration_s
    size = (archive / "long.wav").stat().st_size
    assert handler.sent["long.wav"] < size / 3  # the header and the blocks of the window, not the file
    assert source_size(uri) == size
    assert content_hash(uri) == file_id(archive / "long.wav")


def test_http_windows_equal_local(http_root: tuple[str, type[_RangeHandler]], archive: Path) -> None:
    base, _ = http_root
    remote = list(iter_windows(f"{base}/long.wav", 15.0, 15.0))
    local = list(iter_windows(archive / "long.wav", 15.0, 15.0))
    assert [(s.start_s, s.end_s) for s in remote] == [(s.start_s, s.end_s) for s in local]
    for a, b in zip(remote, local, strict=True):
        np.testing.assert_array_equal(a.waveform, b.waveform)


def test_http_errors_and_retries(http_root: tuple[str, type[_RangeHandler]]) -> None:
    base, handler = http_root
    with pytest.raises(AudioDecodeError) as missing:
        load_audio(f"{base}/nope.wav")
    assert missing.value.reason == "missing"
    with pytest.raises(AudioDecodeError) as bad:
        load_audio(f"{base}/bad.wav")
    assert bad.value.reason in ("corrupt", "truncated")
    handler.flaky["short.flac"] = 2  # two 503s, then the file: retried, not a failure
    assert load_audio(f"{base}/short.flac").waveform.size == 16_000


def test_s3_listing_and_reads(s3_bucket: str, archive: Path) -> None:
    listed = list_uri(f"{s3_bucket}/field/", (".wav", ".flac"))
    assert listed == [f"{s3_bucket}/field/{n}" for n in ("bad.wav", "long.wav", "short.flac")]
    assert list_uri(f"{s3_bucket}/field/long.wav", (".flac",)) == [f"{s3_bucket}/field/long.wav"]
    sizes = dict(list_uri_sizes(f"{s3_bucket}/field/", (".wav", ".flac")))  # from the listing itself
    assert sizes == {u: (archive / u.rsplit("/", 1)[1]).stat().st_size for u in listed}
    got = load_audio(f"{s3_bucket}/field/long.wav", start_s=5.0, end_s=6.5)
    want = load_audio(archive / "long.wav", start_s=5.0, end_s=6.5)
    np.testing.assert_array_equal(got.waveform, want.waveform)
    assert content_hash(f"{s3_bucket}/other/short.flac") == file_id(archive / "short.flac")
    with pytest.raises(AudioDecodeError) as missing:
        load_audio(f"{s3_bucket}/field/none.wav")
    assert missing.value.reason == "missing"


def test_candidates_under_uris(
    http_root: tuple[str, type[_RangeHandler]], s3_bucket: str, archive: Path
) -> None:
    base, _ = http_root
    hits = [
        SearchHit("a", 0.9, 0.9, source=f"{base}/long.wav", start_s=30.0, end_s=40.0),
        SearchHit("b", 0.8, 0.8, source=f"{s3_bucket}/field/short.flac", start_s=0.0, end_s=0.5),
        SearchHit("c", 0.7, 0.7, source=f"{base}/missing.wav", start_s=0.0, end_s=1.0),
    ]
    loaded = load_candidates(hits, workers=3)
    want = load_audio(archive / "long.wav", start_s=30.0, end_s=40.0)
    assert not isinstance(loaded[0], str) and np.array_equal(loaded[0].waveform, want.waveform)
    assert not isinstance(loaded[1], str) and loaded[1].waveform.size == 8_000
    assert isinstance(loaded[2], str) and "missing" in loaded[2]
