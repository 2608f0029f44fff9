"""Keeping the decoders' own stderr lines (``[src/libmpg123/id3.c:...] warning: ...``) off the terminal.

libsndfile's MP3 decoder, mpg123, prints warnings about odd tags straight to file descriptor 2 from C, so
no Python logging setting can silence them, and an ingest of a few hundred MP3s printed one per file and
worker. Around each call into the decoder, fd 2 goes to a temporary file; afterwards the decoder's lines
are logged at INFO (shown with the CLI's ``-v``) and returned so failures can quote them, while any other
line (another thread's log record, say) is written back to stderr. ``AUROLA_DECODER_OUTPUT=show`` turns
the capture off, e.g. for the ingest's decode worker processes, which do not share the CLI's logging.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

__all__ = ["decoder_chatter", "describe_chatter"]

logger = logging.getLogger(__name__)

# fd 2 is one per process: captures must not interleave, or a later restore would reinstate a sink.
_LOCK = threading.RLock()
# mpg123 prefixes every message with its source file, e.g. "[src/libmpg123/id3.c:process_extra():677]".
_DECODER_LINE = re.compile(r"^\[src/\w+/[\w.]+:")


@contextmanager
def decoder_chatter(source: str) -> Iterator[list[str]]:
    """Capture fd 2 for the block; the yielded list holds the decoder's lines once the block is over.

    ``source`` names the file in the INFO log records. Lines that are not the decoder's are passed on to
    stderr after the block, in order; nothing is captured when ``AUROLA_DECODER_OUTPUT=show``.
    """
    said: list[str] = []
    if os.environ.get("AUROLA_DECODER_OUTPUT") == "show":
        yield said
        return
    with _LOCK, tempfile.TemporaryFile() as sink:
        _flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield said
        finally:
            _flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            other: list[str] = []
            for line in sink.read().decode("utf-8", "replace").splitlines(keepends=True):
                (said if _DECODER_LINE.match(line) else other).append(line)
            if other:
                os.write(2, "".join(other).encode())
            said[:] = [line.strip() for line in said]
            for line in said:
                logger.info("%s: decoder says %s", source, line)


def describe_chatter(said: list[str], limit: int = 300) -> str:
    """``"; decoder said: ..."`` for an error detail (one line, at most ``limit`` chars), '' for none."""
    if not said:
        return ""
    text = " | ".join(dict.fromkeys(said))  # the same warning repeats once per frame: say it once
    return "; decoder said: " + (text if len(text) <= limit else text[: limit - 1] + "…")


def _flush() -> None:
    with suppress(OSError, ValueError, AttributeError):  # a closed or missing stderr has nothing to flush
        sys.stderr.flush()
