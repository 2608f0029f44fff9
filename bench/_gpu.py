"""GPU-side measurements for the benchmarks: peak device memory of a call and sampled GPU utilisation.

`GpuSampler` polls utilisation (percent of time a kernel ran, the driver's own figure) every ~100 ms in a
thread, through pynvml when installed, else ``nvidia-smi``; `GpuSampler.mean(windows)` averages the samples
that fall inside given (start, end) ``time.perf_counter`` windows, so the alternated rounds of two paths are
told apart. Nothing here is imported on a CPU-only run.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["GpuSampler", "cuda_peak"]


def cuda_peak(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``fn`` and return (its result, the peak device memory it allocated above what was already
    allocated, MiB), from ``torch.cuda.max_memory_allocated``."""
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    out = fn()
    torch.cuda.synchronize()
    return out, (torch.cuda.max_memory_allocated() - before) / 2**20


class GpuSampler:
    """Background utilisation samples of GPU 0: ``samples`` is a list of (perf_counter, percent)."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.samples: list[tuple[float, float]] = []
        self.source = "none"
        self._stop = threading.Event()
        self._read = self._reader()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _reader(self) -> Callable[[], float] | None:
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self.source = "pynvml"
            return lambda: float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        except Exception:  # not installed, or no NVML: fall back to the CLI
            pass
        smi = shutil.which("nvidia-smi")
        if smi is None:
            return None
        self.source = "nvidia-smi"
        cmd = [smi, "-i", "0", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        return lambda: float(
            subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()[0]
        )

    def _loop(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            try:
                value = self._read() if self._read else None
            except Exception:  # a failed poll is a missing sample, not a failed benchmark
                value = None
            if value is not None:
                self.samples.append((t, value))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> GpuSampler:
        if self._read is not None:
            self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def mean(self, windows: Sequence[tuple[float, float]]) -> float | None:
        """Mean utilisation (percent) of the samples inside any of ``windows``; None without samples."""
        xs = [v for t, v in self.samples if any(a <= t <= b for a, b in windows)]
        return sum(xs) / len(xs) if xs else None
