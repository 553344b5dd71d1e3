"""``v1Run`` as the API returns it: the documented fields, snake_case, unpopulated ones
left out (``previous_run``, ``executable_steps``, empty ``user_inputs``)."""

from __future__ import annotations

from typing import Any

from runbridge.emulation import Plan

from ._facts import (
    AWAITING_GUIDANCE,
    COMPLETED,
    FAILED,
    MANUAL,
    STOPPED,
    STOPPING,
)
from ._plain import from_plain
from ._runs import StoredRun
from ._times import nanos, rfc3339
from ._values import Value

DEFAULT_REASON = "Stopped by a user"
"""The reason a stopped run shows when a test forced it there without a pause."""

LOCATION = {"start_byte": "12", "end_byte": "48"}
"""``commonV1Location`` of emulated failures and guidance requests (int64 as strings)."""

FAILURES = {
    "task": "The automation raised an error it could not recover from",
    "system": "The run stopped on an internal error",
    "timeout": "The run exceeded its time limit",
}
"""``v1FailedRunState.description`` of each failure kind, unless the plan gives one."""

GUIDANCE = "The automation needs guidance to go on"


def run_json(run: StoredRun, native: str, since: float) -> dict[str, Any]:
    """The ``v1Run`` of ``run`` in state ``native``, entered at ``since``."""
    stamp = rfc3339(max(nanos(since), run.created_ns))
    body: dict[str, Any] = {
        "name": run.name,
        "create_time": rfc3339(run.created_ns),
        "state": {native: state_fields(run, native), "update_time": stamp},
        "update_time": stamp,
        "stage": run.stage,
        "stage_version": run.stage_version,
        "invocation_details": {"user_id": run.user_id, "invocation_source": MANUAL},
    }
    if run.user_inputs:
        body["user_inputs"] = run.user_inputs
    return body


def state_fields(run: StoredRun, native: str) -> dict[str, Any]:
    """The fields of the state object ``native`` (``{}`` for those that have none)."""
    if native in (STOPPING, STOPPED):
        return {"reason": run.reason or DEFAULT_REASON}
    if native == COMPLETED:
        return {"outputs": outputs(run)}
    plan: Plan = run.timeline.plan
    if native == FAILED:
        return {
            "id": run.error_id,
            "description": plan.message or FAILURES[plan.failure],
            "location": dict(LOCATION),
        }
    if native == AWAITING_GUIDANCE:
        return {
            "exception": run.exception_id,
            "description": GUIDANCE,
            "location": dict(LOCATION),
        }
    return {}


def outputs(run: StoredRun) -> dict[str, Value]:
    """The plan's outputs as values, or by default ``result``: the inputs echoed back
    as a dictionary (``{"text": "done"}`` when there were none)."""
    planned = run.timeline.plan.outputs
    if planned is not None:
        return {name: from_plain(value) for name, value in planned.items()}
    if not run.user_inputs:
        return {"result": {"text": "done"}}
    entries = [{"key": {"text": k}, "value": v} for k, v in run.user_inputs.items()]
    return {"result": {"dictionary": {"entries": entries}}}
