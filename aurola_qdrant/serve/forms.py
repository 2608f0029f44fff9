"""Reading a request body as JSON or as a multipart form into one request model, with its uploads."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from .errors import ApiError, from_exception
from .inputs import save_upload

__all__ = ["Body", "read_body", "run"]

M = TypeVar("M", bound=BaseModel)
_MAX_FILES = 64


class Body:
    """A parsed request: its model and the paths of its uploaded ``audio`` files (deleted by `close`)."""

    def __init__(self, model: Any, uploads: list[Path], names: list[str] | None = None) -> None:
        self.model = model
        self.uploads = uploads
        self.names = names or [p.name for p in uploads]  # the client's file names, for messages

    def close(self) -> None:
        for path in self.uploads:
            path.unlink(missing_ok=True)


def _validation_message(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    if first["type"] == "extra_forbidden":
        return f"unknown field {where!r} in the request"
    return f"{where}: {first['msg']}"


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ApiError(422, "invalid_input", _validation_message(err)) from None


def _is_list(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    return field is not None and any(
        getattr(a, "__origin__", None) is list for a in (field.annotation, *get_args(field.annotation))
    )


def _form_value(model: type[BaseModel], name: str, values: list[str]) -> Any:
    if _is_list(model, name):
        if len(values) == 1 and values[0].lstrip().startswith("["):
            return _json(name, values[0])
        return values
    value = values[-1]
    if name == "filter":
        return _json(name, value) if value.strip() else None
    return None if value == "" else value


def _json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ApiError(422, "invalid_input", f"form field {name!r} is not valid JSON: {err.msg}") from None


async def read_body(request: Any, model: type[M], folder: str, upload_limit: int) -> Body:
    """The request's body as ``model``: JSON, or multipart form fields plus ``audio`` files (saved to
    ``folder``, each at most ``upload_limit`` bytes). 400 for a malformed body, 422 for invalid fields."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raw = await request.body()
        try:
            data = json.loads(raw) if raw.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ApiError(
                400, "bad_request", f"the body is not valid JSON ({err}); send application/json"
            ) from None
        return Body(validate(model, data), [])
    try:
        form = await request.form(max_files=_MAX_FILES, max_fields=256)
    except ApiError:
        raise
    except Exception as err:  # starlette's MultiPartException and malformed bodies
        raise ApiError(400, "bad_request", f"cannot read the multipart body: {err}") from None
    uploads: list[Path] = []
    names: list[str] = []
    try:
        fields: dict[str, list[str]] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value)
            elif key == "audio":
                uploads.append(await save_upload(value, upload_limit, folder))
                names.append(value.filename or "upload")
            else:
                raise ApiError(
                    422, "invalid_input", f"unexpected file field {key!r}; upload audio as 'audio'"
                )
        data = {k: _form_value(model, k, v) for k, v in fields.items()}
        return Body(validate(model, data), uploads, names)
    except BaseException:
        for path in uploads:
            os.unlink(path)
        raise
    finally:
        await form.close()


async def run(retry_after_s: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn`` on a worker thread (model and Qdrant work stay off the event loop); errors as `ApiError`
    (a 503 suggests retrying after ``retry_after_s``)."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except ApiError:
        raise
    except Exception as exc:
        raise from_exception(exc, retry_after_s) from exc
