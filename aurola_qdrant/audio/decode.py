"""Opening audio files with libsndfile (via soundfile) and turning every failure into a typed error.

Formats are whatever the installed libsndfile decodes: WAV/RF64/W64, FLAC, OGG Vorbis and Opus, MP3
(libsndfile >= 1.1), AIFF, AU, CAF and the rest of ``soundfile.available_formats()``. M4A/AAC, WMA and
friends are reported as ``unsupported-format``; convert them first (e.g. ``ffmpeg -i in.m4a out.flac``).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import soundfile as sf

from ..errors import AudioDecodeError
from .chatter import decoder_chatter, describe_chatter
from .sniff import looks_supported, looks_unsupported, mp3_length_is_estimated, ogg_is_cut, wav_log_says_cut
from .uri import display, is_uri, open_binary

__all__ = ["AudioInfo", "audio_info", "check_decoded_length", "ensure_finite", "open_audio", "read_frames"]

logger = logging.getLogger(__name__)

# libsndfile error codes (sndfile.h).
_SF_ERR_UNRECOGNISED_FORMAT = 1
_SF_ERR_SYSTEM = 2
_SF_ERR_UNSUPPORTED_ENCODING = 4

# Without a Xing/Info header, libsndfile estimates an MP3's length from its size and bitrate, so a complete
# file may decode a few frames short of the header (trailing tags count as audio bytes). Shortfalls within
# this slack are not truncation; the missing samples are padded with zeros, as librosa's fix_length does.
_MP3_SLACK_FRAMES = 10 * 1152
_MP3_SLACK_FRACTION = 0.005


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, read without decoding the audio.

    Attributes:
        path: the file, as given.
        sample_rate: native sample rate in Hz.
        channels: number of channels.
        frames: samples per channel according to the header.
        duration_s: ``frames / sample_rate``, in seconds.
        format: libsndfile's major format name, e.g. ``"WAV"``, ``"FLAC"``, ``"OGG"``, ``"MP3"``.
        subtype: libsndfile's subtype name, e.g. ``"PCM_16"``, ``"FLOAT"``, ``"VORBIS"``, ``"OPUS"``.
    """

    path: str
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    format: str
    subtype: str


def _open_checked_uri(uri: str, stack: ExitStack) -> IO[bytes]:
    """`open_binary` of ``uri`` on ``stack`` (one metadata request), its failures and a zero-byte object
    as `AudioDecodeError`s."""
    shown = display(uri)
    try:
        fh = stack.enter_context(open_binary(uri))
    except FileNotFoundError as exc:
        raise AudioDecodeError(shown, "missing", str(exc)) from exc
    except IsADirectoryError as exc:
        raise AudioDecodeError(shown, "unreadable", "is a directory") from exc
    except Exception as exc:  # OSError, a missing backend, or a storage client's own error after retries
        raise AudioDecodeError(shown, "unreadable", f"{type(exc).__name__}: {exc}") from exc
    if fh.seek(0, io.SEEK_END) == 0:
        raise AudioDecodeError(shown, "empty", "zero-byte object")
    fh.seek(0)
    return fh


def _precheck(path: Path) -> None:
    if not path.exists():
        raise AudioDecodeError(path, "missing", "no such file")
    if path.is_dir():
        raise AudioDecodeError(path, "unreadable", "is a directory")
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise AudioDecodeError(path, "unreadable", str(exc)) from exc
    if path.stat().st_size == 0:
        raise AudioDecodeError(path, "empty", "zero-byte file")


def _open_error(path: Path | str, exc: Exception, said: list[str]) -> AudioDecodeError:
    code = getattr(exc, "code", None)
    detail = str(exc) + describe_chatter(said)
    if ogg_is_cut(path):
        return AudioDecodeError(path, "truncated", f"Ogg stream has no end-of-stream page; {detail}")
    if code == _SF_ERR_SYSTEM:
        return AudioDecodeError(path, "unreadable", detail)
    if code == _SF_ERR_UNSUPPORTED_ENCODING:
        return AudioDecodeError(path, "unsupported-format", detail)
    if code == _SF_ERR_UNRECOGNISED_FORMAT and (looks_unsupported(path) or not looks_supported(path)):
        return AudioDecodeError(path, "unsupported-format", f"{detail}; convert it to FLAC or WAV first")
    return AudioDecodeError(path, "corrupt", detail)


@contextmanager
def open_audio(path: str | os.PathLike[str]) -> Iterator[tuple[sf.SoundFile, AudioInfo]]:
    """Open ``path`` for reading and yield the soundfile handle with its checked header.

    Raises:
        AudioDecodeError: ``missing``, ``unreadable``, ``empty``, ``corrupt``, ``unsupported-format`` or
            ``truncated`` (a WAV data chunk or an Ogg stream that ends before its header says it does).
            A variable-bitrate MP3 without a length header is ``unsupported-format``: libsndfile would
            decode only up to a guessed length.
    """
    if is_uri(path):
        with _open_uri(os.fspath(path)) as opened:
            yield opened
        return
    p = Path(path)
    _precheck(p)
    failure: Exception | None = None
    with decoder_chatter(str(p)) as said:  # mpg123 complains about odd tags on fd 2 while opening
        try:
            handle = sf.SoundFile(str(p))
        except (RuntimeError, TypeError) as exc:  # LibsndfileError is a RuntimeError
            failure = exc
    if failure is not None:
        raise _open_error(p, failure, said) from failure
    with _checked(handle, p, str(path)) as opened:
        yield opened


