"""Acme Jobs, served from memory exactly as Acme documents it.

The documented API, restated here (an emulator never imports its adapter):

- ``Authorization: Bearer <key>``; errors ``{"fault": {"code", "reason"}}``.
- ``POST /v1/jobs`` ``{"task", "params", "secrets"?, "label"?}`` -> 201 job; a
  repeated ``Idempotency-Key`` header answers with the job that key created.
  ``secrets`` go to a vault: jobs never show them.
- ``GET /v1/jobs/{id}`` -> job; ``POST /v1/jobs/{id}/abort`` -> job, or 409
  ``job_finished``.
- ``GET /v1/jobs?page=&per_page=&task=`` -> ``{"jobs": [...], "total": n}``,
  newest first; ``page`` from 1, ``per_page`` 1-50 (default 20).
- A job: ``{"id": int, "task", "label", "state", "params", "result", "failure":
  {"code", "reason"} | null, "created_at", "finished_at"}``; states ``queued
  working paused done failed crashed timed_out aborted``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from typing import Any, ClassVar

from aiohttp import web

from runbridge.emulation import (
    BearerAuth,
    CreatedRun,
    Emulator,
    NativeStatuses,
    Paging,
    RunStore,
    Timeline,
    iso,
    json_response,
    read_json,
)

TASKS = ("resize", "transcode")
PER_PAGE, MAX_PER_PAGE = 20, 50
FAILED = ("failed", "crashed", "timed_out")
CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 409: "conflict"}
PAGING = Paging.pages()  # ?page=1, 2, ...


@dataclasses.dataclass
class Job:
    id: str
    task: str
    label: str | None
    params: dict[str, Any]
    timeline: Timeline


class AcmeEmulator(Emulator):
    """Serves the Acme Jobs API from memory."""

    provider = "acme"
    auth = BearerAuth()
    statuses = NativeStatuses(
        pending=("queued",),
        running=("working",),
        succeeded="done",
        failed={"task": "failed", "system": "crashed", "timeout": "timed_out"},
        cancelled="aborted",
        extra={"paused": "running"},  # documented, but the clock never pauses a job
    )
    secret_fields = frozenset({"secrets"})
    status_field = "state"  # what fault profiles need to garble jobs
    run_keys = frozenset({"task"})
    optional_fields = frozenset({"label", "result", "failure", "finished_at"})
    operations: ClassVar[Mapping[tuple[str, str], str]] = {
        ("POST", "/v1/jobs"): "create",
        ("GET", "/v1/jobs"): "list",
        ("GET", "/v1/jobs/{id}"): "get",
        ("POST", "/v1/jobs/{id}/abort"): "cancel",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        ids = itertools.count(1)
        self.runs: RunStore[Job] = RunStore(
            self,
            order=lambda job: (-job.timeline.created, -int(job.id)),  # newest first
            mint=lambda: str(next(ids)),
        )
        self.vault: dict[str, dict[str, Any]] = {}

    @property
    def default_target(self) -> str:
        return "resize"

    def unknown_id(self) -> str:
        return "999999999"

    def secrets_of(self, run_id: str) -> dict[str, Any] | None:
        return dict(self.vault.get(run_id, {}))

    def error_body(
        self, status: int, message: str, *, code: str | None = None, details: Any = None
    ) -> Any:
        default = CODES.get(status, "unavailable" if status >= 500 else "error")
        return {"fault": {"code": code or default, "reason": message}}

    def target_key(self, target: str) -> str | None:
        return target if target in TASKS else None

    def seed_run(
        self,
        target: str,
        timeline: Timeline,
        *,
        inputs: dict[str, Any],
        name: str | None,
        options: dict[str, Any],
    ) -> str:
        if options:
            raise TypeError(f"an Acme job has no field {sorted(options)[0]!r}")
        return self.runs.add(Job(self.runs.new_id(), target, name, inputs, timeline)).id

    def to_json(self, job: Job) -> dict[str, Any]:
        now = self.now()
        state = self.native_status(job.timeline, now)
        result = None
        if state == "done":
            planned = job.timeline.plan.outputs
            result = planned if planned is not None else {"echo": job.params}
        reason = job.timeline.plan.message or f"job {state}"
        failure = {"code": state, "reason": reason} if state in FAILED else None
        return {
            "id": int(job.id),
            "task": job.task,
            "label": job.label,
            "state": state,
            "params": job.params,
            "result": result,
            "failure": failure,
            "created_at": iso(job.timeline.created),
            "finished_at": iso(job.timeline.finished_at(now)),
        }

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/jobs", self._create)
        app.router.add_get("/v1/jobs", self._list)
        app.router.add_get("/v1/jobs/{id}", self._get)
        app.router.add_post("/v1/jobs/{id}/abort", self._abort)

    async def _create(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if (job := self.runs.by_key(key)) is not None:
            return json_response(self.to_json(job), status=201)
        try:
            body = await read_json(request)
        except ValueError as exc:
            return self.error(400, str(exc))
        if not isinstance(body, dict) or body.get("task") not in TASKS:
            return self.error(422, f"task must be one of {', '.join(TASKS)}", code="unknown_task")
        params, secrets = body.get("params") or {}, body.get("secrets") or {}
        label = body.get("label")
        if not (isinstance(params, dict) and isinstance(secrets, dict)):
            return self.error(422, "params and secrets must be objects", code="invalid")
        if label is not None and not (isinstance(label, str) and 1 <= len(label) <= 100):
            return self.error(422, "label must be 1-100 characters", code="invalid")
        # Now, with the plan a test queued for this task (or any), if any.
        timeline = self.runs.timeline(body["task"])
        job = Job(self.runs.new_id(), body["task"], label, params, timeline)
        self.runs.add(job, key=key)  # the key finds this job again
        self.vault[job.id] = secrets
        self.record_created(  # emulator.created, for tests: secrets by name only
            CreatedRun(
                id=job.id, target=job.task, inputs=params, name=label, secrets=tuple(secrets)
            )
        )
        return json_response(self.to_json(job), status=201)

    async def _get(self, request: web.Request) -> web.Response:
        job = self.runs.get(request.match_info["id"])
        if job is None:
            return self.error(404, "no such job", code="job_not_found")
        return json_response(self.to_json(job))

    async def _abort(self, request: web.Request) -> web.Response:
        job = self.runs.get(request.match_info["id"])
        if job is None:
            return self.error(404, "no such job", code="job_not_found")
        if job.timeline.phase(self.now()) == "finished":
            return self.error(409, f"job {job.id} has finished", code="job_finished")
        job.timeline.force("aborted", self.now())
        return json_response(self.to_json(job))

    async def _list(self, request: web.Request) -> web.Response:
        try:
            page = int(request.query.get("page", "1"))
            per_page = int(request.query.get("per_page", str(PER_PAGE)))
        except ValueError:
            return self.error(400, "page and per_page must be integers")
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            return self.error(400, f"page must be 1 or more, per_page 1-{MAX_PER_PAGE}")
        task = request.query.get("task")
        jobs = self.runs.page(
            PAGING, limit=per_page, cursor=page, where=lambda job: task in (None, job.task)
        )
        listed = [self.to_json(job) for job in jobs.items]
        return json_response({"jobs": listed, "total": jobs.total})
