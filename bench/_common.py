"""Helpers shared by the benchmarks under bench/: thread pinning, peak RSS, alternating timing, stage timers,
self-subprocess runs and Markdown tables.

Rules they implement (see BENCHMARKS.md): a fixed thread count with passive OpenMP waiting, the compared
paths alternated over several rounds (ratios quoted as medians of per-round ratios), and peak memory
measured per path in a process of its own. Import this module before torch and call `pin_threads` first:
OpenMP reads its environment when torch is first imported.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "StageTimer",
    "alternate",
    "machine_info",
    "markdown_table",
    "median",
    "peak_rss_mb",
    "pin_threads",
    "reset_peak_rss",
    "run_self",
]


def pin_threads(n: int) -> None:
    """Fix the intra-op thread count (env for OpenMP/MKL before torch loads, then torch itself)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # spinning workers would steal the other path's cores
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(n)
    with contextlib.suppress(RuntimeError):  # already set, or parallel work already ran: keep going
        torch.set_num_interop_threads(1)


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (``VmHWM``, falling back to ``ru_maxrss``).

    Not `ingest.decode.peak_rss_mb`: run as ``python bench/x.py``, ``import ingest`` finds bench/ingest.py."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def reset_peak_rss() -> bool:
    """Reset the peak-RSS mark to the current RSS (Linux ``clear_refs`` 5); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def alternate(paths: dict[str, Callable[[], Any]], rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Wall seconds of each path per round, the order flipped every round (ABAB… → AB, BA, AB …) so a
    slow spell on a shared machine hits both paths alike. ``warmup`` untimed calls of each path first."""
    names = list(paths)
    for _ in range(warmup):
        for name in names:
            paths[name]()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            t0 = time.perf_counter()
            paths[name]()
            times[name].append(time.perf_counter() - t0)
    return times


class StageTimer:
    """Accumulates wall time per named stage inside real end-to-end calls, via forward hooks on modules and
    wrappers around callables, so stage times come from the very runs being compared (no extra runs).

    ``sync`` (e.g. ``torch.cuda.synchronize``) runs before every clock read, so asynchronous device work is
    charged to the stage that queued it; it costs a little overlap, which is why it is off on CPU."""

    def __init__(self, sync: Callable[[], Any] | None = None) -> None:
        self.totals: dict[str, float] = {}
        self._start: dict[str, float] = {}
        self._sync = sync or (lambda: None)

    def _now(self) -> float:
        self._sync()
        return time.perf_counter()

    def reset(self) -> None:
        self.totals = {}

    def snapshot(self) -> dict[str, float]:
        return dict(self.totals)

    def _add(self, name: str, seconds: float) -> None:
        self.totals[name] = self.totals.get(name, 0.0) + seconds

    def hook_module(self, module: Any, name: str) -> None:
        """Time every forward of a torch module (pre-hook starts, post-hook stops)."""

        def pre(*_: Any) -> None:
            self._start[name] = self._now()

        def post(*_: Any) -> None:
            self._add(name, self._now() - self._start.pop(name))

        module.register_forward_pre_hook(pre)
        module.register_forward_hook(post)

    def wrap_attr(self, obj: Any, attr: str, name: str) -> None:
        """Replace ``obj.attr`` (a bound method, looked up on the instance) by a timed wrapper."""
        fn = getattr(obj, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = self._now()
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(name, self._now() - t0)

        setattr(obj, attr, timed)

    def proxy(self, target: Any, name: str) -> Any:
        """A stand-in for a callable object (e.g. a feature extractor) that times its calls and forwards
        every attribute; ``obj(...)`` resolves ``__call__`` on the type, so a wrapper object is needed."""
        timer = self

        class _Timed:
            def __call__(self, *args: Any, **kwargs: Any) -> Any:
                t0 = timer._now()
                try:
                    return target(*args, **kwargs)
                finally:
                    timer._add(name, timer._now() - t0)

            def __getattr__(self, item: str) -> Any:
                return getattr(target, item)

        return _Timed()


def run_self(script: str, args: Sequence[str], timeout: float = 1800) -> dict[str, Any]:
    """Run ``python script *args`` in a fresh process and return the JSON object on its last stdout line."""
    proc = subprocess.run(
        [sys.executable, script, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine_info(threads: int) -> dict[str, Any]:
    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": threads,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; floats printed with 2 decimals (3 significant digits below 1)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
