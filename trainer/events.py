"""Typed progress events: what a training run tells its caller (the CLI prints them from their fields).

A run calls ``progress(event)`` on the main process only, with one of:

    StepEvent    every ``log_every`` optimizer steps: loss, lr, throughput, elapsed time and ETA
    EvalEvent    validation recall of the embedder at a step (fractions in [0, 1])
    NoteEvent    a line of text worth showing (e.g. what α tuning is about to do)
    AlphaEvent   the fusion weight per direction chosen on validation data

Every event is printable as one line (`trainer.cli.progress.echo_event`), so a caller that prefixes each
line (the quickstart indents them) never sees an event that prints nothing. Events are frozen
dataclasses; ``event["loss"]`` and ``"loss" in event`` also work, for callers written against the
progress dicts these replace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "HEAD_STAGE",
    "AlphaEvent",
    "EvalEvent",
    "Event",
    "NoteEvent",
    "Progress",
    "StepEvent",
]

HEAD_STAGE = "rerank-head"  # stage name of the re-ranker's answer-head warm-up (LM head alone)


@dataclass(frozen=True)
class Event:
    """Base of every progress event."""

    def __getitem__(self, name: str) -> Any:
        """The field ``name`` (KeyError if there is none): the old progress dicts' access."""
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def __contains__(self, name: object) -> bool:
        """Whether the event has a field ``name`` (``"loss" in event``, as with the old dicts)."""
        return isinstance(name, str) and name in {f.name for f in fields(self)}


@dataclass(frozen=True)
class StepEvent(Event):
    """Progress at optimizer step ``step`` of ``total``.

    ``loss`` is the mean over the steps since the previous event (the head warm-up reports its last step's),
    ``rate`` counts ``unit`` (pairs, prompts) per second over all devices since then, ``accuracy`` is the
    share of Yes/No answers that were right (re-ranker only, else None). Seconds: ``elapsed_s`` since the
    loop started in this process, ``eta_s`` the remaining time at that pace (see `trainer.clock`).
    """

    stage: str
    step: int
    total: int
    epoch: int
    loss: float
    lr: float
    rate: float
    unit: str
    elapsed_s: float
    eta_s: float
    accuracy: float | None = None


@dataclass(frozen=True)
class EvalEvent(Event):
    """Validation at ``step``: ``scores`` maps e.g. ``"t2a_r1"`` to a recall in [0, 1] (rounded to 4)."""

    step: int
    scores: Mapping[str, float]


@dataclass(frozen=True)
class NoteEvent(Event):
    """A line of text for the user."""

    text: str


@dataclass(frozen=True)
class AlphaEvent(Event):
    """The fusion weight chosen per direction (``{"t2a": a, "a2t": b}``) on validation data."""

    alpha: Mapping[str, float]


Progress = Callable[[Event], None]
