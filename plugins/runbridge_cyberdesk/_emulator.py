"""An in-memory Cyberdesk runs API that the adapter and the official SDK can talk to.

Serve it in-process with ``async with CyberdeskEmulator().serve() as base_url``
(tests, manual clock), or as a local server that runs on wall-clock time::

    CyberdeskEmulator(token="sk_test_123", clock=RealClock(speed=10)).run(port=8765)
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from runbridge import RunStatus
from runbridge.emulation import Clock, Faults, Plan, Timeline, iso, json_response

from . import _validation as v
from ._http import FastAPIEmulator
from ._records import (
    BASE_FIELDS,
    CLEARED_BY_RETRY,
    OPTIONAL_FIELDS,
    PATCHABLE,
    Attachment,
    EmulatedRun,
)
from ._wire import TERMINAL

_PATH_ID = ("path", "run_id")


class CyberdeskEmulator(FastAPIEmulator):
    """Serves ``/v1/runs`` from memory, with Cyberdesk's statuses, errors and envelopes.

    Runs follow the plans queued with ``plan_next`` on the emulator clock:
    ``scheduling``, then ``running`` (its last ``checks_seconds`` reported as
    ``running_checks``), then the plan's outcome. ``rate_limit`` requests per
    ``rate_window`` seconds of emulator time are allowed before answering 429.
    ``fail_bulk`` and ``lose_responses`` (and the inherited ``inject``,
    ``inject_fault`` and ``faults``) make faults.
    """

    provider = "cyberdesk"
    status_field = "status"
    run_keys = frozenset({"workflow_id"})
    optional_fields = OPTIONAL_FIELDS

    def __init__(
        self,
        *,
        token: str | None = None,
        clock: Clock | None = None,
        rate_limit: int | None = None,
        rate_window: float = 60.0,
        checks_seconds: float = 0.0,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(
            token=token,
            clock=clock,
            rate_limit=rate_limit,
            rate_window=rate_window,
            faults=faults,
        )
        self.checks_seconds = checks_seconds
        self.workflows: dict[str, str] = {}
        """Workflow ids runs may be created for, with their names."""
        self.runs: dict[str, EmulatedRun] = {}
        self.vault: dict[str, dict[str, Any]] = {}
        """Sensitive input values per run id: stored, never echoed."""
        self.attachments: dict[str, Attachment] = {}
        self.machine_id = str(uuid.uuid4())
        """The machine runs are given when they name none."""
        self.user_id = str(uuid.uuid4())
        self.organization_id = "org_emulated"
        self.task_failure_message = "Task declared failed: the expected record was not found"
        self.system_error_message = "Machine disconnected during the run"
        self._bulk_failures: deque[tuple[int, str]] = deque()
        self._seq = itertools.count()
        self._default_target = self.add_workflow(name="Default workflow")

    # -- seeding and steering ---------------------------------------------------------

    def add_workflow(self, workflow_id: str | None = None, *, name: str | None = None) -> str:
        """Make a workflow exist and return its id."""
        wid = str(uuid.UUID(workflow_id)) if workflow_id else str(uuid.uuid4())
        self.workflows[wid] = name or f"Workflow {len(self.workflows) + 1}"
        return wid

    @property
    def default_target(self) -> str:
        return self._default_target

    def unknown_id(self) -> str:
        return str(uuid.uuid4())

    def fail_bulk(self, failed: int, *, message: str = "No machine available") -> None:
        """Make the next bulk create create ``failed`` runs fewer and report them failed."""
        self._bulk_failures.append((failed, message))

    def outcome_native(self, plan: Plan) -> str:
        if plan.native is not None:
            return plan.native
        if plan.outcome is RunStatus.SUCCEEDED:
            return "success"
        if plan.outcome is RunStatus.CANCELLED:
            return "cancelled"
        return "task_failed" if plan.failure == "task" else "error"

    # -- run state --------------------------------------------------------------------

    def status_of(self, run: EmulatedRun, now: float | None = None) -> str:
        """The native status of ``run`` at ``now``."""
        now = self.now() if now is None else now
        if run.pinned is not None:
            return run.pinned
        timeline = run.timeline
        if timeline.forced is not None:
            return timeline.forced
        phase = timeline.phase(now)
        if phase == "pending":
            return "scheduling"
        if phase == "running":
            checking = self.checks_seconds > 0 and now >= timeline.ends - self.checks_seconds
            return "running_checks" if checking else "running"
        return self.outcome_native(timeline.plan)

    def run_json(self, run: EmulatedRun, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The ``RunResponse`` of ``run``: every documented key, nullable ones as null."""
        now = self.now()
        status = self.status_of(run, now)
        timeline = run.timeline
        natural = run.pinned is None and timeline.forced is None
        started = None if run.pinned == "scheduling" else timeline.started_at(now)
        ended = None if run.pinned is not None else timeline.finished_at(now)
        output = None
        error = None
        if natural and status == "success":
            plan_outputs = timeline.plan.outputs
            output = plan_outputs if plan_outputs is not None else {"echo": run.input_values}
        elif natural and status == "task_failed":
            error = [self.task_failure_message]
        elif natural and status == "error":
            error = [self.system_error_message]
        machine = run.machine_id or (None if started is None else self.machine_id)
        body: dict[str, Any] = {
            "workflow_id": run.workflow_id,
            "machine_id": machine,
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
            keep = set(BASE_FIELDS) | set(fields)
            body = {k: val for k, val in body.items() if k in keep}
        return body

    def _new_run(
        self, body: Mapping[str, Any], files: list[v.DecodedFile], session: Any
    ) -> EmulatedRun:
        run_id = str(uuid.uuid4())
        metadata = body.get("model_metadata")
        if metadata is None and body.get("main_agent_model_id"):
            metadata = {
                "main_agent_model_id": body["main_agent_model_id"],
                "cache_detection_model_id": None,
                "fallback_model_1_id": None,
                "fallback_model_2_id": None,
            }
        run = EmulatedRun(
            id=run_id,
            workflow_id=str(body["workflow_id"]).lower(),
            timeline=Timeline(self.now(), self.take_plan()),
            seq=next(self._seq),
            input_values=body.get("input_values"),
            machine_id=v.uid(body.get("machine_id")),
            pool_ids=v.uids(body.get("pool_ids")),
            session_id=session if session is not None else v.uid(body.get("session_id")),
            session_alias=body.get("session_alias"),
            release_session_after=body.get("release_session_after"),
            is_priority=bool(body.get("is_priority") or False),
            main_prompt=body.get("main_prompt"),
            model_metadata=metadata,
        )
        if run.session_id is None and body.get("start_session"):
            run.session_id = run_id  # a new session's id is the id of its first run
        self._give_secrets(run, body.get("sensitive_input_values"))
        self._give_files(run, files)
        self.runs[run_id] = run
        return run

    def _give_secrets(self, run: EmulatedRun, secrets: Mapping[str, Any] | None) -> None:
        if secrets:
            self.vault[run.id] = dict(secrets)
            run.sensitive_input_aliases = {key: f"vault:{uuid.uuid4()}" for key in secrets}

    def _give_files(self, run: EmulatedRun, files: list[v.DecodedFile]) -> None:
        if not files:
            return
        for old in run.input_attachment_ids or ():
            self.attachments.pop(old, None)
        run.input_attachment_ids = []
        for name, content, target_path, cleanup in files:
            attachment = Attachment(
                str(uuid.uuid4()), run.id, name, content, target_path, bool(cleanup)
            )
            self.attachments[attachment.id] = attachment
            run.input_attachment_ids.append(attachment.id)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/health", self._health)
        app.router.add_get("/v1/runs", self._list)
        app.router.add_post("/v1/runs", self._create)
        app.router.add_post("/v1/runs/bulk", self._bulk)
        app.router.add_get("/v1/runs/{run_id}", self._get)
        app.router.add_patch("/v1/runs/{run_id}", self._patch)
        app.router.add_delete("/v1/runs/{run_id}", self._delete)
        app.router.add_post("/v1/runs/{run_id}/retry", self._retry)

    # -- request reading --------------------------------------------------------------

    def _path_issues(self, request: web.Request) -> list[v.Issue]:
        return v.check_uuid(request.match_info["run_id"], _PATH_ID)

    def _find(self, request: web.Request) -> EmulatedRun | web.Response:
        run = self.runs.get(str(uuid.UUID(request.match_info["run_id"])))
        if run is None:
            return self.detail(404, "Run not found")
        return run

    # -- handlers ---------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return json_response({"status": "healthy"})

    async def _create(self, request: web.Request) -> web.Response:
        body, issues = await self.body(request, v.RUN_CREATE, frozenset({"workflow_id"}))
        if issues:
            return self.invalid(issues)
        files, issues = v.decode_files(body)
        if issues:
            return self.invalid(issues)
        if str(body["workflow_id"]).lower() not in self.workflows:
            return self.detail(404, "Workflow not found")
        run = self._new_run(body, files, None)
        return json_response(self.run_json(run), status=201)

    async def _bulk(self, request: web.Request) -> web.Response:
        required = frozenset({"workflow_id", "count"})
        body, issues = await self.body(request, v.RUN_BULK_CREATE, required)
        count = None
        if isinstance(body, dict) and "count" in body:
            count, count_issues = v.parse_int(body["count"], ("body", "count"), gt=0, le=1000)
            issues = issues + count_issues
        if issues or count is None:
            return self.invalid(issues)
        files, issues = v.decode_files(body)
        if issues:
            return self.invalid(issues)
        if str(body["workflow_id"]).lower() not in self.workflows:
            return self.detail(404, "Workflow not found")
        failed, message = self._bulk_failures.popleft() if self._bulk_failures else (0, "")
        failed = min(failed, count)
        session = None
        if body.get("start_session") and not body.get("session_id"):
            session = str(uuid.uuid4())  # one new session shared by every run
        created = [self._new_run(body, files, session) for _ in range(count - failed)]
        return json_response(
            {
                "created_runs": [self.run_json(run) for run in created],
                "failed_count": failed,
                "errors": [message] * failed,
            },
            status=201,
        )

    async def _get(self, request: web.Request) -> web.Response:
        if issues := self._path_issues(request):
            return self.invalid(issues)
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        body = self.run_json(found)
        body["included"] = self._included([found], request.query.get("include"))
        return json_response(body)

    async def _list(self, request: web.Request) -> web.Response:
        query = request.query
        issues: list[v.Issue] = []
        skip, found = v.parse_int(query.get("skip", "0"), ("query", "skip"), ge=0)
        issues += found
        limit, found = v.parse_int(query.get("limit", "100"), ("query", "limit"), ge=1, le=1000)
        issues += found
        checks: dict[str, v.Check] = {
            "workflow_id": v.check_uuid,
            "machine_id": v.check_uuid,
            "session_id": v.check_uuid,
            "status": v.check_enum(v.RUN_STATUSES),
            "created_at_from": v.check_datetime,
            "created_at_to": v.check_datetime,
            "sort_mode": v.check_enum(v.SORT_MODES),
            "deep_search": v.check_bool,
        }
        for name, check in checks.items():
            if name in query:
                issues += check(query[name], ("query", name))
        fields = tuple(query.getall("fields", ()))
        field_check = v.check_enum(v.RUN_FIELDS)
        for i, name in enumerate(fields):
            issues += field_check(name, ("query", "fields", i))
        if issues or skip is None or limit is None:
            return self.invalid(issues)
        runs = self._select(query)
        page = runs[skip : skip + limit]
        return json_response(
            {
                "items": [self.run_json(run, fields or None) for run in page],
                "total": len(runs),
                "skip": skip,
                "limit": limit,
                "included": self._included(page, query.get("include")),
            }
        )

    def _select(self, query: Mapping[str, str]) -> list[EmulatedRun]:
        now = self.now()
        runs = list(self.runs.values())
        if "workflow_id" in query:
            runs = [r for r in runs if r.workflow_id == query["workflow_id"].lower()]
        if "session_id" in query:
            runs = [r for r in runs if (r.session_id or "").lower() == query["session_id"].lower()]
        if "machine_id" in query:
            wanted = query["machine_id"].lower()
            runs = [r for r in runs if (self.run_json(r)["machine_id"] or "").lower() == wanted]
        if "status" in query:
            runs = [r for r in runs if self.status_of(r, now) == query["status"]]
        low, high = v.when(query.get("created_at_from")), v.when(query.get("created_at_to"))
        if low is not None:
            runs = [r for r in runs if _created(r) >= low]
        if high is not None:
            runs = [r for r in runs if _created(r) <= high]
        if search := query.get("search", "").lower():
            deep = v.query_bool(query.get("deep_search", "false"))
            runs = [r for r in runs if search in self._haystack(r, deep=deep)]
        newest = sorted(runs, key=lambda r: (r.timeline.created, r.seq), reverse=True)
        if query.get("sort_mode") == "created_at_desc":
            return newest
        # "activity": active work first, then the most recently finished.
        active = [r for r in newest if self.status_of(r, now) not in TERMINAL]
        done = [r for r in newest if self.status_of(r, now) in TERMINAL]
        done.sort(key=lambda r: r.timeline.finished_at(now) or r.timeline.created, reverse=True)
        return active + done

    def _haystack(self, run: EmulatedRun, *, deep: bool) -> str:
        body = self.run_json(run)
        keys = ["input_values", "output_data", "error", "session_alias"]
        if deep:
            keys.append("run_message_history")
        return " ".join([run.id, *(orjson.dumps(body[k]).decode() for k in keys)]).lower()

    def _included(
        self, runs: list[EmulatedRun], include: str | None
    ) -> list[dict[str, Any]] | None:
        if not include:
            return None
        wanted = {part.strip() for part in include.split(",")}
        out: list[dict[str, Any]] = []
        if "workflow" in wanted:
            for wid in dict.fromkeys(r.workflow_id for r in runs):
                out.append({"type": "workflow", "id": wid, "name": self.workflows.get(wid)})
        if wanted & {"machine", "machine.pools"}:
            machines = (self.run_json(r)["machine_id"] for r in runs)
            for mid in dict.fromkeys(m for m in machines if m):
                out.append({"type": "machine", "id": mid, "name": "Emulated machine"})
        return out

    async def _patch(self, request: web.Request) -> web.Response:
        body, issues = await self.body(request, v.RUN_UPDATE, frozenset())
        if issues := self._path_issues(request) + issues:
            return self.invalid(issues)
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        now = self.now()
        status = body.get("status")
        if status in TERMINAL:
            found.pinned = None
            found.timeline.force(status, now)
        elif status is not None:
            timeline = found.timeline
            if status != "scheduling" and timeline.started_at(now) is None:
                timeline.started_override = now
            timeline.forced = timeline.forced_at = None
            found.pinned = status
        if "input_values" in body:
            found.input_values = body["input_values"]
        if "release_session_after" in body:
            found.release_session_after = body["release_session_after"]
        found.patched.update({k: body[k] for k in PATCHABLE if k in body})
        for key in ("started_at", "ended_at"):
            if found.patched.get(key) is not None:
                found.patched[key] = v.stamp(found.patched[key])
        return json_response(self.run_json(found))

    async def _retry(self, request: web.Request) -> web.Response:
        body, issues = await self.body(request, v.RUN_RETRY, frozenset(), optional=True)
        issues = self._path_issues(request) + issues
        files: list[v.DecodedFile] = []
        if not issues:
            files, issues = v.decode_files(body)
        if issues:
            return self.invalid(issues)
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        now = self.now()
        status = self.status_of(found, now)
        if status not in TERMINAL:
            return self.detail(
                409,
                f"Run is {status}; only terminal runs "
                "(success, task_failed, error, cancelled) can be retried",
            )
        found.timeline.restart(now, self.take_plan())
        found.pinned = None
        for key in CLEARED_BY_RETRY:
            found.patched.pop(key, None)
        if body.get("input_values") is not None:
            found.input_values = body["input_values"]
        self._give_secrets(found, body.get("sensitive_input_values"))
        self._give_files(found, files)
        if body.get("machine_id") is not None:
            found.machine_id = v.uid(body["machine_id"])
        if body.get("pool_ids") is not None:
            found.pool_ids = v.uids(body["pool_ids"])
        for key in ("session_alias", "release_session_after", "is_priority"):
            if body.get(key) is not None:
                setattr(found, key, body[key])
        if body.get("reuse_session") is False and not body.get("session_id"):
            found.session_id = found.session_alias = None
        if body.get("session_id"):
            found.session_id = v.uid(body["session_id"])
        elif body.get("start_session"):
            found.session_id = str(uuid.uuid4())
        return json_response(self.run_json(found))

    async def _delete(self, request: web.Request) -> web.Response:
        if issues := self._path_issues(request):
            return self.invalid(issues)
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        del self.runs[found.id]
        self.vault.pop(found.id, None)
        for attachment_id in found.input_attachment_ids or ():
            self.attachments.pop(attachment_id, None)
        return web.Response(status=204)


def _created(run: EmulatedRun) -> datetime:
    return datetime.fromtimestamp(run.timeline.created, UTC)
