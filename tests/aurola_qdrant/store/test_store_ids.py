from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from aurola_qdrant.ids import SEGMENT_NAMESPACE, file_id, point_id


def test_file_id_is_sha256_of_bytes_for_any_chunk_size_and_path(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000 + b"tail"
    a, b = tmp_path / "a.wav", tmp_path / "sub" / "renamed.flac"
    b.parent.mkdir()
    a.write_bytes(data)
    b.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert file_id(a) == expected
    assert file_id(str(b), chunk_size=7) == expected
    assert file_id(a, chunk_size=1 << 30) == expected


def test_file_id_differs_for_different_content_and_rejects_bad_chunk(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"\x00\x01")
    b.write_bytes(b"\x00\x02")
    assert file_id(a) != file_id(b)
    with pytest.raises(ValueError, match="chunk_size"):
        file_id(a, chunk_size=0)
    with pytest.raises(FileNotFoundError):
        file_id(tmp_path / "missing.wav")


def test_point_id_is_uuid5_of_hash_and_millisecond_bounds() -> None:
    pid = point_id("abc", 1.5, 3.0)
    assert uuid.UUID(pid).version == 5
    assert pid == str(uuid.uuid5(SEGMENT_NAMESPACE, "abc:1500:3000"))
    assert point_id("abc", 1.5000001, 2.9999999) == pid  # float noise rounds away
    assert point_id("abc", 1.5, 3.001) != pid
    assert point_id("abd", 1.5, 3.0) != pid


@pytest.mark.parametrize(
    ("fid", "start", "end", "match"),
    [
        ("", 0.0, 1.0, "file_id"),
        ("x", -1.0, 1.0, "start_s"),
        ("x", 0.0, float("nan"), "end_s"),
        ("x", 2.0, 2.0, "after start_s"),
        ("x", 2.0, 1.0, "after start_s"),
    ],
)
def test_point_id_rejects_bad_input(fid: str, start: float, end: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        point_id(fid, start, end)
