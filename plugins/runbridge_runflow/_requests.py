"""Building Runflow's request bodies: run creation and the partial update."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from runbridge import RunRequest, RunStatus, RunUpdate
from runbridge.adapter import Call, Option, Options, format_timestamp

from ._translate import NAME_KEY, NATIVE_STATUS, STATUSES

CREATE_OPTIONS = Options(
    {
        "metadata": Option(Mapping, "free-form metadata kept on the run"),
        "callback_url": Option(str, "a URL Runflow calls when the run finishes"),
        "client_ref": Option(str, "the caller's own reference for the run"),
    },
    canonical={"input": "RunRequest.inputs"},
)
"""Options ``create`` takes; each becomes a field of the request body."""

UPDATE_OPTIONS = Options(
    {
        "status_code": Option(str, "a native status (cancelled goes to the admin endpoint)"),
        "output": Option(Mapping, "the run's output"),
        "duration_ms": Option(int, "how long the run took"),
        "nodes_total": Option(int, "nodes the run has"),
        "nodes_completed": Option(int, "nodes the run has completed"),
        "cost": Option((str, int, float), "a decimal string or a number"),
        "started_at": Option((str, datetime), "when the run started"),
        "completed_at": Option((str, datetime), "when the run completed"),
        "updated_at": Option((str, datetime), "when the run was last updated"),
    }
)
"""Fields of ``PATCH /v1/runs/{id}`` that ``RunUpdate.options`` may set as they are."""

UPDATE_FIELDS = frozenset({"status", "outputs", "cost", "progress", "started_at", "finished_at"})
"""Canonical fields the PATCH can change (not ``inputs``, nor ``failure``)."""


def create_body(call: Call, request: RunRequest) -> dict[str, Any]:
    """The JSON body creating ``request``; ``InvalidRequest`` for what Runflow lacks."""
    if request.files:
        raise call.invalid(
            "Runflow takes files as URLs in the inputs; upload them first", field="files"
        )
    body: dict[str, Any] = {"input": dict(request.inputs)}
    for key, value in request.options.items():
        if value is not None:
            body[key] = dict(value) if isinstance(value, Mapping) else value
    if request.name is not None:
        # Runflow runs have no name; keep it in the caller's metadata, where
        # reading a run finds it again.
        metadata = body.setdefault("metadata", {})
        if metadata.get(NAME_KEY, request.name) != request.name:
            raise call.invalid(
                f"name {request.name!r} clashes with metadata[{NAME_KEY!r}]", field="name"
            )
        metadata[NAME_KEY] = request.name
    return body


def cancels(update: RunUpdate) -> bool:
    """Whether ``update`` asks for a cancellation (as ``status`` or as ``status_code``)."""
    native = update.options.get("status_code")
    by_option = isinstance(native, str) and STATUSES.canonical(native) is RunStatus.CANCELLED
    return update.status is RunStatus.CANCELLED or by_option


def update_problem(update: RunUpdate) -> tuple[str, str] | None:
    """``(field, reason)`` when Runflow's PATCH cannot carry ``update`` as given."""
    settable = (None, RunStatus.CANCELLED, *NATIVE_STATUS)
    if update.status not in settable:
        return "status", f"Runflow has no status_code for {update.status}"
    if update.status is not None and "status_code" in update.options:
        return "options.status_code", "give the status once: as status or as status_code"
    if not cancels(update) and not patch_body(update):
        return "update", "the update sets no field"
    return None


def patch_body(update: RunUpdate) -> dict[str, Any]:
    """The PATCH body for ``update``, without any cancellation (sent separately)."""
    body: dict[str, Any] = {}
    if update.status in NATIVE_STATUS:
        body["status_code"] = NATIVE_STATUS[update.status]
    if update.outputs is not None:
        body["output"] = dict(update.outputs)
    if update.cost is not None:
        body["cost"] = _decimal_text(update.cost)
    if update.progress is not None:
        body["nodes_completed"] = update.progress.completed
        if update.progress.total is not None:
            body["nodes_total"] = update.progress.total
    if update.started_at is not None:
        body["started_at"] = format_timestamp(update.started_at)
    if update.finished_at is not None:
        body["completed_at"] = format_timestamp(update.finished_at)
    body.update(update.options)
    if cancels(update):
        body.pop("status_code", None)
    return body


def _decimal_text(value: Decimal) -> str:
    # Plain notation: Runflow's decimal pattern has no exponent.
    return format(value, "f")
