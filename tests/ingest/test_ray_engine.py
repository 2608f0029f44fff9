"""The Ray engine on a 2-node local cluster (loopback, small object stores, no dashboard): the embedder
pool is pinned to the second node by a custom resource. Results must equal the in-process engine's.

Ray replaces 127.0.0.1 by the host's address when it connects a driver, and hangs where that address is
not reachable; so where we can (root, ``unshare``), the cluster tests run in a child pytest inside a
network namespace that has only loopback (`test_cluster_tests_in_a_loopback_namespace`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from ingest import run_ingest  # noqa: E402
from ingest.ray import RayOptions  # noqa: E402
from ingest.ray.stages import KILL_SEAM  # noqa: E402

_OBJECT_STORE = 80 << 20
_NS_VAR = "AUROLA_RAY_LOOPBACK_NS"
_IN_NS = os.environ.get(_NS_VAR) == "1"
_CAN_NS = os.geteuid() == 0 and bool(shutil.which("unshare")) and bool(shutil.which("ip"))
in_cluster = pytest.mark.skipif(
    _CAN_NS and not _IN_NS,
    reason="runs in the loopback namespace (test_cluster_tests_in_a_loopback_namespace)",
)


@pytest.mark.skipif(_IN_NS or not _CAN_NS, reason="needs root and unshare; the tests then run directly")
def test_cluster_tests_in_a_loopback_namespace() -> None:
    child = f"{sys.executable} -m pytest -q -p no:cacheprovider --tb=short -rfE {__file__}"
    script = f"ip link set lo up && exec {child}"
    proc = subprocess.run(
        ["unshare", "-n", "sh", "-c", script],
        # Ray reads RAY_ENABLE_AUTO_CONNECT when imported: set here, it keeps a Ray Data thread that
        # outlives its dataset from re-connecting the driver after ray.shutdown() (the child then exits 1)
        env={**os.environ, _NS_VAR: "1", "OMP_NUM_THREADS": "1", "RAY_ENABLE_AUTO_CONNECT": "0"},
        capture_output=True,
        text=True,
        timeout=500,
    )
    if proc.returncode != 0 or "8 passed" not in proc.stdout:  # pytest.fail: the child's report, untruncated
        pytest.fail(f"rc {proc.returncode}\n{proc.stderr[-3000:]}\n{proc.stdout[-8000:]}", pytrace=False)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from ray.cluster_utils import Cluster

    tmp = tempfile.mkdtemp(prefix="rt-", dir="/tmp")  # short: Unix socket paths are limited to ~107 chars
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_TMPDIR", "RAY_ENABLE_AUTO_CONNECT")}
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_TMPDIR=tmp, RAY_ENABLE_AUTO_CONNECT="0")
    from ray._private import auto_init_hook  # read at import: a thread of a stopped dataset must not

    auto_init_hook.enable_auto_connect = False  # reconnect the driver after ray.shutdown() (exit 1)
    node = {"num_cpus": 1, "object_store_memory": _OBJECT_STORE, "node_ip_address": "127.0.0.1"}
    c = Cluster(
        initialize_head=True,
        head_node_args={**node, "include_dashboard": False},  # temp dir: RAY_TMPDIR
    )
    c.add_node(**node, resources={"embedder": 1})
    c.wait_for_nodes()
    ray.init(address=c.address, include_dashboard=False, log_to_driver=False)
    try:
        yield c
    finally:
        try:
            ray.shutdown()
            for attempt in range(3):  # a stopped dataset's thread may have reconnected the driver;
                try:  # Cluster.shutdown then disconnects it and refuses once
                    c.shutdown()
                    break
                except ValueError:
                    if attempt == 2:
                        raise
        finally:
            _restore(saved, tmp)


def _restore(saved: dict[str, str | None], tmp: str) -> None:
    """Put the environment back and remove the cluster's temp dir (even after a failed shutdown)."""
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    shutil.rmtree(tmp, ignore_errors=True)


def _options(**kw: Any) -> RayOptions:
    return RayOptions(embedder_resources={"embedder": 1}, decode_cpus=0.5, stall_timeout_s=120, **kw)


