"""Building Runflow's request bodies: run creation and the partial update."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from runbridge import RunRequest, RunStatus, RunUpdate
from runbridge.adapter import Call, format_timestamp

from ._translate import NAME_KEY, NATIVE_STATUS, STATUSES

PATCH_FIELDS = frozenset(
    {
        "status_code",
        "output",
        "duration_ms",
        "nodes_total",
        "nodes_completed",
        "cost",
        "started_at",
        "completed_at",
        "updated_at",
    }
)
"""Fields of ``PATCH /v1/runs/{id}``, as ``RunUpdate.options`` may set them."""

CREATE_OPTIONS: Mapping[str, type] = {"metadata": Mapping, "callback_url": str, "client_ref": str}
"""Options ``create`` accepts, with their types; they become fields of the request body."""


def option_problem(key: str, value: Any) -> str | None:
    """Why create option ``key`` cannot be sent, or ``None`` when it can."""
    kind = CREATE_OPTIONS.get(key)
    if kind is None:
        return f"unknown option {key!r}; Runflow runs take {', '.join(CREATE_OPTIONS)}"
    if value is not None and not isinstance(value, kind):
        return f"option {key!r} must be a {'mapping' if kind is Mapping else 'string'}"
    return None


def create_body(call: Call, request: RunRequest) -> dict[str, Any]:
    """The JSON body creating ``request``; ``InvalidRequest`` for what Runflow lacks."""
    if request.files:
        raise call.invalid(
            "Runflow takes files as URLs in the inputs; upload them first", field="files"
        )
    body: dict[str, Any] = {"input": dict(request.inputs)}
    for key, value in request.options.items():
        if (problem := option_problem(key, value)) is not None:
            raise call.invalid(problem, field=f"options.{key}")
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
    """``(field, reason)`` when Runflow's PATCH cannot carry ``update``."""
    for field, value in (("inputs", update.inputs), ("failure", update.failure)):
        if value is not None:
            return field, f"Runflow's partial update cannot change {field}"
    for key in update.options:
        if key not in PATCH_FIELDS:
            known = ", ".join(sorted(PATCH_FIELDS))
            return f"options.{key}", f"unknown update option {key!r}; Runflow's PATCH takes {known}"
    settable = (None, RunStatus.CANCELLED, *NATIVE_STATUS)
    if update.status not in settable:
        return "status", f"Runflow has no status_code for {update.status}"
    if update.status is not None and "status_code" in update.options:
        return "options.status_code", "give the status once: as status or as status_code"
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
