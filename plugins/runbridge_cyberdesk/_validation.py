"""Request validation for the emulator, answering in FastAPI's pydantic-v2 error shape.

Each check returns a list of ``{"type", "loc", "msg", "input", "ctx"?}`` entries, the
items of a 422 ``{"detail": [...]}`` body. Only what the Cyberdesk schemas declare
is checked; unknown body keys are ignored, as pydantic does by default.
"""

from __future__ import annotations

import base64
import binascii
import string
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

Loc = tuple[str | int, ...]
Issue = dict[str, Any]
Check = Callable[[Any, Loc], list[Issue]]
DecodedFile = tuple[str, bytes, str | None, bool]
"""A ``FileInput`` read: filename, content, target path, cleanup flag."""

RUN_STATUSES = (
    "scheduling",
    "running",
    "running_checks",
    "success",
    "task_failed",
    "error",
    "cancelled",
)
SORT_MODES = ("activity", "created_at_desc")
RUN_FIELDS = (
    "ended_at",
    "error",
    "input_attachment_ids",
    "input_values",
    "is_priority",
    "machine_id",
    "main_prompt",
    "model_metadata",
    "organization_id",
    "output_attachment_ids",
    "output_data",
    "pool_ids",
    "post_run_checks",
    "release_session_after",
    "run_message_history",
    "sensitive_input_aliases",
    "session_alias",
    "session_id",
    "started_at",
    "usage_metadata",
    "user_id",
)

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


_uuid = nullable(check_uuid)
_bool = check_bool
_opt_bool = nullable(check_bool)
_str = nullable(check_str)
_dict = nullable(check_dict)
_uuids = nullable(list_of(check_uuid))
_strings = nullable(list_of(check_str))
_dicts = nullable(list_of(check_dict))
_time = nullable(check_datetime)

FILE_INPUT = check_model(
    {
        "filename": check_str,
        "content": check_str,
        "target_path": _str,
        "cleanup_imports_after_run": _bool,
    },
    frozenset({"filename", "content"}),
    "FileInput",
)
_files = nullable(list_of(FILE_INPUT))

MODEL_METADATA = check_model(
    {
        "main_agent_model_id": _uuid,
        "cache_detection_model_id": _uuid,
        "fallback_model_1_id": _uuid,
        "fallback_model_2_id": _uuid,
    },
    frozenset(),
    "WorkflowModelMetadata",
)

RUN_CREATE: dict[str, Check] = {
    "workflow_id": check_uuid,
    "is_priority": _bool,
    "main_prompt": _str,
    "main_agent_model_id": _uuid,
    "model_metadata": nullable(MODEL_METADATA),
    "machine_id": _uuid,
    "pool_ids": _uuids,
    "input_values": _dict,
    "file_inputs": _files,
    "sensitive_input_values": _dict,
    "session_id": _uuid,
    "start_session": _opt_bool,
    "session_alias": _str,
    "release_session_after": _opt_bool,
}

RUN_BULK_CREATE: dict[str, Check] = {
    key: RUN_CREATE[key]
    for key in (
        "workflow_id",
        "is_priority",
        "machine_id",
        "pool_ids",
        "input_values",
        "file_inputs",
        "sensitive_input_values",
        "session_id",
        "start_session",
    )
}

RUN_UPDATE: dict[str, Check] = {
    "status": nullable(check_enum(RUN_STATUSES)),
    "error": _strings,
    "output_data": _dict,
    "output_attachment_ids": _strings,
    "run_message_history": _dicts,
    "input_values": _dict,
    "usage_metadata": _dict,
    "post_run_checks": _dicts,
    "started_at": _time,
    "ended_at": _time,
    "release_session_after": _opt_bool,
}

RUN_RETRY: dict[str, Check] = {
    "input_values": _dict,
    "sensitive_input_values": _dict,
    "file_inputs": _files,
    "machine_id": _uuid,
    "pool_ids": _uuids,
    "reuse_session": _opt_bool,
    "session_id": _uuid,
    "start_session": _opt_bool,
    "session_alias": _str,
    "release_session_after": _opt_bool,
    "is_priority": _opt_bool,
}


# -- reading values that passed validation --------------------------------------------


def decode_files(body: Mapping[str, Any]) -> tuple[list[DecodedFile], list[Issue]]:
    """The validated ``file_inputs`` of ``body`` decoded, or issues for bad base64."""
    files: list[DecodedFile] = []
    issues: list[Issue] = []
    for i, item in enumerate(body.get("file_inputs") or ()):
        try:
            content = base64.b64decode(item["content"], validate=True)
        except (binascii.Error, ValueError) as exc:
            loc = ("body", "file_inputs", i, "content")
            msg = "Value error, content must be base64"
            issues.append(issue("value_error", loc, msg, item["content"], {"error": str(exc)}))
            continue
        cleanup = item.get("cleanup_imports_after_run", False)
        cleanup = query_bool(cleanup) if isinstance(cleanup, str) else bool(cleanup)
        files.append((item["filename"], content, item.get("target_path"), cleanup))
    return files, issues


def when(value: str | None) -> datetime | None:
    """A validated date-time as an aware datetime (naive values are UTC)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def stamp(value: str) -> str:
    """A validated date-time as FastAPI writes it back: UTC with ``Z``."""
    parsed = when(value)
    assert parsed is not None
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")


def uid(value: Any) -> Any:
    """A validated UUID as FastAPI writes it back: lower-case and hyphenated."""
    return str(uuid.UUID(value)) if isinstance(value, str) else value


def uids(values: Any) -> Any:
    """A validated list of UUIDs, each as ``uid`` writes it."""
    return [uid(value) for value in values] if isinstance(values, list) else values
