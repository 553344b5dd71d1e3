"""Cyberdesk's documented vocabulary and request bodies, restated from the provider facts.

Nothing here comes from the adapter. The values are those of the official SDK
2.2.69 (``RunStatus``, ``RunField``, ``RunListSortMode``) and the request models
of the live spec (``RunCreate``, ``RunBulkCreate``, ``RunUpdate``, ``RunRetry``,
``FileInput``, ``WorkflowModelMetadata``), checked the way pydantic v2 would.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runbridge.emulation.fastapi import (
    Check,
    Issue,
    check_bool,
    check_datetime,
    check_dict,
    check_enum,
    check_model,
    check_str,
    check_uuid,
    issue,
    list_of,
    nullable,
    query_bool,
)

RUN_STATUSES = (
    "scheduling",
    "running",
    "running_checks",
    "success",
    "task_failed",
    "error",
    "cancelled",
)
"""``RunStatus``: a closed enum in the SDK."""

TERMINAL = frozenset({"success", "task_failed", "error", "cancelled"})
"""Statuses a run leaves only through a retry (the ``RunRetry`` docstring)."""

SORT_MODES = ("activity", "created_at_desc")
"""``RunListSortMode``; ``activity`` is the default."""

PROJECTABLE = (
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
"""``RunField``: the values of the list's repeated ``fields`` projection."""

BASE_FIELDS = ("id", "workflow_id", "machine_id", "status", "created_at")
"""Fields every listed run keeps, whatever ``fields`` asks for."""

OPTIONAL_FIELDS = frozenset(
    {
        "user_id",
        "organization_id",
        "is_priority",
        "error",
        "output_data",
        "input_attachment_ids",
        "output_attachment_ids",
        "run_message_history",
        "input_values",
        "main_prompt",
        "model_metadata",
        "pool_ids",
        "sensitive_input_aliases",
        "usage_metadata",
        "post_run_checks",
        "session_id",
        "session_alias",
        "release_session_after",
        "started_at",
        "ended_at",
    }
)
"""``RunResponse`` fields that are not required (``machine_id``'s key is required)."""

SECRET_FIELDS = frozenset({"sensitive_input_values", "sensitive_inputs", "shared_sensitive_inputs"})
"""Request keys holding sensitive inputs (create, bulk, retry and chain bodies)."""

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_BULK = 1000
"""``limit`` is 1..1000 (default 100); bulk ``count`` is 1..1000."""

PATCHABLE = (
    "error",
    "output_data",
    "output_attachment_ids",
    "run_message_history",
    "usage_metadata",
    "post_run_checks",
    "started_at",
    "ended_at",
)
"""``RunUpdate`` fields stored as given, shown instead of what the lifecycle says."""

CLEARED_BY_RETRY = (
    "error",
    "output_data",
    "output_attachment_ids",
    "run_message_history",
    "post_run_checks",
    "started_at",
    "ended_at",
)
"""What a retry forgets: outputs, history and the previous attempt's story."""

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
"""``count`` is checked apart: it is an integer with bounds."""

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

LIST_QUERY: dict[str, Check] = {
    "workflow_id": check_uuid,
    "machine_id": check_uuid,
    "session_id": check_uuid,
    "status": check_enum(RUN_STATUSES),
    "created_at_from": check_datetime,
    "created_at_to": check_datetime,
    "sort_mode": check_enum(SORT_MODES),
    "deep_search": check_bool,
}
"""Single-valued query parameters of ``GET /v1/runs`` (``skip``/``limit`` apart)."""

CHECK_FIELD = check_enum(PROJECTABLE)


# -- reading values that passed validation --------------------------------------------


@dataclass(frozen=True)
class DecodedFile:
    """A ``FileInput`` read: the decoded content and its placement options."""

    filename: str
    content: bytes
    target_path: str | None
    cleanup_imports_after_run: bool


def decode_files(body: Mapping[str, Any]) -> tuple[list[DecodedFile], list[Issue]]:
    """The validated ``file_inputs`` of ``body`` decoded, or issues for bad base64.

    The spec types ``content`` as a string; refusing what is not base64 is this
    emulator's choice (the real server's answer is not documented).
    """
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
        files.append(DecodedFile(item["filename"], content, item.get("target_path"), cleanup))
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
