"""The Acme Jobs adapter: runbridge's canonical runs to Acme's jobs and back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from runbridge import (
    Capabilities,
    Failure,
    Page,
    Pagination,
    RateLimited,
    Run,
    RunRef,
    RunRequest,
    RunStatus,
)
from runbridge.adapter import (
    Adapter,
    Call,
    ErrorInfo,
    ErrorMap,
    IdFormat,
    PageNumbers,
    RunFilter,
    StatusMap,
    parse_timestamp,
)

STATUSES = StatusMap(
    {
        "queued": RunStatus.PENDING,
        "working": RunStatus.RUNNING,
        "paused": RunStatus.RUNNING,  # documented; only an operator pauses a job
        "done": RunStatus.SUCCEEDED,
        "failed": RunStatus.FAILED,
        "crashed": RunStatus.FAILED,
        "timed_out": RunStatus.FAILED,
        "aborted": RunStatus.CANCELLED,
    },
    failures={"crashed": "system", "timed_out": "timeout"},  # the others fail as "task"
)

PAGES = PageNumbers(default_size=20)
"""Acme pages by number; the cursor is an offset, so a resumed listing may change size."""


class WireFailure(msgspec.Struct, gc=False):
    code: str | None = None
    reason: str | None = None


class WireJob(msgspec.Struct, gc=False):
    """A job as Acme sends it: only the fields this adapter reads."""

    number: int = msgspec.field(name="id")  # an integer on the wire
    task: str
    state: str
    created_at: datetime
    label: str | None = None
    params: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    failure: WireFailure | None = None
    finished_at: datetime | None = None

    @property
    def id(self) -> str:
        """The job's id as runbridge spells run ids: its decimal string."""
        return str(self.number)


class WireJobList(msgspec.Struct, gc=False):
    jobs: list[WireJob]
    total: int


class AcmeAdapter(Adapter):
    """Acme Jobs: bearer token, integer ids, page numbers, ``Idempotency-Key`` on creates."""

    name = "acme"
    id_format = IdFormat.regex("acme job", r"[1-9][0-9]{0,17}")
    default_base_url = "https://api.acme.example"
    emulator = "runbridge_acme.emulator:AcmeEmulator"
    capabilities = Capabilities.of(
        native={"create", "get", "list", "cancel"},
        emulated={"create_many", "retry"},  # the core builds these on create
        pagination=Pagination.PAGE,
        max_page_size=50,
        filters={"target"},  # Acme filters by task; the core applies the others
        secrets=True,  # Acme keeps "secrets" in a vault and never echoes them
        reports={"target", "name", "inputs", "outputs", "finished_at"},
        newest_first=True,
    )
    statuses = STATUSES
    errors = ErrorMap(codes={"quota_exceeded": RateLimited})  # sent with a 403
    idempotent_create = True  # a repeated Idempotency-Key answers with the first job
    wire_run = WireJob

    def parse_error(self, status: int, body: Any) -> ErrorInfo:
        """Acme's errors: ``{"fault": {"code": ..., "reason": ...}}``."""
        fault = body.get("fault") if isinstance(body, Mapping) else None
        if not isinstance(fault, Mapping):
            return ErrorInfo()
        code, reason = fault.get("code"), fault.get("reason")
        return ErrorInfo(
            message=reason if isinstance(reason, str) else None,
            code=code if isinstance(code, str) else None,
        )

    def run_from(self, wire: WireJob, ref: RunRef, payload: Mapping[str, Any]) -> Run:
        status = STATUSES.canonical(wire.state)  # an unknown state is UNKNOWN, never an error
        failure = None
        if status is RunStatus.FAILED:
            detail = wire.failure or WireFailure()
            failure = Failure(STATUSES.failure_kind(wire.state), detail.reason, detail.code)
        return Run(
            ref=ref,
            status=status,
            native_status=wire.state,
            target=wire.task,
            name=wire.label,
            inputs=wire.params or {},
            outputs=wire.result,
            failure=failure,
            created_at=parse_timestamp(wire.created_at),  # aware, in UTC
            finished_at=parse_timestamp(wire.finished_at),
            raw=payload,
        )

    async def create(self, call: Call, request: RunRequest) -> Run:
        if request.files:
            raise call.invalid("Acme jobs take no files", field="files")
        body: dict[str, Any] = {"task": request.target, "params": dict(request.inputs)}
        if request.secrets:
            body["secrets"] = dict(request.secrets)
        if request.name is not None:
            body["label"] = request.name
        response = await call.request(
            "POST",
            "/v1/jobs",
            json=body,
            headers={"Idempotency-Key": call.idempotency_key},
            expect=(201,),
            idempotent=True,  # the key makes a resend safe
            into=WireJob,
        )
        return self.to_run(call, response.data, response.raw())

    async def get(self, call: Call, run_id: str) -> Run:
        response = await call.request("GET", call.path("/v1/jobs/{}", run_id), into=WireJob)
        return self.to_run(call, response.data, response.raw())

    async def cancel(self, call: Call, run_id: str) -> Run:
        path = call.path("/v1/jobs/{}/abort", run_id)
        response = await call.request("POST", path, into=WireJob)
        return self.to_run(call, response.data, response.raw())

    async def list_page(
        self, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
    ) -> Page:
        at = PAGES.request(cursor, limit)  # page number, size, and runs to skip
        params = {"page": str(at.page), "per_page": str(at.size)}
        if filters.target is not None:
            params["task"] = filters.target
        response = await call.request("GET", "/v1/jobs", params=params, into=WireJobList)
        wire: WireJobList = response.data
        runs = tuple(  # each run's raw payload is the job at its place in the body
            self.to_run(call, wire.jobs[n], response.raw("jobs", n))
            for n in range(at.skip, len(wire.jobs))
        )
        return Page(runs, at.next_cursor(len(wire.jobs), total=wire.total), total=wire.total)
