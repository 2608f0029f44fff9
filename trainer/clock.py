"""`StepClock`: elapsed and remaining time of a training loop, for its progress lines."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["StepClock"]


class StepClock:
    """Times a loop of ``total`` optimizer steps that starts (or resumes) at step ``start``.

    The remaining time assumes the steps still to run take as long, on average, as those run so far in
    this process: steps done before a resume are not counted, since their time is not known here.
    """

    def __init__(self, start: int, total: int, *, now: Callable[[], float] = time.perf_counter) -> None:
        self.start, self.total, self._now = start, total, now
        self._t0 = now()

    def fields(self, step: int) -> dict[str, float]:
        """``{"elapsed_s", "eta_s"}`` at ``step`` (seconds; ETA 0 until a step has run, and at the end)."""
        elapsed = self._now() - self._t0
        done = step - self.start
        eta = elapsed / done * max(0, self.total - step) if done > 0 else 0.0
        return {"elapsed_s": elapsed, "eta_s": eta}
