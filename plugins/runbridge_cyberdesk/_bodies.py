"""Request bodies the adapter sends: ``RunCreate``, ``RunUpdate``, ``RunRetry``, ``FileInput``.

The core has checked every option against ``_options`` before these are built;
what is left here needs the request itself (a target that is no UUID, a run
name, a file given by id), and still fails before any request is made.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

import runbridge
from runbridge import RunRequest, RunStatus, RunUpdate
from runbridge.adapter import UUID_FORMAT, Call, format_timestamp

from ._options import RETRY_ALIASES

_UPDATE_STATUS = {
    RunStatus.PENDING: "scheduling",
    RunStatus.RUNNING: "running",
    RunStatus.SUCCEEDED: "success",
    RunStatus.FAILED: "error",
    RunStatus.CANCELLED: "cancelled",
}
"""The ``status`` an update sends: the values of the update document's own enum
(``scheduling, running, success, cancelled, error``)."""


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
    body.update(_plain(request.options))
    if request.inputs:
        body["input_values"] = dict(request.inputs)
    if request.secrets:
        body["sensitive_input_values"] = dict(request.secrets)
    if request.files:
        if problem := file_problem(request.files):
            raise call.invalid(problem, field="files")
        body["file_inputs"] = file_inputs(request.files)
    return body


def file_problem(files: Iterable[object]) -> str | None:
    """Why Cyberdesk cannot take one of ``files``, or ``None``."""
    for item in files:
        if not isinstance(item, runbridge.File):
            return "files must be a sequence of runbridge.File"
        if item.content is None:
            return f"file {item.name!r}: cyberdesk takes file content, not uploaded file ids"
    return None


def file_inputs(files: Iterable[runbridge.File]) -> list[dict[str, Any]]:
    """``FileInput`` objects for ``files``: base64 content and the file's options."""
    out: list[dict[str, Any]] = []
    for item in files:
        content = base64.b64encode(item.content or b"").decode("ascii")
        entry = {"filename": item.name, "content": content}
        entry.update({k: v for k, v in item.options.items() if v is not None})
        out.append(entry)
    return out


def update_body(update: RunUpdate) -> dict[str, Any]:
    """The ``RunUpdate`` body for ``update``: only the fields that are set."""
    body = _plain(update.options)
    if update.status is not None:
        native = _UPDATE_STATUS[update.status]
        if update.status is RunStatus.FAILED and _task_failure(update):
            # Asked for by name: SDK 2.2.69 takes every RunStatus, task_failed too.
            native = "task_failed"
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


def _task_failure(update: RunUpdate) -> bool:
    return update.failure is not None and update.failure.kind == "task"


def retry_body(options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``RunRetry`` body for ``retry(**options)``: canonical spellings as wire fields."""
    body: dict[str, Any] = {}
    for key, value in _plain(options).items():
        if key == "files" and value is not None:
            value = file_inputs(value)
        body[RETRY_ALIASES.get(key, key)] = value
    return body


def _plain(options: Mapping[str, Any]) -> dict[str, Any]:
    # Values are sent as given; a mapping that is no dict is copied into one,
    # since the JSON encoder takes only dicts.
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in options.items()}
