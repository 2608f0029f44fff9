"""Moved: the `train-reranker` command lives in `trainer.cli.rerank`. Only `_echo_progress` is left, for the
quickstart's progress lines until it imports `trainer.cli.progress.echo_event` itself; then delete this."""

from __future__ import annotations

from typing import Any


def _echo_progress(event: Any) -> None:
    from trainer.cli.progress import echo_event

    echo_event(event)