def _corpus(h: Any, root: Path) -> list[Path]:
    good = [
        h.write_tone(root / "a.wav", 1.0, freq=300),
        h.write_tone(root / "sub" / "b.flac", 5.0, freq=500),
        h.write_tone(root / "c.ogg", 1.5, freq=700),
        h.write_tone(root / "d.wav", 3.0, freq=900, seed=3),
    ]
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (root / "empty.flac").write_bytes(b"")
    return good


def _points(h: Any, store: Any) -> dict[str, tuple[dict[str, Any], np.ndarray]]:
    name = store.embedder_info.vector_name
    out = {}
    offset = None
    while True:
        page, offset = store.client.scroll(
            "sounds", limit=1000, offset=offset, with_payload=True, with_vectors=True
        )
        for p in page:
            payload = {k: v for k, v in p.payload.items()}
            out[str(p.id)] = (payload, np.asarray(p.vector[name], dtype=np.float32))
        if offset is None:
            return out


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for pid in a:
        assert a[pid][0] == b[pid][0], pid
        np.testing.assert_allclose(a[pid][1], b[pid][1], atol=1e-5)


def _failures(summary: Any) -> list[tuple[str, str]]:
    return sorted((f["path"], f["reason"]) for f in summary.failures)


@in_cluster
def test_ray_equals_inprocess_with_bad_files(h, tmp_path, tiny_embedder, open_store, cluster):
    good = _corpus(h, tmp_path / "in")
    cfg = h.config(metadata={"project": "t"})
    local = open_store(tmp_path / "db_local")
    want = run_ingest([tmp_path / "in"], local, tiny_embedder, cfg)
    remote = open_store(tmp_path / "db_ray")
    got = run_ingest([tmp_path / "in"], remote, tiny_embedder, cfg, engine="ray", ray_options=_options())
    assert _failures(got) == _failures(want) and len(_failures(got)) == 2
    assert (got.files_ingested, got.segments_embedded, got.points_written) == (
        want.files_ingested,
        want.segments_embedded,
        want.points_written,
    )
    assert not got.ok and got.error is None
    _same(_points(h, remote), _points(h, local))
    assert {str(k) for k in _points(h, remote)} == h.expected_ids(good)
    again = run_ingest([tmp_path / "in"], remote, tiny_embedder, cfg, engine="ray", ray_options=_options())
    assert (again.files_skipped, again.segments_embedded, again.points_written) == (4, 0, 0)


@in_cluster
def test_embedder_actor_killed_mid_run_is_exact(h, tmp_path, tiny_embedder, open_store, cluster, monkeypatch):
    for i in range(6):
        h.write_tone(tmp_path / "in" / f"f{i}.wav", 3.0, freq=200 + 100 * i, seed=i)
    cfg = h.config()
    local = open_store(tmp_path / "db_local")
    run_ingest([tmp_path / "in"], local, tiny_embedder, cfg)
    marker = tmp_path / "killed"
    monkeypatch.setenv(KILL_SEAM, f"1:{marker}")  # the actor SIGKILLs itself in its first batch, once
    remote = open_store(tmp_path / "db_ray")
    opts = _options(writers=2)  # a pool of writers, as for a Qdrant server: each file through one of them
    got = run_ingest([tmp_path / "in"], remote, tiny_embedder, cfg, engine="ray", ray_options=opts)
    assert marker.exists()  # the actor really died
    assert got.ok and got.files_ingested == 6
    _same(_points(h, remote), _points(h, local))
    assert remote.completed_file_ids() == local.completed_file_ids()


