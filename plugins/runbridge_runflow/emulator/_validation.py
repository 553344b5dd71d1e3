"""Checking request bodies in the Runflow emulator; ``Invalid`` becomes a 422."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ._query import Invalid

_DECIMAL = re.compile(r"^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$")
"""The documented pattern of ``cost``."""
_INTS = ("duration_ms", "nodes_total", "nodes_completed")
_TIMES = ("started_at", "completed_at", "updated_at")


def as_object(body: Any, loc: Sequence[str | int]) -> dict[str, Any]:
    """``body`` when it is a JSON object (``{}`` when absent), else ``Invalid``."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise Invalid("must be an object", loc)
    return body


def optional_text(
    body: Mapping[str, Any],
    key: str,
    loc: Sequence[str | int],
    *,
    min_len: int = 0,
    max_len: int = 2048,
) -> str | None:
    """A nullable string field of ``min_len`` to ``max_len`` characters."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        raise Invalid(f"must be a string of {min_len} to {max_len} characters", [*loc, key])
    return value


def check_input(value: Any, required: Sequence[str], loc: Sequence[str | int]) -> dict[str, Any]:
    """A run ``input``: an object holding every required field."""
    data = as_object(value, [*loc, "input"])
    for name in required:
        if name not in data:
            raise Invalid("Field required", [*loc, "input", name])
    return data


def _timestamp(value: Any, key: str) -> str | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise Invalid("must be an ISO-8601 date-time", ["body", key])
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def _cost(value: Any) -> str | None:
    # The PATCH example sends a number; run records carry a decimal string.
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format(Decimal(str(value)), "f")
    if isinstance(value, str) and _DECIMAL.match(value):
        return value
    raise Invalid("must be a decimal string or a number", ["body", "cost"])


def patch_fields(body: Any) -> dict[str, Any]:
    """The documented PATCH fields of ``body``, checked and normalized; others are ignored."""
    data = as_object(body, ["body"])
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "status_code":
            if value is not None and not isinstance(value, str):
                raise Invalid("must be a string", ["body", key])
            out[key] = value
        elif key == "output":
            out[key] = None if value is None else as_object(value, ["body", key])
        elif key in _INTS:
            valid = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            if value is not None and not valid:
                raise Invalid("must be a non-negative integer", ["body", key])
            out[key] = value
        elif key == "cost":
            out[key] = _cost(value)
        elif key in _TIMES:
            out[key] = _timestamp(value, key)
    out.pop("updated_at", None)  # accepted, but not a field of the run
    return out
