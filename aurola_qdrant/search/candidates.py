"""Reading candidate audio for re-ranking from the payload's ``source`` and segment bounds."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ..audio import AudioSegment, load_audio
from ..errors import AurolaError
from .hits import SearchHit

__all__ = ["load_candidate", "load_candidates"]

logger = logging.getLogger(__name__)


def load_candidate(hit: SearchHit) -> AudioSegment | str:
    """The decoded segment ``[start_s, end_s)`` of ``hit.source``, or the reason it cannot be read.

    Never raises for unreadable audio (missing, corrupt, truncated file, a range past its end, a payload
    without source or bounds): the reason string flags the hit instead.
    """
    if hit.source is None:
        return "payload has no 'source' to read the audio from"
    start = hit.start_s if hit.start_s is not None else 0.0
    try:
        return load_audio(hit.source, start_s=start, end_s=hit.end_s)
    except (AurolaError, OSError) as err:  # AudioDecodeError / InputError (bad range) / plain I/O errors
        return f"{type(err).__name__}: {err}"


def load_candidates(hits: Sequence[SearchHit], workers: int = 4) -> list[AudioSegment | str]:
    """`load_candidate` for each hit, in input order; decoding runs on up to ``workers`` threads
    (soundfile and soxr release the GIL, and candidates are often on network storage)."""
    if workers <= 1 or len(hits) <= 1:
        loaded = [load_candidate(h) for h in hits]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(hits))) as pool:
            loaded = list(pool.map(load_candidate, hits))
    failed = sum(isinstance(x, str) for x in loaded)
    if failed:
        logger.warning("%d of %d candidate(s) could not be read for re-ranking", failed, len(hits))
    return loaded
