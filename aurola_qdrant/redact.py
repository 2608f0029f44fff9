"""One scrubber for secrets in messages: the retry policy's errors, the CLI's lines and logs use it."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["redact"]

_PATTERNS = (
    # "api-key: ...", "Authorization=...", "token: ..." as clients and servers quote them
    (re.compile(r"(?i)(api[-_]?key|authorization|token|password)(['\"]?\s*[:=]\s*)\S+"), r"\1\2***"),
    (re.compile(r"(://)[^/@\s]+@"), r"\1***@"),  # credentials embedded in a URL
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every given secret, and anything shaped like a credential, replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
