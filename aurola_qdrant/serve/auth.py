"""Bearer-key authentication: ``Authorization: Bearer <key>`` compared in constant time.

The key comes from ``--api-key-file`` (its first line) or the ``AUROLA_API_KEY`` environment variable.
Public without a key: ``/healthz`` (liveness probes carry no credentials) and the page's static files and
API docs, which hold no data; every data endpoint the page calls needs the key, which the page asks for.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from .errors import ApiError

__all__ = ["PUBLIC_PATHS", "check_bearer", "is_public", "read_api_key"]

PUBLIC_PATHS = frozenset({"/healthz", "/", "/favicon.ico", "/docs", "/openapi.json", "/docs/oauth2-redirect"})
PUBLIC_PREFIXES = ("/page/", "/docs/assets/")


def read_api_key(key_file: str | os.PathLike[str] | None = None, env: str = "AUROLA_API_KEY") -> str | None:
    """The service key: the first line of ``key_file`` when given, else ``$AUROLA_API_KEY``, else None.

    Raises ValueError for an unreadable or empty key file (a typo must not silently turn auth off)."""
    if key_file is not None:
        path = Path(key_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise ValueError(f"cannot read the API key file {str(path)!r}: {err.strerror or err}") from None
        key = lines[0].strip() if lines else ""
        if not key:
            raise ValueError(f"the API key file {str(path)!r} is empty; write the key on its first line")
        return key
    value = os.environ.get(env, "").strip()
    return value or None


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def check_bearer(header: str | None, key: str | None) -> None:
    """Raise a 401 `ApiError` unless ``header`` is ``Bearer <key>`` (any key when ``key`` is None)."""
    if key is None:
        return
    scheme, _, given = (header or "").partition(" ")
    ok = hmac.compare_digest(given.strip().encode(), key.encode()) and scheme.lower() == "bearer"
    if not ok:
        raise ApiError(
            401,
            "unauthorized",
            "missing or wrong API key: send 'Authorization: Bearer <key>' (the service's AUROLA_API_KEY)",
            {"WWW-Authenticate": "Bearer"},
        )
