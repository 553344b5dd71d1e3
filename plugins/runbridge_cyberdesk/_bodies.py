"""Request bodies the adapter sends: ``RunCreate``, ``RunUpdate``, ``RunRetry``, ``FileInput``.

Everything here is checked before a request is made, so a caller's mistake is an
``InvalidRequest`` naming the field, never a request the server may half accept.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import runbridge
from runbridge import RunRequest, RunStatus, RunUpdate
from runbridge.adapter import UUID_FORMAT, Call, format_timestamp

from ._wire import CANONICAL_FIELDS, CREATE_OPTIONS, RETRY_OPTIONS, UPDATE_OPTIONS

RETRY_ALIASES = {
    "inputs": "input_values",
    "secrets": "sensitive_input_values",
    "files": "file_inputs",
}
"""Canonical spellings ``retry`` also takes, and the ``RunRetry`` field each fills."""

FILE_OPTIONS: dict[str, tuple[type, str]] = {
    "target_path": (str, "a string"),
    "cleanup_imports_after_run": (bool, "a boolean"),
}
"""``File.options`` Cyberdesk takes (``FileInput`` fields), with the type each must have."""

_UPDATE_STATUS = {
    RunStatus.PENDING: "scheduling",
    RunStatus.RUNNING: "running",
    RunStatus.SUCCEEDED: "success",
    RunStatus.FAILED: "task_failed",
    RunStatus.CANCELLED: "cancelled",
}

_NOT_FILES = "files must be a sequence of runbridge.File"


def workflow_id(call: Call, target: str) -> str:
    """The workflow id a target names, lower-case; ``InvalidRequest`` if it is no UUID."""
    found = UUID_FORMAT.normalize(target)
    if found is None:
        raise call.invalid(
            f"target {target[:64]!r} is not a cyberdesk workflow id (a UUID)", field="target"
        )
    return found


def create_body(call: Call, request: RunRequest) -> dict[str, Any]:
    """The ``RunCreate`` body for ``request``."""
    if request.name is not None:
        raise call.invalid("cyberdesk runs have no name", field="name")
    body: dict[str, Any] = {"workflow_id": workflow_id(call, request.target)}
    for key, value in request.options.items():
        if key in CANONICAL_FIELDS:
            raise call.invalid(
                f"option {key!r} is set through RunRequest.{CANONICAL_FIELDS[key]}", field=key
            )
        if key not in CREATE_OPTIONS:
            raise call.invalid(f"cyberdesk runs take no option {key!r}", field=key)
        body[key] = value
    if request.inputs:
        body["input_values"] = dict(request.inputs)
    if request.secrets:
        body["sensitive_input_values"] = dict(request.secrets)
    if request.files:
        body["file_inputs"] = file_inputs(call, request.files)
    return body


def file_problem(files: object) -> tuple[str, str] | None:
    """``(message, field)`` for the first file Cyberdesk cannot take, or ``None``."""
    # An iterator would be used up by this check: only re-iterable collections pass.
    if not isinstance(files, Iterable) or isinstance(files, str | bytes | Mapping | Iterator):
        return _NOT_FILES, "files"
    for item in files:
        if not isinstance(item, runbridge.File):
            return _NOT_FILES, "files"
        if item.content is None:
            return (
                f"file {item.name!r}: cyberdesk takes file content, not uploaded file ids",
                "files",
            )
        for key, value in item.options.items():
            field = f"files.options.{key}"
            if key not in FILE_OPTIONS:
                known = ", ".join(sorted(FILE_OPTIONS))
                message = f"file {item.name!r}: cyberdesk files take no option {key!r} ({known})"
                return message, field
            kind, what = FILE_OPTIONS[key]
            if value is not None and not isinstance(value, kind):
                shown = type(value).__name__
                return f"file {item.name!r}: option {key!r} must be {what}, not {shown}", field
    return None


def file_inputs(call: Call, files: object) -> list[dict[str, Any]]:
    """``FileInput`` objects for ``files``: base64 content and the file's options."""
    if problem := file_problem(files):
        raise call.invalid(problem[0], field=problem[1])
    assert isinstance(files, Iterable)
    out: list[dict[str, Any]] = []
    for item in files:
        entry = {"filename": item.name, "content": base64.b64encode(item.content).decode("ascii")}
        entry.update({k: v for k, v in item.options.items() if v is not None})
        out.append(entry)
    return out


def update_body(call: Call, update: RunUpdate) -> dict[str, Any]:
    """The ``RunUpdate`` body for ``update``: only the fields that are set."""
    body: dict[str, Any] = {}
    for key, value in update.options.items():
        if key in CANONICAL_FIELDS:
            raise call.invalid(
                f"option {key!r} is set through RunUpdate.{CANONICAL_FIELDS[key]}", field=key
            )
        if key not in UPDATE_OPTIONS:
            raise call.invalid(f"cyberdesk runs have no field {key!r} to update", field=key)
        body[key] = value
    if update.cost is not None:
        raise call.invalid(
            "cyberdesk has no cost field; set options={'usage_metadata': {...}}", field="cost"
        )
    if update.progress is not None:
        raise call.invalid("cyberdesk runs have no progress", field="progress")
    if update.status is not None:
        native = _UPDATE_STATUS.get(update.status)
        if native is None:
            raise call.invalid(f"cannot set status {update.status.value}", field="status")
        if update.status is RunStatus.FAILED and update.failure is not None:
            native = "error" if update.failure.kind == "system" else "task_failed"
        body["status"] = native
    if update.outputs is not None:
        body["output_data"] = dict(update.outputs)
    if update.inputs is not None:
        body["input_values"] = dict(update.inputs)
    if update.failure is not None and update.failure.message is not None:
        body["error"] = [update.failure.message]
    if update.started_at is not None:
        body["started_at"] = format_timestamp(update.started_at)
    if update.finished_at is not None:
        body["ended_at"] = format_timestamp(update.finished_at)
    return body


def retry_body(call: Call, options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``RunRetry`` body for ``retry(**options)``."""
    body: dict[str, Any] = {}
    for key, value in options.items():
        wire_key = RETRY_ALIASES.get(key, key)
        if wire_key not in RETRY_OPTIONS:
            raise call.invalid(f"cyberdesk cannot retry with option {key!r}", field=key)
        if wire_key in body:
            raise call.invalid(f"option {key!r} is given twice", field=key)
        if key == "files":
            value = file_inputs(call, value)
        elif wire_key in ("input_values", "sensitive_input_values") and isinstance(value, Mapping):
            value = dict(value)
        body[wire_key] = value
    return body
