"""Decoder chatter: mpg123's fd-2 warnings about odd ID3 tags stay off the terminal; other lines do not."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aurola_qdrant.audio.chatter import decoder_chatter, describe_chatter


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


@pytest.fixture
def odd_tag_mp3(tmp_path: Path) -> Path:
    """A playable MP3 behind an ID3v2.3 TXXX frame with text encoding 7, which mpg123 complains about."""
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3 support")
    plain = tmp_path / "plain.mp3"
    sf.write(plain, (0.3 * np.sin(np.arange(32000) / 10)).astype(np.float32), 16000, format="MP3")
    body = b"\x07desc\x00value"
    frame = b"TXXX" + struct.pack(">I", len(body)) + b"\x00\x00" + body
    path = tmp_path / "odd-tag.mp3"
    path.write_bytes(b"ID3\x03\x00\x00" + _syncsafe(len(frame)) + frame + plain.read_bytes())
    return path


def _decode_in_subprocess(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from aurola_qdrant import load_audio; print(load_audio(sys.argv[1]).waveform.shape)"
    return subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, env={**os.environ, **env}
    )


def test_odd_tag_warning_stays_off_stderr(odd_tag_mp3: Path) -> None:
    done = _decode_in_subprocess(odd_tag_mp3)
    assert done.returncode == 0 and done.stdout.strip() == "(32000,)", done.stderr
    assert done.stderr == ""
    shown = _decode_in_subprocess(odd_tag_mp3, AUROLA_DECODER_OUTPUT="show")  # the switch for debugging
    assert "libmpg123" in shown.stderr  # proves the file does make the decoder talk


def test_capture_keeps_decoder_lines_and_passes_other_lines_on(capfd: pytest.CaptureFixture[str]) -> None:
    with decoder_chatter("x.mp3") as said:
        os.write(2, b"[src/libmpg123/id3.c:process_extra():677] error: Unknown text encoding 7\n")
        os.write(2, b"another thread's log line\n")
    assert said == ["[src/libmpg123/id3.c:process_extra():677] error: Unknown text encoding 7"]
    assert capfd.readouterr().err == "another thread's log line\n"
    assert describe_chatter(said * 3) == f"; decoder said: {said[0]}"  # repeated warnings said once
    assert describe_chatter([]) == ""