@in_cluster
def test_embedder_node_removed_and_replaced_is_exact(
    h, tmp_path, tiny_embedder, open_store, cluster, monkeypatch
):
    """The embedder's node dies mid-batch (its raylet, actor and decode workers killed) and a new node with
    the embedder resource joins: Ray restarts the actor there and retries the lost tasks; the driver drops
    the repeated rows, so the store ends exactly as the in-process engine's."""
    import threading
    import time

    for i in range(6):
        h.write_tone(tmp_path / "in" / f"n{i}.wav", 3.0, freq=230 + 110 * i, seed=10 + i)
    cfg = h.config()
    local = open_store(tmp_path / "db_local")
    run_ingest([tmp_path / "in"], local, tiny_embedder, cfg)
    marker = tmp_path / "paused"
    monkeypatch.setenv(KILL_SEAM, f"1:{marker}|pause")  # the actor waits in its first batch, once
    remote = open_store(tmp_path / "db_ray")
    result: dict[str, Any] = {}

    def ingest() -> None:
        try:
            result["summary"] = run_ingest(
                [tmp_path / "in"], remote, tiny_embedder, cfg, engine="ray", ray_options=_options()
            )
        except BaseException as exc:
            result["error"] = exc

    runner = threading.Thread(target=ingest, daemon=True)
    runner.start()  # Cluster.add_node installs signal handlers: it must run on the main thread
    deadline = time.monotonic() + 120
    while not marker.exists() and runner.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), result
    old = next(n for n in cluster.worker_nodes)
    old_id = old.node_id
    cluster.remove_node(old, allow_graceful=False)
    cluster.add_node(num_cpus=1, object_store_memory=_OBJECT_STORE, node_ip_address="127.0.0.1",
                     resources={"embedder": 1})  # fmt: skip
    runner.join(timeout=240)
    assert not runner.is_alive() and "error" not in result, result
    alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert old_id not in alive and len(alive) == 2  # the embedder's node really went away
    got = result["summary"]
    assert got.ok and got.files_ingested == 6 and got.points_written == got.segments_embedded == 12
    _same(_points(h, remote), _points(h, local))
    assert remote.completed_file_ids() == local.completed_file_ids()


@in_cluster
def test_run_stopped_part_way_then_rerun_adds_only_what_is_missing(
    h, tmp_path, tiny_embedder, open_store, cluster
):
    files = [h.write_tone(tmp_path / "in" / f"g{i}.wav", 3.0, freq=250 + 90 * i, seed=i) for i in range(4)]
    cfg = h.config()
    local = open_store(tmp_path / "db_local")
    run_ingest([tmp_path / "in"], local, tiny_embedder, cfg)
    remote = open_store(tmp_path / "db_ray")
    # a run that stopped part-way (as a lost driver leaves it): two of the four files complete
    first = run_ingest(files[:2], remote, tiny_embedder, cfg, engine="ray", ray_options=_options())
    assert first.files_ingested == 2
    want = _points(h, local)
    opts = _options(writers=3)
    rerun = run_ingest([tmp_path / "in"], remote, tiny_embedder, cfg, engine="ray", ray_options=opts)
    assert (rerun.files_skipped, rerun.files_ingested, rerun.segments_embedded) == (2, 2, 4)
    _same(_points(h, remote), want)


@in_cluster
def test_cli_engine_ray_gives_the_default_engines_points_and_failures(h, tmp_path, tiny_thinker, cluster):
    import json

    from click.testing import CliRunner

    from aurola_qdrant.cli import main

    _corpus(h, tmp_path / "in")
    summaries = {}
    for engine in ("inprocess", "ray"):
        args = ["ingest", str(tmp_path / "in"), "--collection", "sounds", "--qdrant-path",
                str(tmp_path / f"db_{engine}"), "--model", str(tiny_thinker), "--window", "2",
                "--workers", "1", "--batch-size", "2", "--no-progress", "--json", "--engine", engine,
                "--failures", str(tmp_path / f"failures_{engine}.jsonl")]  # fmt: skip
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, result.output  # two bad files
        summaries[engine] = json.loads(result.stdout[result.stdout.index("{") :])
    for key in ("files_ingested", "files_failed", "segments_embedded", "points_written"):
        assert summaries["ray"][key] == summaries["inprocess"][key], key
    rows = {e: (tmp_path / f"failures_{e}.jsonl").read_text().splitlines() for e in summaries}
    logs = {e: sorted((json.loads(x)["path"], json.loads(x)["reason"]) for x in r) for e, r in rows.items()}
    assert logs["ray"] == logs["inprocess"] and len(logs["ray"]) == 2


