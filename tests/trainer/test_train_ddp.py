"""The real training entry point under `accelerate launch` with two processes (CPU ranks over gloo).

DDP with gathered negatives must be the same optimisation as one process on the same global batch: the
two-rank run (4 pairs per rank) is compared with a one-process run of 8 pairs per batch, step losses and
weight updates, and with a one-process run of 4 pairs (a different global batch) to show the comparison
would notice if the ranks trained apart.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

from trainer.config import TrainConfig
from trainer.train import train

TINY = {"hidden_size": 32, "intermediate_size": 64, "audio_d_model": 32, "audio_ffn_dim": 64}
STEPS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(data: dict[str, Path], out: Path, batch: int) -> TrainConfig:
    return TrainConfig.build(
        manifest=str(data["train"]), output=str(out), init_tiny=True, full=True, tiny_config=dict(TINY),
        tag_vocab=str(data["vocab"]), batch_size=batch, max_steps=STEPS, log_every=1, save_every=0,
        device="cpu",
    )  # fmt: skip


def _update(run: Path, start: dict[str, np.ndarray]) -> np.ndarray:
    final = load_file(str(run / "final" / "model.safetensors"))
    assert final.keys() == start.keys()
    return np.concatenate([(final[k] - start[k]).ravel() for k in sorted(start)])


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_two_process_launch_equals_one_process_on_the_global_batch(
    synth_small: dict[str, Path], tmp_path: Path
) -> None:
    ddp = tmp_path / "ddp"
    args = [
        "--manifest", str(synth_small["train"]), "--output", str(ddp), "--init-tiny", "--full",
        "--tag-vocab", str(synth_small["vocab"]), "--batch-size", "4", "--max-steps", str(STEPS),
        "--log-every", "1", "--save-every", "0",
        "--tiny-config", ",".join(f"{k}={v}" for k, v in TINY.items()),
    ]  # fmt: skip
    launch = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(_free_port()), "-m", "trainer.train", *args,
    ]  # fmt: skip
    # No --device: with no GPU visible the launcher's ranks must become CPU/gloo ranks on their own.
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(launch, capture_output=True, text=True, env=env, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "4 pairs/device x 2 device(s) = 8 pairs per contrastive batch" in log, log[-4000:]
    ddp_losses = [float(x) for x in re.findall(r"step \d+/\d+ epoch \d+ loss ([0-9.]+)", log)]
    assert len(ddp_losses) == STEPS, log[-4000:]  # rank 0 logs; the other rank does not repeat it

    # One process, same global batch, same tiny initial weights (the launcher's run saved them in init/).
    start = load_file(str(ddp / "init" / "model.safetensors"))
    losses: dict[int, list[float]] = {4: [], 8: []}

    def record(batch: int) -> Any:
        return lambda info: losses[batch].append(float(info["loss"])) if "loss" in info else None

    for batch in (8, 4):
        train(_config(synth_small, tmp_path / f"one_{batch}", batch), progress=record(batch))
        init = load_file(str(tmp_path / f"one_{batch}" / "init" / "model.safetensors"))
        assert all(np.array_equal(init[k], start[k]) for k in start)  # the seeded tiny init is identical

    np.testing.assert_allclose(ddp_losses, losses[8], rtol=0, atol=1e-4)
    same, other = _update(ddp, start), _update(tmp_path / "one_8", start)
    assert np.abs(same).max() > 1e-3  # the run trained
    assert _cosine(same, other) > 0.99999
    # Adam's first steps are ~lr * sign(g): entries whose gradient is ~0 may flip on rounding; all else agrees
    assert np.mean(np.abs(same - other) > 1e-5) < 0.01
    # ranks training apart would look like a one-process run on a 4-pair batch: clearly different
    apart = _update(tmp_path / "one_4", start)
    assert _cosine(same, apart) < 0.999
    assert abs(ddp_losses[0] - losses[4][0]) > 1e-3
