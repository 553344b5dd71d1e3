"""Reading Runflow's answers: statuses, failures, run records and error bodies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, timedelta
from typing import Any

from runbridge import Failure, FailureKind, Progress, Run, RunRef, RunStatus
from runbridge.adapter import ErrorInfo, StatusMap, new_run, parse_timestamp

from ._wire import WireRun, cost_of, count_of, text_of

STATUSES = StatusMap(
    {
        "queued": RunStatus.PENDING,
        "dispatching": RunStatus.PENDING,
        "running": RunStatus.RUNNING,
        "succeeded": RunStatus.SUCCEEDED,
        "partial_succeeded": RunStatus.SUCCEEDED,
        "failed": RunStatus.FAILED,
        "errored": RunStatus.FAILED,
        "canceled": RunStatus.CANCELLED,
        "cancelled": RunStatus.CANCELLED,
    }
)
"""``status_code`` values to canonical statuses; both spellings of cancelled."""

# Module constants: on Python 3.11 an enum member read off its class costs several times
# a plain attribute, and these are read for every run of a page.
_TO_CANONICAL = STATUSES.to_canonical
_SUCCEEDED, _FAILED, _CANCELLED = RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED

NATIVE_STATUS = {
    RunStatus.PENDING: "queued",
    RunStatus.RUNNING: "running",
    RunStatus.SUCCEEDED: "succeeded",
    RunStatus.FAILED: "failed",
}
"""The ``status_code`` an update sends for each canonical status it may PATCH.

Cancelled is absent on purpose: a cancellation goes through the admin endpoint."""

SYSTEM_STAGES = frozenset(
    {"dispatch", "dispatching", "provider", "infrastructure", "infra", "system", "internal"}
)
"""``failure_stage_code`` values that mean Runflow's side failed, not the task."""

NAME_KEY = "name"
"""Key of ``metadata`` that holds the canonical run name."""


def failure_kind(code: str | None, stage: str | None) -> FailureKind:
    """``timeout`` for a timeout code, ``system`` for a Runflow-side stage, else ``task``."""
    upper = (code or "").upper()
    if "TIMEOUT" in upper or "TIMED_OUT" in upper or upper == "DEADLINE_EXCEEDED":
        return "timeout"
    if stage is not None and stage.lower() in SYSTEM_STAGES:
        return "system"
    return "task"


def text(value: object) -> str | None:
    """``value`` when it is a non-empty string."""
    return value if isinstance(value, str) and value else None


def node_failures(node_runs: object) -> str | None:
    """The ``error_message`` of the failed node runs, joined with ``"; "`` (each once).

    ``state_code`` is undocumented: the messages of nodes in a failed state are
    taken, else every node's message (a node run's ``error_message`` is documented).
    """
    if not isinstance(node_runs, list):
        return None
    nodes = [n for n in node_runs if isinstance(n, Mapping) and text(n.get("error_message"))]
    failed = [n for n in nodes if _failed(n.get("state_code"))]
    messages = dict.fromkeys(str(n["error_message"]) for n in failed or nodes)
    return "; ".join(messages) or None


def _failed(state: object) -> bool:
    return isinstance(state, str) and STATUSES.canonical(state) is RunStatus.FAILED


def _failure(wire: WireRun, raw: Mapping[str, Any]) -> Failure:
    # The docs put failures in failure_code/_message/_stage_code (newer pages) and in
    # each node run's error_message (the run reference); the SDK type still declares
    # error: {code, message}. The node runs are read from the raw payload, only here.
    error = wire.error
    sdk: Mapping[str, Any] = error if isinstance(error, Mapping) else {}
    code = text_of(wire.failure_code) or text(sdk.get("code"))
    message = (
        text_of(wire.failure_message)
        or node_failures(raw.get("node_runs"))
        or text(sdk.get("message"))
        or text(error)
    )
    return Failure(failure_kind(code, text_of(wire.failure_stage_code)), message, code)


def run_of(wire: WireRun, ref: RunRef, raw: Mapping[str, Any], target: str | None) -> Run:
    """The canonical run from a decoded Runflow run record, on ``target``.

    Only ``wire`` is read: ``raw`` (the full payload) becomes ``Run.raw`` untouched,
    so a run read from a response never decodes it here, but for the ``node_runs`` of
    a failed run that gives no ``failure_message``.
    """
    code = wire.status_code
    native = code if type(code) is str else text_of(code)
    status = (native is not None and _TO_CANONICAL.get(native)) or STATUSES.canonical(native)
    completed, total = wire.nodes_completed, wire.nodes_total
    progress = None
    if completed is not None or total is not None:
        progress = Progress(count_of(completed) or 0, count_of(total))
    # msgspec reads the timestamps as datetimes already: only one that is not in UTC
    # (or has no offset) goes through ``parse_timestamp``.
    created, started, finished_at = wire.created_at, wire.started_at, wire.completed_at
    if started is not None and started.tzinfo is not UTC:
        started = parse_timestamp(started)
    if finished_at is not None and finished_at.tzinfo is not UTC:
        finished_at = parse_timestamp(finished_at)
    duration_ms = wire.duration_ms
    duration = count_of(duration_ms) if duration_ms is not None else None
    # Identity, not set membership: an enum member's hash is a Python call.
    terminal = status is _SUCCEEDED or status is _FAILED or status is _CANCELLED
    if finished_at is None and terminal and started and duration is not None:
        try:
            finished_at = started + timedelta(milliseconds=duration)
        except OverflowError:  # a nonsense duration: leave the end unknown
            finished_at = None
    metadata, cost = wire.metadata, wire.cost
    name = metadata.name if metadata is not None else None
    return new_run(
        ref,
        status,
        native_status=native,
        target=target,
        name=name if type(name) is str else None,
        inputs=wire.input or None,
        outputs=wire.output,
        failure=_failure(wire, raw) if status is _FAILED else None,
        created_at=created
        if created is None or created.tzinfo is UTC
        else parse_timestamp(created),
        started_at=started,
        finished_at=finished_at,
        cost=cost_of(cost) if cost is not None else None,
        progress=progress,
        raw=raw,
    )


def _field_of(entry: Mapping[str, Any]) -> str | None:
    keys = ("loc", "field", "path", "param")
    loc = next((entry[k] for k in keys if entry.get(k) is not None), None)
    if isinstance(loc, str):
        loc = loc.split(".")
    if not isinstance(loc, list | tuple):
        return None
    parts = [str(p) for p in loc if isinstance(p, str | int) and not isinstance(p, bool)]
    # FastAPI-style locations start with where the value came from.
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or None


def error_info(body: Any) -> ErrorInfo:
    """Read ``{code, message, errors}``, or the SDK's ``{error: {code, message}}``."""
    if isinstance(body, str):
        return ErrorInfo(message=body[:500] or None)
    if not isinstance(body, Mapping):
        return ErrorInfo()
    nested = body.get("error")
    inner: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
    code = text(body.get("code")) or text(inner.get("code"))
    message = text(body.get("message")) or text(inner.get("message")) or text(nested)
    errors = body.get("errors", inner.get("errors"))
    if not isinstance(errors, list):
        errors = body.get("detail") if isinstance(body.get("detail"), list) else []
    first = next((e for e in errors if isinstance(e, Mapping)), None)
    field = _field_of(first) if first is not None else None
    detail = text(first.get("msg")) or text(first.get("message")) if first else None
    if detail and detail != message:
        where = f"{field}: " if field else ""
        message = f"{message} ({where}{detail})" if message else f"{where}{detail}"
    return ErrorInfo(message=message, code=code, field=field)
