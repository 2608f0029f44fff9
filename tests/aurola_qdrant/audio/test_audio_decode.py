"""Decoding every supported format, and a typed AudioDecodeError for every way a file can be bad."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aurola_qdrant.audio import AudioInfo, audio_info, load_audio
from aurola_qdrant.errors import AudioDecodeError

FORMATS = [  # (file name, format, subtype, sample rate): one of each codec libsndfile decodes for us
    ("a.wav", "WAV", "PCM_16", 44100),
    ("a.flac", "FLAC", "PCM_24", 22050),
    ("a.ogg", "OGG", "VORBIS", 44100),
    ("a.opus", "OGG", "OPUS", 48000),
    ("a.mp3", "MP3", "MPEG_LAYER_III", 44100),
]


def _cut(path: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def _reason(path: Path | str) -> str:
    with pytest.raises(AudioDecodeError) as info:
        load_audio(path)
    assert info.value.path == str(path)
    return info.value.reason


@pytest.mark.parametrize(("name", "fmt", "subtype", "sr"), FORMATS)
def test_each_format_decodes_and_reports_its_header(write_audio, name, fmt, subtype, sr):
    path = write_audio(name, seconds=1.5, sr=sr, channels=2, format=fmt, subtype=subtype)
    info = audio_info(path)
    assert isinstance(info, AudioInfo)
    assert (info.format, info.subtype, info.sample_rate, info.channels) == (fmt, subtype, sr, 2)
    assert info.duration_s == pytest.approx(1.5, abs=0.01)
    seg = load_audio(path)
    assert seg.waveform.dtype == np.float32 and seg.waveform.ndim == 1
    assert seg.waveform.shape[0] == math.ceil(info.frames * 16000 / sr)
    assert 0.05 < float(np.sqrt(np.mean(seg.waveform**2))) < 0.6  # real signal survived lossy codecs
    assert (seg.orig_sample_rate, seg.channels, seg.source) == (sr, 2, str(path))


def test_missing_file(tmp_path):
    assert _reason(tmp_path / "nope.wav") == "missing"
    with pytest.raises(AudioDecodeError, match="missing"):
        audio_info(tmp_path / "nope.wav")


def test_directory_is_unreadable(tmp_path):
    assert _reason(tmp_path) == "unreadable"


def test_zero_byte_file_is_empty(tmp_path):
    path = tmp_path / "zero.wav"
    path.write_bytes(b"")
    assert _reason(path) == "empty"


def test_header_without_samples_is_empty(write_audio):
    path = write_audio("nothing.wav", data=np.zeros((0, 1), np.float32))
    assert _reason(path) == "empty"
    with pytest.raises(AudioDecodeError, match="empty"):
        audio_info(path)


def test_garbage_bytes_with_audio_extension_are_corrupt(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    assert _reason(path) == "corrupt"


def test_text_renamed_to_unknown_extension_is_unsupported(tmp_path):
    path = tmp_path / "notes.xyz"
    path.write_text("not audio at all\n" * 50)
    assert _reason(path) == "unsupported-format"


def test_m4a_container_is_unsupported_whatever_its_name(tmp_path):
    box = b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A isommp42" + bytes(512)
    for name in ("song.m4a", "song.wav"):
        (tmp_path / name).write_bytes(box)
        assert _reason(tmp_path / name) == "unsupported-format"


@pytest.mark.parametrize(("name", "fmt", "subtype", "sr"), FORMATS)
def test_cut_files_are_truncated(write_audio, name, fmt, subtype, sr):
    path = _cut(write_audio(name, seconds=3.0, sr=sr, channels=2, format=fmt, subtype=subtype))
    assert _reason(path) == "truncated"


def test_truncated_wav_is_caught_by_the_header_check(write_audio):
    path = _cut(write_audio("cut.wav", seconds=2.0), 0.7)
    with pytest.raises(AudioDecodeError, match="truncated"):
        audio_info(path)


def test_nan_and_inf_samples_are_non_finite(write_audio):
    data = np.zeros((16000, 1), np.float32)
    data[100] = np.inf
    assert _reason(write_audio("inf.wav", data=data, subtype="FLOAT")) == "non-finite"
    assert _reason(write_audio("nan.wav", data=np.full((800, 2), np.nan, np.float32), subtype="FLOAT")) == (
        "non-finite"
    )


def test_silence_is_valid_audio(write_audio):
    seg = load_audio(write_audio("quiet.flac", data=np.zeros((8000, 2), np.float32), sr=8000))
    assert seg.waveform.shape == (16000,)
    assert not seg.waveform.any()


def test_error_is_picklable_and_readable(tmp_path):
    import pickle

    with pytest.raises(AudioDecodeError) as info:
        load_audio(tmp_path / "gone.flac")
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.path, again.reason) == (str(tmp_path / "gone.flac"), "missing")
    assert "gone.flac" in str(again)


def test_audio_info_does_not_decode(write_audio, monkeypatch):
    path = write_audio("long.wav", seconds=2.0)

    def boom(*args, **kwargs):
        raise AssertionError("audio_info decoded samples")

    monkeypatch.setattr(sf.SoundFile, "read", boom)
    assert audio_info(path).frames == 32000


def _strip_first_mp3_frame(path: Path) -> Path:
    """Drop the first frame, which carries the Xing/Info length header libsndfile writes (144*br/sr bytes)."""
    data = path.read_bytes()
    assert data[:2] == b"\xff\xfb" and (b"Xing" in data[:64] or b"Info" in data[:64])  # MPEG-1 L3
    bitrate = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)[data[2] >> 4] * 1000
    rate = (44100, 48000, 32000)[(data[2] >> 2) & 3]
    path.write_bytes(data[144 * bitrate // rate + ((data[2] >> 1) & 1) :])
    return path


def test_vbr_mp3_without_length_header_is_refused_not_cut_short(write_audio):
    path = _strip_first_mp3_frame(write_audio("vbr.mp3", seconds=5.0, sr=44100, format="MP3"))
    with pytest.raises(AudioDecodeError, match="unsupported-format") as info:
        audio_info(path)
    assert "Xing" in info.value.detail


def test_cbr_mp3_without_length_header_loads_whole(tmp_path):
    path = tmp_path / "cbr.mp3"
    with sf.SoundFile(
        path, "w", 44100, 1, format="MP3", bitrate_mode="CONSTANT", compression_level=0.5
    ) as out:
        out.write(np.sin(np.arange(44100 * 5) / 20.0).astype(np.float32) * 0.3)
    seg = load_audio(_strip_first_mp3_frame(path))
    assert seg.duration_s == pytest.approx(5.0, abs=0.1)
    assert np.abs(seg.waveform[-8000:]).max() > 0.1  # the end of the file really decoded
