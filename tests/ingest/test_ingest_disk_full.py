"""A full disk under the embedded store: the ingest stops with one line and exit status 3, the data
written so far stays intact, and a rerun with space again completes exactly.

The store lives on a 600 KiB tmpfs mounted in a private mount namespace (``unshare -m``, so nothing is
left mounted if the test dies), grown to 64 MiB for the rerun ("free some space"); the test needs root,
which CI and the development machines run as. The first test's store is a qdrant-client local-mode folder
(made before the first run). The second runs the embedded default, Qdrant Edge, which a full disk would
kill with SIGBUS (it memory-maps its files): it must refuse writes while less than
`aurola_qdrant.store.edge.collection.MIN_FREE_BYTES` is free, so a filler file leaves just above that.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

from qdrant_client import QdrantClient


def test_full_disk_stops_cleanly_and_a_rerun_completes_exactly(h, tmp_path, tiny_thinker):
    files = [
        h.write_tone(tmp_path / "in" / f"f{i:02d}.wav", 2.0, freq=200 + 40 * i, seed=i) for i in range(12)
    ]
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    args = ["ingest", str(tmp_path / "in"), "--collection", "sounds", "--qdrant-path", str(mnt / "db"),
            "--model", str(tiny_thinker), "--window", "1", "--hop", "0.02", "--workers", "1",
            "--batch-size", "8", "--no-progress", "--json"]  # fmt: skip
    cli = f"import sys; from aurola_qdrant.cli import main; sys.exit(main({args!r}))"
    script = textwrap.dedent(f"""
        set -u
        mount -t tmpfs -o size=600k tmpfs {mnt}
        {sys.executable} -c "from qdrant_client import QdrantClient; QdrantClient(path='{mnt}/db').close()"
        {sys.executable} -c "{cli}" > {tmp_path}/run1.out 2> {tmp_path}/run1.err; echo $? > {tmp_path}/rc1
        mount -o remount,size=64m {mnt}
        {sys.executable} -c "{cli}" > {tmp_path}/run2.out 2> {tmp_path}/run2.err; echo $? > {tmp_path}/rc2
        cp -a {mnt}/db {tmp_path}/db
        umount {mnt}
    """)
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    subprocess.run([shutil.which("unshare") or "unshare", "-m", "bash", "-c", script], env=env, timeout=300,
                   check=True)  # fmt: skip

    first_err = (tmp_path / "run1.err").read_text()
    assert (tmp_path / "rc1").read_text().strip() == "3", first_err
    errors = [line for line in first_err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no space left on the device" in errors[0], first_err
    assert "Traceback" not in first_err
    first = json.loads((tmp_path / "run1.out").read_text())
    assert first["error"] and 0 < first["files_ingested"] < len(files)

    second_err = (tmp_path / "run2.err").read_text()
    assert (tmp_path / "rc2").read_text().strip() == "0", second_err
    second = json.loads((tmp_path / "run2.out").read_text())
    assert second["files_skipped"] == first["files_ingested"]
    assert second["files_skipped"] + second["files_ingested"] == len(files)
    client = QdrantClient(path=str(tmp_path / "db"))
    try:
        ids = [str(p.id) for p in h.all_points(client, "sounds")]
    finally:
        client.close()
    assert len(ids) == len(set(ids)) and set(ids) == h.expected_ids(files, 1.0, 0.02)


def test_qdrant_edge_refuses_writes_before_the_disk_is_full_and_a_rerun_completes(h, tmp_path, tiny_thinker):
    from aurola_qdrant.store import open_embedded
    from aurola_qdrant.store.edge.collection import MIN_FREE_BYTES

    first = h.write_tone(tmp_path / "one" / "f00.wav", 2.0, freq=200, seed=0)
    files = [first] + [
        h.write_tone(tmp_path / "in" / f"f{i:02d}.wav", 2.0, freq=200 + 40 * i, seed=i) for i in range(1, 24)
    ]
    shutil.copy(first, tmp_path / "in" / "f00.wav")
    mnt = tmp_path / "mnt"
    mnt.mkdir()

    def cli(source):
        args = ["ingest", str(source), "--collection", "sounds", "--qdrant-path", str(mnt / "db"),
                "--model", str(tiny_thinker), "--window", "1", "--hop", "0.02", "--workers", "1",
                "--batch-size", "8", "--no-progress", "--json"]  # fmt: skip
        return (
            f'{sys.executable} -c "import sys; from aurola_qdrant.cli import main; sys.exit(main({args!r}))"'
        )

    keep_kb = MIN_FREE_BYTES // 1024 + 3 * 1024  # just above the margin: the next segment step crosses it
    size_mb = MIN_FREE_BYTES // 2**20 + 160
    script = textwrap.dedent(f"""
        set -u
        mount -t tmpfs -o size={size_mb}m tmpfs {mnt}
        {cli(tmp_path / "one")} > {tmp_path}/run0.out 2> {tmp_path}/run0.err; echo $? > {tmp_path}/rc0
        free_kb=$(df -k --output=avail {mnt} | tail -1)
        dd if=/dev/zero of={mnt}/filler bs=1k count=$((free_kb - {keep_kb})) status=none
        {cli(tmp_path / "in")} > {tmp_path}/run1.out 2> {tmp_path}/run1.err; echo $? > {tmp_path}/rc1
        rm {mnt}/filler
        {cli(tmp_path / "in")} > {tmp_path}/run2.out 2> {tmp_path}/run2.err; echo $? > {tmp_path}/rc2
        cp -a {mnt}/db {tmp_path}/db
        umount {mnt}
    """)
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    subprocess.run([shutil.which("unshare") or "unshare", "-m", "bash", "-c", script], env=env, timeout=300,
                   check=True)  # fmt: skip

    assert (tmp_path / "rc0").read_text().strip() == "0", (tmp_path / "run0.err").read_text()
    first_err = (tmp_path / "run1.err").read_text()
    assert (tmp_path / "rc1").read_text().strip() == "3", first_err  # not 135 (SIGBUS)
    errors = [line for line in first_err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no space left on the device" in errors[0] and "Traceback" not in first_err
    assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "run2.err").read_text()
    second = json.loads((tmp_path / "run2.out").read_text())
    assert second["files_skipped"] + second["files_ingested"] == len(files) and second["files_failed"] == 0
    engine = open_embedded(tmp_path / "db", create=False)
    try:
        ids = [str(p.id) for p in h.all_points(engine, "sounds")]
    finally:
        engine.close()
    assert len(ids) == len(set(ids)) and set(ids) == h.expected_ids(files, 1.0, 0.02)
