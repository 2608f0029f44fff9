"""A 1-hour recording ingests with about the memory of a 1-minute one (streamed windows, bounded queues)."""

from __future__ import annotations

import numpy as np
import soundfile as sf


def _write_streaming(path, seconds: int, sr: int = 8000) -> None:
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as fh:
        for _ in range(seconds // 60):  # one minute at a time: the generator itself stays small
            fh.write((rng.normal(scale=0.1, size=60 * sr)).astype(np.float32))


def test_one_hour_peak_memory_is_close_to_one_minute(h, tmp_path, tiny_thinker):
    peaks = {}
    for name, seconds in (("minute", 60), ("hour", 3600)):
        folder = tmp_path / name
        folder.mkdir()
        _write_streaming(folder / f"{name}.wav", seconds)
        args = ["ingest", str(folder), "--collection", "m", "--qdrant-path", str(tmp_path / f"db_{name}")]
        args += ["--model", str(tiny_thinker), "--window", "10", "--batch-size", "2", "--workers", "1"]
        proc = h.run_cli([*args, "--json", "--no-progress"], timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        summary = h.summary_json(proc)
        assert summary["segments_embedded"] == seconds // 10
        peaks[name] = (summary["peak_rss_mb"], summary["workers_peak_rss_mb"])
    # the whole hour decoded at 16 kHz float32 would be 230 MB; streaming keeps both sides flat
    assert peaks["hour"][0] - peaks["minute"][0] < 60, peaks
    assert peaks["hour"][1] - peaks["minute"][1] < 40, peaks
