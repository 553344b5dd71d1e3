"""Run records as the Runflow emulator serves them: the documented fields, no more."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from runbridge.emulation import Timeline, iso

from ._facts import (
    FAILURE_FIELDS,
    FAILURES,
    LOG_FIELDS,
    NODE_RUN_FIELDS,
    RUN_FIELDS,
    STATUSES,
    SUCCEEDED,
)
from ._records import EmuRun, EmuTarget


class Renderer(Protocol):
    """What rendering a run needs of the emulator: its clock, statuses and options."""

    user_id: str
    failure_fields: bool

    def now(self) -> float:
        """Current emulator time."""
        ...

    def native_status(self, timeline: Timeline, now: float | None = None) -> str:
        """The native status of a run with ``timeline``."""
        ...

    def extra(self, name: str) -> bool:
        """Whether an undocumented behaviour is turned on."""
        ...


def _millis(started: str | None, completed: str | None) -> int | None:
    if started is None or completed is None:
        return None
    delta = datetime.fromisoformat(completed) - datetime.fromisoformat(started)
    return int(delta.total_seconds() * 1000)


def nodes_done(run: EmuRun, status: str, now: float) -> int:
    """Nodes completed: all on success, half on failure, else as far as the run got."""
    total, tl = run.target.nodes, run.timeline
    if status in SUCCEEDED:
        return total
    if status == "failed":
        return total // 2
    started = tl.started_at(now)
    if status in STATUSES.pending or started is None or tl.plan.running <= 0:
        return 0
    end = tl.finished_at(now) or (tl.pinned_at if tl.pinned is not None else None) or now
    done = int(total * (end - started) / tl.plan.running)
    return max(0, min(done, total - 1))


def _model(emu: Renderer, target: EmuTarget) -> dict[str, Any]:
    # A few of the documented model keys; "owner" is not one of them.
    model: dict[str, Any] = {
        "id": target.id,
        "org_id": None,
        "model_creator_id": None,
        "slug": target.slug,
        "name": target.slug.rsplit("/", 1)[-1].replace("-", " ").title(),
        "is_public": True,
    }
    if emu.extra("model_owner"):  # noqa: S610 - an emulator extra, not Django's
        model["owner"] = target.owner
    return model


def _node_runs(
    run: EmuRun, status: str, total: int, done: int, failure: str | None
) -> list[dict[str, Any]]:
    """Node runs as far as the run got; a failed run's failing node carries ``failure``
    (or, for a status written by PATCH, a text of its own) as ``error_message``."""
    base = uuid.UUID(run.id)
    rows = []
    for i in range(total):
        # ASSUMPTION: node states use the run vocabulary (state_code is undocumented).
        if i < done:
            state = "succeeded"
        elif i == done and status in ("running", "failed"):
            state = status
        else:
            state = "canceled" if status == "canceled" else "queued"
        values: dict[str, Any] = {
            "id": str(uuid.uuid5(base, f"node-run-{i}")),
            "run_id": run.id,
            "node_id": str(uuid.uuid5(uuid.UUID(run.target.id), f"node-{i}")),
            "state_code": state,
            "input": {},
            "output": {} if state == "succeeded" else None,
            "retry_count": 0,
            "error_message": (failure or "node failed") if state == "failed" else None,
            "created_at": iso(run.timeline.created, z=False),
        }
        rows.append({key: values.get(key) for key in NODE_RUN_FIELDS})
    return rows


def _logs(run: EmuRun, record: dict[str, Any]) -> list[dict[str, Any]]:
    # ASSUMPTION: level_code is debug/info/warning/error (undocumented).
    events = [
        (record["created_at"], "info", "Run queued"),
        (record["started_at"], "info", "Run started"),
    ]
    if record["completed_at"] is not None:
        failed = record["status_code"] == "failed"
        message = record["failure_message"] or f"Run {record['status_code']}"
        events.append((record["completed_at"], "error" if failed else "info", message))
    base = uuid.UUID(run.id)
    rows = []
    for n, (at, level, message) in enumerate(events):
        if at is None:
            continue
        values: dict[str, Any] = {
            "id": str(uuid.uuid5(base, f"log-{n}")),
            "run_id": run.id,
            "level_code": level,
            "message": message,
            "timestamp": at,
            "meta": {},
        }
        rows.append({key: values.get(key) for key in LOG_FIELDS})
    return rows


def run_json(emu: Renderer, run: EmuRun, *, fresh: bool = False) -> dict[str, Any]:
    """The run record; ``fresh`` renders it as create returns it (``queued``)."""
    now, tl, target = emu.now(), run.timeline, run.target
    status = "queued" if fresh else emu.native_status(tl, now)
    failure: tuple[str | None, ...] = (None, None, None)
    if status == "failed" and not run.status_patched:
        code, stage, text = FAILURES[tl.plan.failure]
        failure = (code, stage, tl.plan.message or text)
    output = None
    if status in SUCCEEDED:
        output = tl.plan.outputs
        if output is None:  # the documented normalized shape: typed entries with URLs
            url = f"https://cdn.runflow.invalid/runs/{run.id}/0.png"
            output = {"outputs": [{"type": "image", "url": url}]}
    model = target.kind == "models"
    record: dict[str, Any] = {
        "id": run.id,
        "model_id": target.id if model else None,
        "comfyui_workflow_id": None if model else target.id,
        "target_type": target.target_type,
        "org_id": run.org_id,
        "status_code": status,
        "input": run.input,
        "output": output,
        "context": {},
        "cost": target.price if status in SUCCEEDED else "0" if status == "failed" else None,
        "nodes_total": target.nodes,
        "nodes_completed": 0 if fresh else nodes_done(run, status, now),
        "request_id": run.request_id,
        "created_by": emu.user_id,
        "created_at": iso(tl.created, z=False),
        "started_at": None if fresh else iso(tl.started_at(now), z=False),
        "completed_at": None if fresh else iso(tl.finished_at(now), z=False),
        "callback_url": run.callback_url,
        "metadata": run.metadata,
        "has_logs": True,
        "has_node_runs": target.nodes > 0,
        "links": {},
        "model": _model(emu, target) if model else None,
        "resolved_template_id": (
            str(uuid.uuid5(uuid.UUID(target.id), "template")) if target.template_backed else None
        ),
        "batch_id": run.batch_id,
        "client_ref": run.client_ref,
        "failure_code": failure[0],
        "failure_stage_code": failure[1],
        "failure_message": failure[2],
    }
    record.update(run.patched)
    if "duration_ms" not in run.patched:
        record["duration_ms"] = _millis(record["started_at"], record["completed_at"])
    done = record["nodes_completed"] or 0
    record["node_runs"] = _node_runs(run, status, target.nodes, done, failure[2])
    record["logs"] = _logs(run, record)
    shown = {key: record.get(key) for key in RUN_FIELDS}
    if not emu.failure_fields:  # the get-run reference's record: no failure_* fields
        for key in FAILURE_FIELDS:
            del shown[key]
    if emu.extra("comfyui_workflow"):  # noqa: S610 - an emulator extra, not Django's
        workflow = {"id": target.id, "owner": target.owner, "slug": target.slug}
        shown["comfyui_workflow"] = None if model else workflow
    return shown
