"""Cheap byte-level checks that libsndfile does not make for us.

libsndfile answers "Format not recognised" both for a damaged WAV and for an M4A it has no decoder for, and
it silently accepts two kinds of truncated file (a WAV whose data chunk is cut short is clamped to what is
there; an Ogg stream cut before its last page just looks shorter). These helpers look at a few bytes of the
file to tell those cases apart. None of them decodes audio.
"""

from __future__ import annotations

import os
import re

from .uri import open_binary, suffix

Source = str | os.PathLike[str]

__all__ = [
    "looks_supported",
    "looks_unsupported",
    "mp3_length_is_estimated",
    "ogg_is_cut",
    "wav_log_says_cut",
]

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


def _head(path: Source, n: int = 16) -> bytes:
    with open_binary(path) as fh:
        return fh.read(n)


def _is_mpeg_audio_sync(head: bytes) -> bool:
    # 11-bit frame sync; a layer field of 00 is reserved for MPEG audio but used by AAC ADTS.
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0


def looks_unsupported(path: Source) -> bool:
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
    return suffix(path) in _UNSUPPORTED_EXT


def looks_supported(path: Source) -> bool:
    """True when the name or the first bytes claim a format libsndfile decodes (so a failure means damage)."""
    head = _head(path)
    return suffix(path) in _SUPPORTED_EXT or head.startswith(_SUPPORTED_MAGIC) or _is_mpeg_audio_sync(head)


def ogg_is_cut(path: Source) -> bool:
    """True when an Ogg file does not end with an end-of-stream page (it was cut short).

    Every complete Ogg logical stream ends with a page flagged EOS, and a page is at most 65,307 bytes, so
    the last page header lies within that distance of the end of the file.
    """
    with open_binary(path) as fh:
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


# MPEG audio bitrates in kbit/s by (MPEG-1?, layer) and sample rates by version; index 0 is "free format".
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_BITRATES[(False, 3)] = _BITRATES[(False, 2)]
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits
_MP3_FRAMES_TO_CHECK = 64


def _mpeg_frame(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(bitrate index, frame length in bytes) of the MPEG audio frame header at ``pos``, or None."""
    if pos + 4 > len(buf) or buf[pos] != 0xFF or (buf[pos + 1] & 0xE0) != 0xE0:
        return None
    version, layer_bits = (buf[pos + 1] >> 3) & 3, (buf[pos + 1] >> 1) & 3
    br_idx, sr_idx, pad = buf[pos + 2] >> 4, (buf[pos + 2] >> 2) & 3, (buf[pos + 2] >> 1) & 1
    if version == 1 or layer_bits == 0 or br_idx in (0, 15) or sr_idx == 3:
        return None
    layer, mpeg1 = 4 - layer_bits, version == 3
    bitrate, rate = _BITRATES[(mpeg1, layer)][br_idx] * 1000, _RATES[version][sr_idx]
    if layer == 1:
        return br_idx, (12 * bitrate // rate + pad) * 4
    return br_idx, (144 if mpeg1 or layer == 2 else 72) * bitrate // rate + pad


def mp3_length_is_estimated(path: Source) -> bool:
    """True for a variable-bitrate MP3 without a Xing/Info/VBRI header.

    libsndfile then guesses the length from the first frame's bitrate and stops decoding at that guess, so
    audio past it would be lost without any error. A constant-bitrate file or one with a length header is
    fine. Looks at the first few dozen frame headers only.
    """
    with open_binary(path) as fh:
        buf = fh.read(256 * 1024)
    pos = 0
    if buf.startswith(b"ID3") and len(buf) >= 10:  # skip an ID3v2 tag (syncsafe 28-bit size)
        pos = 10 + ((buf[6] & 0x7F) << 21 | (buf[7] & 0x7F) << 14 | (buf[8] & 0x7F) << 7 | (buf[9] & 0x7F))
    first = _mpeg_frame(buf, pos)
    if first is None:
        return False  # not a plain MPEG stream we can walk; trust libsndfile
    if any(tag in buf[pos : pos + first[1]] for tag in (b"Xing", b"Info", b"VBRI")):
        return False
    rates = set()
    for _ in range(_MP3_FRAMES_TO_CHECK):
        frame = _mpeg_frame(buf, pos)
        if frame is None:
            break
        rates.add(frame[0])
        pos += frame[1]
    return len(rates) > 1
