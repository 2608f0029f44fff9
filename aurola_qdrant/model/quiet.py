"""Progress bars of transformers and huggingface_hub ("Loading weights", "Fetching files"), off by default.

The library logs through `logging` and leaves progress display to its callers (STYLE.md); the bars are
shown only when the caller asked for INFO logs (the CLI's ``-v``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["hf_progress_bars", "progress_wanted"]


def progress_wanted() -> bool:
    """True when ``aurola_qdrant`` logs at INFO or below, i.e. the user asked to see what loading does."""
    return logging.getLogger("aurola_qdrant").isEnabledFor(logging.INFO)


@contextmanager
def hf_progress_bars(show: bool) -> Iterator[None]:
    """Within the block, show (``show=True``) or hide the transformers and hub progress bars; the previous
    state is restored after. A no-op when the state already is the wanted one."""
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars
    from transformers.utils import logging as hf_logging

    was_on, hub_was_off = hf_logging.is_progress_bar_enabled(), are_progress_bars_disabled()
    if show == was_on:
        yield
        return
    if show:
        hf_logging.enable_progress_bar()
    else:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()
        else:
            hf_logging.disable_progress_bar()
        # transformers switches the hub's bars along with its own; put those back as they were too
        if hub_was_off:
            disable_progress_bars()
        else:
            enable_progress_bars()