@in_cluster
def test_cli_private_local_ray_leaves_nothing_behind(h, tmp_path, tiny_thinker, cluster):
    """Without --ray-address the command starts its own Ray for the run (loopback, no token, never the
    test's cluster) and removes its temp dir afterwards."""
    import json

    for i in range(2):
        h.write_tone(tmp_path / "in" / f"p{i}.wav", 3.0, freq=320 + 80 * i, seed=i)
    private_tmp = Path(tempfile.mkdtemp(prefix="rl-", dir="/tmp"))  # its TMPDIR: what Ray leaves shows here
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_") and k != KILL_SEAM}
    cli = [sys.executable, "-c", "from aurola_qdrant.cli import main; main()"]
    args = [*cli, "ingest", str(tmp_path / "in"), "--collection", "sounds", "--qdrant-path",
            str(tmp_path / "db"), "--model", str(tiny_thinker), "--window", "2", "--batch-size", "2",
            "--no-progress", "--json", "--engine", "ray"]  # fmt: skip
    try:
        proc = subprocess.run(args, env={**env, "TMPDIR": str(private_tmp)}, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        left = sorted(p.name for p in private_tmp.iterdir())
    finally:
        shutil.rmtree(private_tmp, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert (summary["files_ingested"], summary["points_written"]) == (2, 4)
    assert left == []  # its temp dir (sessions, sockets, logs) is gone, and Ray made nothing else there
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2  # the test's cluster was left alone


@in_cluster
def test_ingest_from_http_manifest_and_s3_prefix(
    h, tmp_path, tiny_embedder, open_store, cluster, monkeypatch
):
    """Sources under http:// (a JSONL manifest of URIs) and s3:// (a prefix, moto's server): the same ids as
    the local files, the URI as ``source``; then re-ranking candidates are read back from those URIs."""
    import json
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    fsspec = pytest.importorskip("fsspec")
    moto_server = pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    from aurola_qdrant.search.candidates import load_candidates
    from aurola_qdrant.search.hits import SearchHit

    root = tmp_path / "in"
    files = [h.write_tone(root / f"u{i}.wav", 3.0, freq=310 + 70 * i, seed=i) for i in range(3)]
    (root / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")

    class Quiet(SimpleHTTPRequestHandler):  # wav headers sit at the start: whole-object GETs are enough
        def log_message(self, *args: object) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    threading.Thread(target=http.serve_forever, daemon=True).start()
    s3 = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3.start()
    try:
        base = f"http://127.0.0.1:{http.server_address[1]}"
        names = ("u0.wav", "bad.wav")
        (root / "list.jsonl").write_text(
            "\n".join(json.dumps({"path": f"{base}/{n}", "take": i}) for i, n in enumerate(names))
        )
        host, port = s3.get_host_and_port()
        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://{host}:{port}"}  # fmt: skip
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        fs = fsspec.filesystem("s3", skip_instance_cache=True)
        if not fs.exists("arch"):
            fs.mkdir("arch")
        for f in files[1:]:
            fs.put_file(str(f), f"arch/take/{f.name}")
        cfg = h.config()
        store = open_store(tmp_path / "db")
        sources = [f"{base}/list.jsonl", "s3://arch/take/"]
        summary = run_ingest(
            sources, store, tiny_embedder, cfg, engine="ray", ray_options=_options(task_env=env)
        )
        assert (summary.files_ingested, summary.files_failed) == (3, 1), summary.failures
        assert summary.failures[0]["path"] == f"{base}/bad.wav"
        points = _points(h, store)
        assert set(points) == h.expected_ids(files)
        got_sources = {p[0]["source"] for p in points.values()}
        assert got_sources == {f"{base}/u0.wav", "s3://arch/take/u1.wav", "s3://arch/take/u2.wav"}
        hits = [SearchHit(pid, 0.5, 0.5, source=p["source"], start_s=p["start_s"], end_s=p["end_s"])
                for pid, (p, _) in points.items()]  # fmt: skip
        assert not any(isinstance(x, str) for x in load_candidates(hits, workers=2))
    finally:
        fsspec.filesystem("s3").clear_instance_cache()
        s3.stop()
        http.shutdown()
        http.server_close()


@in_cluster
def test_a_stalled_cluster_fails_with_a_clear_error(h, tmp_path, tiny_embedder, open_store, cluster):
    import threading

    from ingest.ray import RayStallError

    h.write_tone(tmp_path / "in" / "s.wav", 1.0)
    opts = RayOptions(embedder_resources={"no-such-node": 1}, decode_cpus=0.5, stall_timeout_s=5)
    with pytest.raises(RayStallError, match="stall timeout 5 s"):
        run_ingest([tmp_path / "in"], open_store(), tiny_embedder, h.config(), engine="ray", ray_options=opts)
    # the stalled dataset is stopped: no executor or reader thread is left to call into Ray after
    # the run (a thread that touches a shut-down Ray worker ends the whole process)
    left = [t.name for t in threading.enumerate() if t.name.startswith(("StreamingExecutor", "ray-"))]
    assert left == []
