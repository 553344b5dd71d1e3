"""Reading requests as the service does: bodies, path ids and ``page_size``; what breaks
the documented schema is an ``RpcError`` (INVALID_ARGUMENT)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from runbridge.emulation import read_json

from ._facts import AUTOMATION_ID, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, PLAIN_ID
from ._rpc import RpcError


async def read_body(request: web.Request, fields: tuple[str, ...]) -> dict[str, Any]:
    """The JSON object a request carries, holding only ``fields`` (all bodies are
    required, ``{}`` included)."""
    try:
        body = await read_json(request)
    except ValueError:
        raise RpcError("INVALID_ARGUMENT", "the request body is not valid JSON") from None
    if body is None:
        raise RpcError("INVALID_ARGUMENT", "the request body is required")
    if not isinstance(body, dict):
        raise RpcError("INVALID_ARGUMENT", "the request body must be a JSON object")
    if unknown := sorted(set(body) - set(fields)):
        raise RpcError("INVALID_ARGUMENT", f"unknown field {unknown[0]!r} in the body")
    return body


def check_path_ids(ids: Mapping[str, str]) -> None:
    """Refuse malformed path ids: automation ids are 21-character nano ids, the others
    1-64 of ``A-Za-z0-9_-`` (ASSUMPTION of the facts)."""
    for field in ("organization_id", "workspace_id", "automation_id", "run_id"):
        value = ids.get(field)
        pattern = AUTOMATION_ID if field == "automation_id" else PLAIN_ID
        if value is not None and not pattern.fullmatch(value):
            raise RpcError("INVALID_ARGUMENT", f"{field} {value!r} is not a valid id")


def page_size(raw: str | None) -> int:
    """``page_size``: unset or 0 gives 10, above 1000 gives 1000, negative is refused."""
    if raw is None or raw == "":
        return PAGE_SIZE_DEFAULT
    try:
        size = int(raw)
    except ValueError:
        raise RpcError("INVALID_ARGUMENT", f"page_size {raw!r} is not an integer") from None
    if not -(2**31) <= size < 2**31:
        raise RpcError("INVALID_ARGUMENT", f"page_size {raw} is out of the int32 range")
    if size < 0:
        raise RpcError("INVALID_ARGUMENT", "page_size must not be negative")
    return min(size or PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
