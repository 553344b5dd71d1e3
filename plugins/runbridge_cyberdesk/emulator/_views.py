"""How the emulator shows runs: ``RunResponse`` objects, the list and its filters."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from runbridge.emulation import Clock, Faults, Paging, RunStore, Timeline, iso, json_response
from runbridge.emulation.fastapi import Issue, parse_int, query_bool

from . import _schemas as s
from ._gateway import Gateway
from ._records import EmulatedRun

PAGING = Paging.offsets()
"""``skip`` and ``limit``, with the ``total`` of matching runs."""


class RunViews(Gateway):
    """Run objects as the API serves them, and ``GET /v1/runs``."""

    runs: RunStore[EmulatedRun]
    checks_seconds: float
    task_failure_message: str
    system_error_message: str

    def __init__(
        self,
        *,
        token: str | None = None,
        clock: Clock | None = None,
        faults: Faults | None = None,
        extras: Any = (),
        rate_limit: int | None = None,
        rate_window: float = 60.0,
    ) -> None:
        super().__init__(
            token=token,
            clock=clock,
            faults=faults,
            extras=extras,
            rate_limit=rate_limit,
            rate_window=rate_window,
        )
        self.workflows: dict[str, str] = {}
        """Workflow ids runs may be created for, with their names."""
        self.machine_id = str(uuid.uuid4())
        """The machine a run is given when it starts without one named."""
        self.user_id = str(uuid.uuid4())
        self.organization_id = "org_emulated"

    def native_status(self, timeline: Timeline, now: float | None = None) -> str:
        """The lifecycle's status, with the last ``checks_seconds`` of ``running`` as
        ``running_checks`` (post-run checks)."""
        now = self.now() if now is None else now
        native = super().native_status(timeline, now)
        if (
            native == "running"
            and timeline.pinned is None
            and self.checks_seconds > 0
            and now >= timeline.ends - self.checks_seconds
        ):
            return "running_checks"
        return native

    def status_of(self, run: EmulatedRun, now: float | None = None) -> str:
        """The native status of ``run`` at ``now`` (default: the present)."""
        return self.native_status(run.timeline, now)

    def run_json(self, run: EmulatedRun, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The ``RunResponse`` of ``run``: every documented key, nullable ones as null."""
        now = self.now()
        timeline = run.timeline
        status = self.native_status(timeline, now)
        # A run put back to scheduling has not started, whatever it did before.
        started = None if timeline.phase(now) == "pending" else timeline.started_at(now)
        ended = timeline.finished_at(now)
        natural = timeline.pinned is None  # outcomes the clock reached, not a written status
        output = error = None
        if natural and status == self.statuses.succeeded:
            planned = timeline.plan.outputs
            output = planned if planned is not None else {"echo": run.input_values}
        elif natural and status == "task_failed":
            error = [timeline.plan.message or self.task_failure_message]
        elif natural and status == "error":
            error = [timeline.plan.message or self.system_error_message]
        body: dict[str, Any] = {
            "workflow_id": run.workflow_id,
            "machine_id": run.machine_id or (None if started is None else self.machine_id),
            "id": run.id,
            "user_id": self.user_id,
            "organization_id": self.organization_id,
            "status": status,
            "is_priority": run.is_priority,
            "error": error,
            "output_data": output,
            "input_attachment_ids": run.input_attachment_ids,
            "output_attachment_ids": None,
            "run_message_history": None,
            "input_values": run.input_values,
            "main_prompt": run.main_prompt,
            "model_metadata": run.model_metadata,
            "pool_ids": run.pool_ids,
            "sensitive_input_aliases": run.sensitive_input_aliases,
            "usage_metadata": None,
            "post_run_checks": None,
            "session_id": run.session_id,
            "session_alias": run.session_alias,
            "release_session_after": run.release_session_after,
            "created_at": iso(timeline.created),
            "started_at": iso(started),
            "ended_at": iso(ended),
        }
        body.update(run.patched)
        if fields is not None:
            keep = set(s.BASE_FIELDS) | set(fields)
            body = {k: v for k, v in body.items() if k in keep}
        return body

    def included(self, runs: list[EmulatedRun], include: str | None) -> list[dict[str, Any]] | None:
        """``IncludedResource`` entries for ``include=workflow,machine,machine.pools``."""
        if not include:
            return None
        wanted = {part.strip() for part in include.split(",")}
        named = self.extra("included_names")  # noqa: S610 - not Django
        out: list[dict[str, Any]] = []
        if "workflow" in wanted:
            for wid in dict.fromkeys(r.workflow_id for r in runs):
                entry = {"type": "workflow", "id": wid}
                if named:
                    entry["name"] = self.workflows.get(wid) or "Workflow"
                out.append(entry)
        if wanted & {"machine", "machine.pools"}:
            machines = (self.run_json(r)["machine_id"] for r in runs)
            for mid in dict.fromkeys(m for m in machines if m):
                entry = {"type": "machine", "id": mid}
                if named:
                    entry["name"] = "Emulated machine"
                out.append(entry)
        return out

    async def _list(self, request: web.Request) -> web.Response:
        query = request.query
        issues: list[Issue] = []
        skip, found = parse_int(query.get("skip", "0"), ("query", "skip"), ge=0)
        issues += found
        limit, found = parse_int(
            query.get("limit", str(s.DEFAULT_LIMIT)), ("query", "limit"), ge=1, le=s.MAX_LIMIT
        )
        issues += found
        for name, check in s.LIST_QUERY.items():
            if name in query:
                issues += check(query[name], ("query", name))
        fields = tuple(query.getall("fields", ()))
        for i, name in enumerate(fields):
            issues += s.CHECK_FIELD(name, ("query", "fields", i))
        if issues or skip is None or limit is None:
            return self.invalid(issues)
        page = PAGING.page(self._select(query), limit=limit, cursor=skip)
        return json_response(
            {
                "items": [self.run_json(run, fields or None) for run in page.items],
                "total": page.total,
                "skip": skip,
                "limit": limit,
                "included": self.included(page.items, query.get("include")),
            }
        )

    def _select(self, query: Mapping[str, str]) -> list[EmulatedRun]:
        now = self.now()
        runs = list(self.runs.values())
        if "workflow_id" in query:
            wanted = s.uid(query["workflow_id"])
            runs = [r for r in runs if r.workflow_id == wanted]
        if "session_id" in query:
            wanted = s.uid(query["session_id"])
            runs = [r for r in runs if r.session_id == wanted]
        if "machine_id" in query:
            wanted = s.uid(query["machine_id"])
            runs = [r for r in runs if self.run_json(r)["machine_id"] == wanted]
        if "status" in query:
            runs = [r for r in runs if self.status_of(r, now) == query["status"]]
        low, high = s.when(query.get("created_at_from")), s.when(query.get("created_at_to"))
        if low is not None:
            runs = [r for r in runs if _created(r) >= low]
        if high is not None:
            runs = [r for r in runs if _created(r) <= high]
        if search := query.get("search", "").lower():
            deep = query_bool(query.get("deep_search", "false"))
            runs = [r for r in runs if search in self._haystack(r, deep=deep)]
        newest = sorted(runs, key=lambda r: (r.timeline.created, r.seq), reverse=True)
        if query.get("sort_mode") == "created_at_desc":
            return newest
        # "activity" is server-defined: active work first, then recent completions.
        active = [r for r in newest if self.status_of(r, now) not in s.TERMINAL]
        done = [r for r in newest if self.status_of(r, now) in s.TERMINAL]
        done.sort(key=lambda r: r.timeline.finished_at(now) or r.timeline.created, reverse=True)
        return active + done

    def _haystack(self, run: EmulatedRun, *, deep: bool) -> str:
        body = self.run_json(run)
        keys = ["input_values", "output_data", "error", "session_alias"]
        if deep:
            keys.append("run_message_history")
        return " ".join([run.id, *(json.dumps(body[k]) for k in keys)]).lower()


def _created(run: EmulatedRun) -> datetime:
    return datetime.fromtimestamp(run.timeline.created, UTC)
