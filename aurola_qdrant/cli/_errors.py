"""One-line errors for every command: what went wrong and what to do, never a traceback unless ``-v``.

`LazyGroup.invoke` (the command group) sends every exception a command lets out through `describe`;
`ingest` uses the same words for its summary line. Secrets registered by `remember_secret` (the API key
option's callback) are masked in every message.
"""

from __future__ import annotations

import traceback
from typing import Any, NoReturn

import click

__all__ = [
    "CommandError",
    "describe",
    "fail",
    "one_line",
    "remember_secret",
    "report",
    "scrub_message",
    "secrets",
    "set_verbosity",
    "verbosity",
]

_META_SECRETS = "aurola.secrets"
_META_VERBOSE = "aurola.verbose"


class CommandError(click.ClickException):
    """A command's failure, printed as ``error: <message>`` (exit status ``exit_code``, default 1)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def remember_secret(ctx: click.Context, _param: Any, value: str | None) -> str | None:
    """Click callback for secret options: the value is masked in every error message."""
    if value:
        ctx.meta.setdefault(_META_SECRETS, set()).add(value)
    return value


def secrets(ctx: click.Context | None = None) -> set[str]:
    ctx = ctx if ctx is not None else click.get_current_context(silent=True)
    return set(ctx.meta.get(_META_SECRETS, ())) if ctx is not None else set()


def verbosity(ctx: click.Context | None = None) -> int:
    ctx = ctx if ctx is not None else click.get_current_context(silent=True)
    return int(ctx.meta.get(_META_VERBOSE, 0)) if ctx is not None else 0


def set_verbosity(ctx: click.Context, level: int) -> None:
    ctx.meta[_META_VERBOSE] = level


def _http_status(exc: BaseException) -> int | None:
    from qdrant_client.http.exceptions import UnexpectedResponse

    return exc.status_code if isinstance(exc, UnexpectedResponse) else None


def describe(exc: BaseException) -> str:
    """The one line printed for ``exc`` (secrets not yet masked; `scrub` does that)."""
    from ..errors import AurolaError
    from ..store._net import is_disk_full

    if isinstance(exc, AurolaError):
        return str(exc).strip() or type(exc).__name__
    for cause in (exc, exc.__cause__):
        if cause is not None and is_disk_full(cause):
            return (
                f"no space left on the device ({cause}); the data written so far is intact: free some "
                "space and rerun the same command"
            )
    status = _http_status(exc)
    if status in (401, 403):
        return (
            f"Qdrant refused the request (HTTP {status}): the API key is missing or wrong "
            "(--api-key or QDRANT_API_KEY)"
        )
    if status is not None:
        return f"Qdrant answered HTTP {status}: {getattr(exc, 'content', b'')!r:.300}"
    if isinstance(exc, ValueError | OSError):
        return str(exc).strip() or type(exc).__name__
    return (
        f"unexpected {type(exc).__name__}: {str(exc).strip()[:300] or '(no message)'} "
        "(a bug: rerun with -v for the traceback and report it)"
    )


def scrub_message(text: str, ctx: click.Context | None = None) -> str:
    from ..redact import redact

    return redact(text, secrets(ctx))


def report(exc: BaseException, ctx: click.Context | None = None) -> str:
    """The scrubbed one-line message of ``exc``, its traceback printed first when ``-v`` was given."""
    if verbosity(ctx) > 0:
        click.echo(scrub_message("".join(traceback.format_exception(exc)), ctx), err=True)
    return scrub_message(one_line(exc), ctx)


def fail(exc: BaseException, ctx: click.Context | None = None, *, exit_code: int = 1) -> NoReturn:
    """Raise ``exc`` as a `CommandError` (`report`: one line, traceback with ``-v``)."""
    raise CommandError(report(exc, ctx), exit_code) from exc


def one_line(exc: BaseException) -> str:
    """`describe` folded onto one line."""
    return " ".join(describe(exc).splitlines())
