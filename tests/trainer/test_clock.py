"""`StepClock`: the ETA of a training loop from the steps run so far in this process."""

from __future__ import annotations

from trainer.clock import StepClock


def test_eta_extrapolates_the_steps_run_here_and_ignores_resumed_ones() -> None:
    t = [100.0]
    clock = StepClock(20, 120, now=lambda: t[0])  # resumed at step 20 of 120
    assert clock.fields(20) == {"elapsed_s": 0.0, "eta_s": 0.0}  # nothing run yet: no estimate
    t[0] = 130.0  # 10 steps in 30 s
    assert clock.fields(30) == {"elapsed_s": 30.0, "eta_s": 270.0}
    t[0] = 400.0
    assert clock.fields(120)["eta_s"] == 0.0
