"""Cheap byte-level checks that libsndfile does not make for us.

libsndfile answers "Format not recognised" both for a damaged WAV and for an M4A it has no decoder for, and
it silently accepts two kinds of truncated file (a WAV whose data chunk is cut short is clamped to what is
there; an Ogg stream cut before its last page just looks shorter). These helpers look at a few bytes of the
file to tell those cases apart. None of them decodes audio.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["looks_supported", "looks_unsupported", "ogg_is_cut", "wav_log_says_cut"]

# Extensions of formats libsndfile (>= 1.1) decodes; a file with one of these that fails to parse is damaged.
_SUPPORTED_EXT = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".snd",
     ".caf", ".w64", ".rf64"}
)  # fmt: skip

# Magic numbers of containers libsndfile decodes.
_SUPPORTED_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"ID3", b"FORM", b".snd", b"caff", b"riff")

# Extensions of common audio formats libsndfile has no decoder for.
_UNSUPPORTED_EXT = frozenset({".m4a", ".mp4", ".aac", ".wma", ".amr", ".ac3", ".webm", ".mka", ".ape", ".wv"})

_OGG_PAGE_MAX = 65_307  # 27-byte header + 255 lacing values + 255 * 255 payload bytes
_OGG_EOS_FLAG = 0x04

# libsndfile logs "data : <declared> (should be <available>)" when a WAV data chunk overruns the file.
_WAV_DATA_CUT = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
# Streaming writers (pipes) leave these placeholders because the length is unknown; not a truncation.
_WAV_UNKNOWN_LENGTHS = frozenset({0, 0xFFFFFFFF})


def _head(path: Path, n: int = 16) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def _is_mpeg_audio_sync(head: bytes) -> bool:
    # 11-bit frame sync; a layer field of 00 is reserved for MPEG audio but used by AAC ADTS.
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0


def looks_unsupported(path: Path) -> bool:
    """True when the file is recognisably a format libsndfile cannot decode (MP4/M4A, WMA, AAC...)."""
    head = _head(path)
    if head[4:8] == b"ftyp":  # ISO base media (mp4, m4a, 3gp)
        return True
    if head.startswith(b"\x30\x26\xb2\x75"):  # ASF (wma)
        return True
    if head.startswith((b"#!AMR", b"\x1a\x45\xdf\xa3", b"MAC ", b"wvpk")):  # AMR, Matroska/WebM, APE, WavPack
        return True
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:  # ADTS AAC
        return True
    return path.suffix.lower() in _UNSUPPORTED_EXT


def looks_supported(path: Path) -> bool:
    """True when the name or the first bytes claim a format libsndfile decodes (so a failure means damage)."""
    head = _head(path)
    return (
        path.suffix.lower() in _SUPPORTED_EXT
        or head.startswith(_SUPPORTED_MAGIC)
        or _is_mpeg_audio_sync(head)
    )


def ogg_is_cut(path: Path) -> bool:
    """True when an Ogg file does not end with an end-of-stream page (it was cut short).

    Every complete Ogg logical stream ends with a page flagged EOS, and a page is at most 65,307 bytes, so
    the last page header lies within that distance of the end of the file.
    """
    with path.open("rb") as fh:
        if fh.read(4) != b"OggS":
            return False
        size = fh.seek(0, 2)
        fh.seek(max(0, size - _OGG_PAGE_MAX - 4))
        tail = fh.read()
    pos = tail.rfind(b"OggS")
    # The capture pattern may also occur by chance inside a page; walk back until a header parses.
    while pos >= 0:
        if len(tail) >= pos + 27 and tail[pos + 4] == 0:  # stream structure version is always 0
            n_segments = tail[pos + 26]
            lacing = tail[pos + 27 : pos + 27 + n_segments]
            if len(lacing) == n_segments and pos + 27 + n_segments + sum(lacing) == len(tail):
                return not tail[pos + 5] & _OGG_EOS_FLAG
        pos = tail.rfind(b"OggS", 0, pos)
    return True  # no complete page ends the file: its last page was cut


def wav_log_says_cut(log: str) -> bool:
    """True when libsndfile's log for a WAV reports a data chunk longer than the bytes in the file."""
    for declared, available in _WAV_DATA_CUT.findall(log):
        if int(declared) not in _WAV_UNKNOWN_LENGTHS and int(declared) > int(available):
            return True
    return False
