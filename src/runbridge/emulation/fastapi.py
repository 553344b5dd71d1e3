"""FastAPI-style request validation for emulators: pydantic v2's 422 error shape.

Many provider APIs are FastAPI services; their validation errors look like
``{"detail": [{"type", "loc", "msg", "input", "ctx"?}]}``. Each check here
returns a list of such entries (empty when the value is fine), so an emulator
declares a body schema as a mapping of field names to checks and answers
``validation_error(check_body(body, schema, required))`` when the list is not empty.
Only what a schema declares is checked; unknown keys are ignored, as pydantic does.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from ._server import json_response

__all__ = [
    "Check",
    "Issue",
    "Loc",
    "check_body",
    "check_bool",
    "check_datetime",
    "check_dict",
    "check_enum",
    "check_model",
    "check_str",
    "check_uuid",
    "detail",
    "issue",
    "list_of",
    "missing",
    "nullable",
    "parse_int",
    "query_bool",
    "validation_error",
]

Loc = tuple[str | int, ...]
Issue = dict[str, Any]
Check = Callable[[Any, Loc], list[Issue]]

_HEX = set(string.hexdigits)
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


def issue(kind: str, loc: Loc, msg: str, value: Any, ctx: dict[str, Any] | None = None) -> Issue:
    """One validation error entry."""
    entry: Issue = {"type": kind, "loc": list(loc), "msg": msg, "input": value}
    if ctx is not None:
        entry["ctx"] = ctx
    return entry


def missing(loc: Loc, parent: Any) -> Issue:
    """A required field that was not given."""
    return issue("missing", loc, "Field required", parent)


def _uuid_problem(text: str) -> str | None:
    body = text[9:] if text.lower().startswith("urn:uuid:") else text
    for position, char in enumerate(body):
        if char not in _HEX and char != "-":
            return (
                "invalid character: expected an optional prefix of `urn:uuid:` followed by "
                f"[0-9a-fA-F-], found `{char}` at {position + 1}"
            )
    digits = body.replace("-", "")
    if len(digits) != 32:
        return f"invalid length: expected length 32 for simple format, found {len(digits)}"
    if "-" in body and [len(g) for g in body.split("-")] != [8, 4, 4, 4, 12]:
        return "invalid group length"
    return None


def check_uuid(value: Any, loc: Loc) -> list[Issue]:
    """A UUID given as a string."""
    if not isinstance(value, str):
        return [
            issue("uuid_type", loc, "UUID input should be a string, bytes or UUID object", value)
        ]
    problem = _uuid_problem(value)
    if problem is None:
        return []
    return [
        issue(
            "uuid_parsing",
            loc,
            f"Input should be a valid UUID, {problem}",
            value,
            {"error": problem},
        )
    ]


def check_bool(value: Any, loc: Loc) -> list[Issue]:
    """A boolean (pydantic's lax mode also takes 0/1 and yes/no words)."""
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return []
    if isinstance(value, str):
        if value.lower() in _TRUE | _FALSE:
            return []
        return [
            issue(
                "bool_parsing",
                loc,
                "Input should be a valid boolean, unable to interpret input",
                value,
            )
        ]
    return [issue("bool_type", loc, "Input should be a valid boolean", value)]


def query_bool(value: str) -> bool:
    """A query-string boolean already accepted by ``check_bool``."""
    return value.lower() in _TRUE


def check_str(value: Any, loc: Loc) -> list[Issue]:
    """A string."""
    return (
        []
        if isinstance(value, str)
        else [issue("string_type", loc, "Input should be a valid string", value)]
    )


def check_dict(value: Any, loc: Loc) -> list[Issue]:
    """A free-form object."""
    return (
        []
        if isinstance(value, dict)
        else [issue("dict_type", loc, "Input should be a valid dictionary", value)]
    )


def check_datetime(value: Any, loc: Loc) -> list[Issue]:
    """An ISO-8601 date-time."""
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return []
        return [
            issue(
                "datetime_from_date_parsing",
                loc,
                "Input should be a valid datetime or date, invalid datetime format",
                value,
                {"error": "invalid datetime format"},
            )
        ]
    return [issue("datetime_type", loc, "Input should be a valid datetime", value)]


def check_enum(allowed: tuple[str, ...]) -> Check:
    """One of ``allowed``."""
    expected = ", ".join(f"'{a}'" for a in allowed[:-1]) + f" or '{allowed[-1]}'"

    def check(value: Any, loc: Loc) -> list[Issue]:
        if value in allowed:
            return []
        return [issue("enum", loc, f"Input should be {expected}", value, {"expected": expected})]

    return check


def list_of(item: Check) -> Check:
    """A list whose items all pass ``item``."""

    def check(value: Any, loc: Loc) -> list[Issue]:
        if not isinstance(value, list):
            return [issue("list_type", loc, "Input should be a valid list", value)]
        return [found for i, entry in enumerate(value) for found in item(entry, (*loc, i))]

    return check


def nullable(check: Check) -> Check:
    """``check``, or ``null``."""

    def checked(value: Any, loc: Loc) -> list[Issue]:
        return [] if value is None else check(value, loc)

    return checked


def parse_int(
    value: Any, loc: Loc, *, ge: int | None = None, gt: int | None = None, le: int | None = None
) -> tuple[int | None, list[Issue]]:
    """An integer from JSON or a query string, within bounds."""
    number: int
    if isinstance(value, bool):
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            msg = "Input should be a valid integer, got a number with a fractional part"
            return None, [issue("int_from_float", loc, msg, value)]
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            msg = "Input should be a valid integer, unable to parse string as an integer"
            return None, [issue("int_parsing", loc, msg, value)]
    else:
        return None, [issue("int_type", loc, "Input should be a valid integer", value)]
    if ge is not None and number < ge:
        msg = f"Input should be greater than or equal to {ge}"
        return None, [issue("greater_than_equal", loc, msg, value, {"ge": ge})]
    if gt is not None and number <= gt:
        return None, [
            issue("greater_than", loc, f"Input should be greater than {gt}", value, {"gt": gt})
        ]
    if le is not None and number > le:
        msg = f"Input should be less than or equal to {le}"
        return None, [issue("less_than_equal", loc, msg, value, {"le": le})]
    return number, []


def check_model(fields: Mapping[str, Check], required: frozenset[str], name: str) -> Check:
    """An object with the given fields (extra keys ignored)."""

    def check(value: Any, loc: Loc) -> list[Issue]:
        if not isinstance(value, dict):
            msg = f"Input should be a valid dictionary or instance of {name}"
            return [issue("model_type", loc, msg, value, {"class_name": name})]
        found = [missing((*loc, key), value) for key in sorted(required) if key not in value]
        for key, field_check in fields.items():
            if key in value:
                found.extend(field_check(value[key], (*loc, key)))
        return found

    return check


def check_body(body: Any, fields: Mapping[str, Check], required: frozenset[str]) -> list[Issue]:
    """A JSON request body with the given fields."""
    if body is None:
        return [missing(("body",), None)]
    if not isinstance(body, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return [issue("model_attributes_type", ("body",), msg, body)]
    found = [missing(("body", key), body) for key in sorted(required) if key not in body]
    for key, field_check in fields.items():
        if key in body:
            found.extend(field_check(body[key], ("body", key)))
    return found


def validation_error(issues: list[Issue]) -> web.Response:
    """A 422 with FastAPI's ``{"detail": [...]}`` body."""
    return json_response({"detail": issues}, status=422)


def detail(status: int, message: str, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """An error with FastAPI's ``{"detail": "message"}`` body."""
    return json_response({"detail": message}, status=status, headers=dict(headers or {}))
