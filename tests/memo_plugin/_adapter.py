"""The memo adapter, written as a third party would write one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

import runbridge
from runbridge import (
    Capabilities,
    Failure,
    Page,
    Pagination,
    Progress,
    Run,
    RunRef,
    RunRequest,
    RunStatus,
    RunUpdate,
)
from runbridge.adapter import (
    Adapter,
    Call,
    ErrorInfo,
    ErrorMap,
    IdFormat,
    Option,
    Options,
    RunFilter,
    StatusMap,
    make_converter,
    secret_setting,
)

STATUSES = StatusMap(
    {
        "QUEUED": RunStatus.PENDING,
        "ACTIVE": RunStatus.RUNNING,
        "DONE": RunStatus.SUCCEEDED,
        "ERROR": RunStatus.FAILED,
        "TIMEOUT": RunStatus.FAILED,
        "STOPPED": RunStatus.CANCELLED,
    },
    failures={"TIMEOUT": "timeout"},
)


@attrs.frozen
class WireError:
    kind: str = "task"
    message: str | None = None
    code: str | None = None


@attrs.frozen
class WireRun:
    id: str
    state: str
    created: datetime
    target: str | None = None
    name: str | None = None
    inputs: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: WireError | None = None
    started: datetime | None = None
    finished: datetime | None = None
    cost: Decimal | None = None
    steps_done: int | None = None
    steps_total: int | None = None


@attrs.frozen
class WireList:
    runs: list[dict[str, Any]]
    next: str | None = None


converter = make_converter()
"""Memo's own cattrs converter: structuring hooks never go on the global one."""


@attrs.define
class MemoSettings:
    region: str = "local"
    signing_key: str | None = secret_setting()


class MemoAdapter(Adapter):
    """The memo provider."""

    name = "memo"
    id_format = IdFormat.regex("memo id", r"[a-z0-9]{12}")
    default_base_url = "https://memo.invalid"
    settings_type = MemoSettings
    emulator = "memo_plugin.emulator:MemoEmulator"
    capabilities = Capabilities.of(
        native={"create", "get", "list", "update", "cancel", "delete"},
        emulated={"create_many", "retry"},
        pagination=Pagination.CURSOR,
        max_page_size=50,
        filters={"status"},
        secrets=False,  # memo has no sensitive inputs
    )
    statuses = STATUSES
    errors = ErrorMap(
        codes={"ALREADY_FINISHED": runbridge.Conflict, "BAD_CURSOR": runbridge.InvalidRequest},
    )
    update_fields = frozenset({"status", "inputs"})
    update_options = Options({"note": Option(str, "a free-text note on the run")})
    converter = converter
    wire_run = WireRun

    def parse_error(self, status: int, body: Any) -> ErrorInfo:
        err = body.get("error") if isinstance(body, Mapping) else None
        if not isinstance(err, Mapping):
            return ErrorInfo()
        return ErrorInfo(message=err.get("message"), code=err.get("code"), field=err.get("field"))

    def run_from(self, wire: WireRun, ref: RunRef, payload: Mapping[str, Any]) -> Run:
        status = self.statuses.canonical(wire.state)
        failure = None
        if status is RunStatus.FAILED:
            kind = "timeout" if wire.state == "TIMEOUT" else "task"
            err = wire.error or WireError()
            failure = Failure(kind, err.message, err.code)
        progress = None
        if wire.steps_done is not None:
            progress = Progress(wire.steps_done, wire.steps_total)
        return Run(
            ref=ref,
            status=status,
            native_status=wire.state,
            target=wire.target,
            name=wire.name,
            inputs=wire.inputs or {},
            outputs=wire.result,
            failure=failure,
            created_at=wire.created,
            started_at=wire.started,
            finished_at=wire.finished,
            cost=wire.cost,
            progress=progress,
            raw=payload,
        )

    async def create(self, call: Call, request: RunRequest) -> Run:
        if request.name is not None and not 1 <= len(request.name) <= 100:
            raise call.invalid("name must be 1-100 characters", field="name")
        body = {"target": request.target, "inputs": dict(request.inputs), "name": request.name}
        response = await call.request("POST", "/runs", json=body, expect=(201,))
        return self.to_run(call, response.data)

    async def get(self, call: Call, run_id: str) -> Run:
        response = await call.request("GET", call.path("/runs/{}", run_id))
        return self.to_run(call, response.data)

    async def list_page(
        self, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
    ) -> Page:
        params: dict[str, str] = {}
        if limit is not None:
            params["limit"] = str(limit)
        if cursor is not None:
            params["after"] = cursor
        if len(filters.statuses) == 1:
            natives = STATUSES.natives(next(iter(filters.statuses)))
            if len(natives) == 1:
                params["state"] = natives[0]
        response = await call.request("GET", "/runs", params=params)
        wire = call.structure(converter, response.data, WireList)
        return Page(tuple(self.to_run(call, item) for item in wire.runs), wire.next)

    async def update(self, call: Call, run_id: str, update: RunUpdate) -> Run:
        body: dict[str, Any] = dict(update.options)
        if update.status is not None:
            body["state"] = STATUSES.natives(update.status)[0]
        if update.inputs is not None:
            body["inputs"] = dict(update.inputs)
        response = await call.request("PATCH", call.path("/runs/{}", run_id), json=body)
        return self.to_run(call, response.data)

    async def cancel(self, call: Call, run_id: str) -> Run:
        response = await call.request("POST", call.path("/runs/{}/cancel", run_id))
        return self.to_run(call, response.data)

    async def delete(self, call: Call, run_id: str) -> None:
        await call.request("DELETE", call.path("/runs/{}", run_id), expect=(204,))
