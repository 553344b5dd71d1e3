"""A plugin written against runbridge 0.1.0, as its guide said, and left untouched since.

It is the "Acme" adapter of 0.1.0's ``docs/adapter-authoring.md`` (sections 1-3),
filled in the way 0.1.0's worked example (``tests/memo_provider.py``) filled it
in: names imported from ``runbridge`` itself, attrs wire classes and a converter
of its own, ``to_run`` overridden. ``tests/test_deprecations.py`` checks that it
still imports, with a ``DeprecationWarning`` per moved name, and that what 0.2
asks of it on top is named where it fails. Do not modernise it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

import runbridge
from runbridge import Adapter, Capabilities, ErrorMap, IdFormat, Pagination, RunStatus, StatusMap

STATUSES = StatusMap(
    {
        "QUEUED": RunStatus.PENDING,
        "ACTIVE": RunStatus.RUNNING,
        "DONE": RunStatus.SUCCEEDED,
        "ERROR": RunStatus.FAILED,
        "STOPPED": RunStatus.CANCELLED,
    }
)  # any other value becomes RunStatus.UNKNOWN, never an exception


@attrs.frozen
class WireRun:
    id: str
    state: str
    created: datetime
    target: str | None = None
    inputs: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    finished: datetime | None = None


@attrs.frozen
class WireList:
    runs: list[dict[str, Any]]
    next: str | None = None


converter = runbridge.make_converter()


@attrs.define
class AcmeSettings:
    region: str = "eu"
    signing_key: str | None = runbridge.secret_setting()


class AcmeAdapter(Adapter):
    name = "oldacme"  # used in refs "oldacme:<id>" and config
    id_format = IdFormat.regex("acme id", r"[a-z0-9]{12}")  # or runbridge.UUID_FORMAT
    default_base_url = "https://api.acme.example"
    emulator = "old_plugin.emulator:AcmeEmulator"  # import path of your emulator
    settings_type = AcmeSettings
    capabilities = Capabilities.of(
        native={"create", "get", "list", "cancel"},
        emulated={"create_many", "retry"},  # the core does these for you
        pagination=Pagination.CURSOR,
        max_page_size=50,
        filters={"status"},  # filters the server can apply
        reports={"target", "inputs", "outputs", "finished_at"},  # optional Run fields you fill
        newest_first=True,  # list_page returns newest runs first
        notes={},  # caveats per operation, shown by providers()
    )
    errors = ErrorMap(  # error mapping as data
        statuses={402: runbridge.ProviderUnavailable},
        codes={"ALREADY_FINISHED": runbridge.Conflict},
    )

    def parse_error(self, status: int, body: Any) -> runbridge.ErrorInfo:
        err = body.get("error") if isinstance(body, Mapping) else None
        if not isinstance(err, Mapping):
            return runbridge.ErrorInfo()
        return runbridge.ErrorInfo(message=err.get("message"), code=err.get("code"))

    def to_run(self, call: runbridge.Call, payload: Any) -> runbridge.Run:
        wire = call.structure(converter, payload, WireRun)  # ResponseError if malformed
        status = STATUSES.canonical(wire.state)
        failure = None
        if status is RunStatus.FAILED:
            failure = runbridge.Failure("task", wire.error)
        return runbridge.Run(
            ref=runbridge.RunRef(self.name, wire.id),
            status=status,
            native_status=wire.state,
            target=wire.target,
            inputs=wire.inputs or {},
            outputs=wire.result,
            failure=failure,
            created_at=runbridge.parse_timestamp(wire.created),
            finished_at=runbridge.parse_timestamp(wire.finished),
            raw=payload,
        )

    async def create(self, call: runbridge.Call, request: runbridge.RunRequest) -> runbridge.Run:
        if request.files:
            raise call.invalid("Acme takes no files", field="files")
        body = {"target": request.target, "inputs": dict(request.inputs)}
        response = await call.request("POST", "/runs", json=body, expect=(201,))
        return self.to_run(call, response.data)

    async def get(self, call: runbridge.Call, run_id: str) -> runbridge.Run:
        response = await call.request("GET", call.path("/runs/{}", run_id))
        return self.to_run(call, response.data)

    async def list_page(
        self,
        call: runbridge.Call,
        filters: runbridge.RunFilter,
        cursor: str | None,
        limit: int | None,
    ) -> runbridge.Page:
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
        return runbridge.Page(tuple(self.to_run(call, item) for item in wire.runs), wire.next)

    async def cancel(self, call: runbridge.Call, run_id: str) -> runbridge.Run:
        response = await call.request("POST", call.path("/runs/{}/cancel", run_id))
        return self.to_run(call, response.data)


@runbridge.hookimpl
def runbridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    register(AcmeAdapter)