@contextmanager
def _open_uri(uri: str) -> Iterator[tuple[sf.SoundFile, AudioInfo]]:
    """`open_audio` of a URI: libsndfile reads through a seekable fsspec range reader (virtual I/O)."""
    failure: Exception | None = None
    with ExitStack() as stack:
        fh = _open_checked_uri(uri, stack)
        try:
            with decoder_chatter(display(uri)) as said:
                try:
                    handle = sf.SoundFile(fh)
                except (RuntimeError, TypeError) as exc:
                    failure = exc
            if failure is None:
                with _checked(handle, uri, uri) as opened:
                    yield opened
        except OSError as exc:  # the object went away or a read failed past the retries
            raise AudioDecodeError(display(uri), "unreadable", f"{type(exc).__name__}: {exc}") from exc
    if failure is not None:
        err = _open_error(uri, failure, said)
        raise AudioDecodeError(display(uri), err.reason, err.detail) from failure


@contextmanager
def _checked(handle: sf.SoundFile, p: Path | str, shown: str) -> Iterator[tuple[sf.SoundFile, AudioInfo]]:
    name: Path | str = p if isinstance(p, Path) else display(p)  # errors never quote URI credentials
    with handle:
        info = AudioInfo(
            path=shown,
            sample_rate=int(handle.samplerate),
            channels=int(handle.channels),
            frames=int(handle.frames),
            duration_s=handle.frames / handle.samplerate if handle.samplerate > 0 else 0.0,
            format=str(handle.format),
            subtype=str(handle.subtype),
        )
        if info.sample_rate <= 0 or info.channels <= 0:
            raise AudioDecodeError(name, "corrupt", f"header gives {info.sample_rate} Hz, {info.channels} ch")
        if info.format == "OGG" and ogg_is_cut(p):
            raise AudioDecodeError(name, "truncated", "Ogg stream has no end-of-stream page")
        if info.format in ("WAV", "WAVEX") and wav_log_says_cut(handle.extra_info):
            raise AudioDecodeError(name, "truncated", "data chunk is longer than the file")
        if info.format == "MP3" and mp3_length_is_estimated(p):
            raise AudioDecodeError(
                name,
                "unsupported-format",
                "variable-bitrate MP3 without a Xing/VBRI length header: libsndfile would stop at a guessed "
                "length and drop audio; convert it first (e.g. ffmpeg -i in.mp3 out.flac)",
            )
        if info.frames <= 0:
            raise AudioDecodeError(name, "empty", "the file holds no samples")
        yield handle, info


def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Read the header of ``path`` (no audio is decoded). Raises AudioDecodeError like `open_audio`."""
    with open_audio(path) as (_, info):
        return info


def read_frames(
    handle: sf.SoundFile, n: int, path: str | os.PathLike[str], *, start: int | None = None
) -> np.ndarray:
    """Read up to ``n`` frames (from frame ``start`` if given) as float32, shape (frames, channels).

    Raises:
        AudioDecodeError: ``truncated`` when the decoder fails mid-stream or cannot seek.
    """
    failure: RuntimeError | None = None
    # Only the MP3 decoder prints while reading; other formats skip the capture's few system calls.
    capture: AbstractContextManager[list[str]] = (
        decoder_chatter(os.fspath(path)) if handle.format == "MP3" else nullcontext([])
    )
    with capture as said:
        try:
            if start is not None:
                handle.seek(start)
            return handle.read(n, dtype="float32", always_2d=True)
        except RuntimeError as exc:  # libsndfile gave up mid-stream (e.g. FLAC "lost sync")
            failure = exc
    raise AudioDecodeError(
        os.fspath(path),
        "truncated",
        f"decoder failed at frame {handle.tell()}: {failure}{describe_chatter(said)}",
    ) from failure


def check_decoded_length(got: int, expected: int, info: AudioInfo) -> None:
    """Raise ``truncated`` when fewer frames decoded than the header promised (MP3 gets a little slack)."""
    if got >= expected:
        return
    if got == 0:
        raise AudioDecodeError(info.path, "truncated", f"header promises {expected} frames, none decode")
    missing = expected - got
    if info.format == "MP3" and missing <= max(_MP3_SLACK_FRAMES, _MP3_SLACK_FRACTION * info.frames):
        logger.debug("%s: MP3 decoded %d frames short of its length estimate; padding", info.path, missing)
        return
    raise AudioDecodeError(info.path, "truncated", f"header promises {expected} frames, decoded {got}")


def ensure_finite(block: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Raise ``non-finite`` when ``block`` holds NaN or infinity."""
    if not np.isfinite(block).all():
        bad = int(np.size(block) - np.count_nonzero(np.isfinite(block)))
        raise AudioDecodeError(os.fspath(path), "non-finite", f"{bad} NaN/Inf samples")
