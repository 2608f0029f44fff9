"""How the trainer's commands print progress: one line per event, from the event's fields."""

from __future__ import annotations

import json

import click

from trainer.events import HEAD_STAGE, AlphaEvent, EvalEvent, Event, NoteEvent, StepEvent

__all__ = ["echo_event", "format_duration", "step_line"]


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``: short enough for a progress line."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def step_line(e: StepEvent) -> str:
    """``[main] step 10/40 epoch 0 loss 1.0000 lr 1.00e-03 5.0 pairs/s elapsed 1m02s, ETA 3m06s``."""
    eta = f" elapsed {format_duration(e.elapsed_s)}, ETA {format_duration(e.eta_s)}"
    if e.stage == HEAD_STAGE:  # the answer-head warm-up (LM head alone) before the re-ranker's main loop
        return f"[{e.stage}] answer-head warm-up step {e.step}/{e.total} loss {e.loss:.4f}" + eta
    acc = f" acc {e.accuracy:.3f}" if e.accuracy is not None else ""
    return (
        f"[{e.stage}] step {e.step}/{e.total} epoch {e.epoch} loss {e.loss:.4f}{acc} lr {e.lr:.2e} "
        f"{e.rate:.1f} {e.unit}/s" + eta
    )


def echo_event(event: Event) -> None:
    """Print ``event`` (a `trainer.events` event) as one line."""
    if isinstance(event, StepEvent):
        click.echo(step_line(event))
    elif isinstance(event, EvalEvent):
        scores = " ".join(f"{k}={v:.3f}" for k, v in event.scores.items())
        click.echo(f"validation step {event.step}: {scores}")
    elif isinstance(event, NoteEvent):
        click.echo(event.text)
    elif isinstance(event, AlphaEvent):
        click.echo("alpha tuned on validation: " + json.dumps(dict(event.alpha), sort_keys=True))
