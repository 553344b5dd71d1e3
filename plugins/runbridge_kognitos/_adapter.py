"""The Kognitos REST API v2 adapter: runs of a process of an agent, paged by token."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

import attrs

from runbridge import (
    Capabilities,
    ConfigError,
    Failure,
    Page,
    Pagination,
    Run,
    RunRef,
    RunRequest,
    RunStatus,
)
from runbridge.adapter import (
    Adapter,
    Call,
    ErrorInfo,
    IdFormat,
    RunFilter,
    StatusMap,
    new_run,
    parse_timestamp,
)

from ._cursor import ListCursor
from ._names import NAME_LIMIT, default_name, display_name, generated_name, parse_generated
from ._target import ID_PATTERN, Target, describe_problem
from ._wire import WireCreate, WireList, WireRun, by_name, create_body, named_values

PROVIDER = "kognitos"

REGIONS: Mapping[str, str] = {
    "us": "https://rest-api.app.kognitos.com/v2",
    "eu": "https://rest-api.eu.kognitos.com/v2",
    "uk": "https://rest-api.uk.kognitos.com/v2",
}
"""The base URL of each region's host."""

STATUSES = StatusMap(
    {
        "Created": RunStatus.PENDING,
        "Pending": RunStatus.PENDING,
        "Queued": RunStatus.PENDING,
        "Running": RunStatus.RUNNING,
        "Executing": RunStatus.RUNNING,
        "InProgress": RunStatus.RUNNING,
        "Stopping": RunStatus.RUNNING,
        "Stopped": RunStatus.RUNNING,
        "Paused": RunStatus.RUNNING,
        "Waiting": RunStatus.RUNNING,
        "AwaitingGuidance": RunStatus.RUNNING,
        "Succeeded": RunStatus.SUCCEEDED,
        "Completed": RunStatus.SUCCEEDED,
        "Complete": RunStatus.SUCCEEDED,
        "Success": RunStatus.SUCCEEDED,
        "Failed": RunStatus.FAILED,
        "Failure": RunStatus.FAILED,
        "Error": RunStatus.FAILED,
        "Errored": RunStatus.FAILED,
        "TimedOut": RunStatus.FAILED,
        "Timeout": RunStatus.FAILED,
        "Cancelled": RunStatus.CANCELLED,
        "Canceled": RunStatus.CANCELLED,
        "Aborted": RunStatus.CANCELLED,
        "Archived": RunStatus.CANCELLED,
    },
    failures={"TimedOut": "timeout", "Timeout": "timeout"},
    holds={
        "Stopped": "paused",
        "Paused": "paused",
        "Waiting": "person",
        "AwaitingGuidance": "person",
    },
    loose=True,
)
"""Native run statuses. The docs list none (the rendered enum is empty): the overview's
table (``Pending``, ``Running``, ``Succeeded``, ``Failed``, ``Cancelled``, ``TimedOut``)
and ``Created`` are the facts' ASSUMPTION, and the likely other spellings are read too,
in any case and with any separators (``COMPLETED``, ``timed_out``). ``Stopped`` and
``Paused`` hold a run as paused, ``Waiting`` and ``AwaitingGuidance`` as waiting for a
person; anything else reads as ``unknown``."""

_TO_CANONICAL = STATUSES.to_canonical
_FAILED = RunStatus.FAILED  # enum members read off their class cost more on Python 3.11

REPORTS = frozenset({"target", "name", "outputs"})
"""What the documented run object carries of the optional ``Run`` fields. ``inputs``,
``started_at`` and ``finished_at`` are read too when a server sends them, but the
documented schema has none of them."""

NOTES = {
    "create": (
        "no idempotency key: after a lost response the run is looked up among the "
        "process's runs created since, by the caller's exact name (or the token in the "
        "name runbridge generates when given none); several matches raise CreateUnconfirmed"
    ),
    "list": "needs target='<agent_id>/<process_id>[@Draft]'; other filters apply client-side",
    "retry": (
        "a new run; run objects do not report their inputs, so only runs this client "
        "created can be retried, others raise UnsupportedOperation before any request"
    ),
}
"""Caveats of the operations, as ``Capabilities.notes``."""

# Provider field names in error details, as the canonical names callers use.
_FIELDS = {
    "agent_id": "target",
    "process_id": "target",
    "stage": "target",
    "continuation_token": "cursor",
    "limit": "page_size",
    "file_ids": "files",
}


@attrs.define
class KognitosSettings:
    """Settings of the Kognitos adapter."""

    region: str = "us"
    """Which Kognitos host to talk to: ``us`` (default), ``eu`` or ``uk``."""


def _failure_message(error: Any) -> tuple[str | None, str | None]:
    # The run object documents no error field; read the likely shapes when one appears.
    if isinstance(error, str):
        return error, None
    if isinstance(error, Mapping):
        message, code = error.get("message"), error.get("code")
        return (
            message if isinstance(message, str) else None,
            code if isinstance(code, str) else None,
        )
    return None, None


class KognitosAdapter(Adapter):
    """Kognitos REST API v2: ``x-api-key`` auth, process/agent targets, token pagination."""

    name = PROVIDER
    id_format = IdFormat.regex("kognitos id", ID_PATTERN)
    default_base_url = REGIONS["us"]
    settings_type = KognitosSettings
    emulator = "runbridge_kognitos.emulator:KognitosEmulator"
    capabilities = Capabilities.of(
        native={"create", "get", "list"},
        emulated={"create_many", "retry"},
        pagination=Pagination.TOKEN,
        max_page_size=100,
        filters={"target"},
        secrets=False,
        reports=REPORTS,
        newest_first=True,  # undocumented; the provider facts assume it
        notes=NOTES,
    )

    statuses = STATUSES
    # Responses decode straight into ``WireRun``; ``run_from`` translates one.
    wire_run = WireRun
    update_fields = frozenset()
    retry_from_payload = False
    """A run object does not say what its inputs were: retry only what this client sent."""

    settings: KognitosSettings

    def __init__(self, settings: KognitosSettings | None = None) -> None:
        super().__init__(settings)
        # Checked here so that a region set after construction is caught too.
        if self.settings.region not in REGIONS:
            raise ConfigError(
                f"unknown region {self.settings.region!r}; use one of {', '.join(REGIONS)}",
                field="region",
                provider=self.name,
            )

    def base_url(self) -> str:
        """The host of the configured region."""
        return REGIONS[self.settings.region]

    def canonical_target(self, target: str) -> str:
        """``a/p@Published`` and ``a/p`` are one target; spell it the short way."""
        parsed = Target.parse(target)
        return str(parsed) if parsed is not None else target

    def auth_headers(self, token: str) -> Mapping[str, str]:
        """Kognitos reads the API key from ``x-api-key``."""
        return {"x-api-key": token}

    def parse_error(self, status: int, body: Any) -> ErrorInfo:
        """Read ``{status_code, message, details}``; the first detail names the field."""
        if not isinstance(body, Mapping):
            return ErrorInfo()
        message = body.get("message")
        message = message if isinstance(message, str) and message else None
        details = body.get("details")
        items = [d for d in details if isinstance(d, Mapping)] if isinstance(details, list) else []
        named = [d for d in items if isinstance(d.get("field"), str)]
        detail: Mapping[str, Any] = (named or items or [{}])[0]
        field, note = detail.get("field"), detail.get("message")
        field = field if isinstance(field, str) else None
        if isinstance(note, str):
            where = f"{field}: " if field else ""
            message = f"{message or 'invalid input'}: {where}{note}"
        if message is None:
            return super().parse_error(status, body)
        return ErrorInfo(message=message, field=_FIELDS.get(field, field) if field else None)

    def tag(self, request: RunRequest, token: str) -> RunRequest | None:
        """A caller's name goes out unchanged; without one, a generated name carries ``token``.

        The lost-create lookup then matches the caller's name exactly (``claims``),
        or the token in the generated name.
        """
        target = Target.parse(request.target)
        if target is None:
            return None  # create() reports the bad target
        if request.name is not None:
            return request
        return attrs.evolve(request, name=generated_name(target.process_id, token))

    def token_of(self, run: Run) -> str | None:
        """The client token in a name runbridge generated, if the run has one."""
        parsed = parse_generated(run.raw.get("name"))
        return parsed[1] if parsed else None

    def claims(self, run: Run, request: RunRequest, token: str) -> bool:
        """Whether ``run`` bears the name ``request`` was sent with (exactly, as stored)."""
        parsed = parse_generated(request.name)
        if parsed is not None and parsed[1] == token:
            return self.token_of(run) == token
        return request.name is not None and run.raw.get("name") == request.name

    def run_from(self, wire: WireRun, ref: RunRef, payload: Mapping[str, Any]) -> Run:
        """A canonical run from a run object."""
        native = wire.status
        status = _TO_CANONICAL.get(native) or STATUSES.canonical(native)
        failure = None
        if status is _FAILED:
            message, code = _failure_message(wire.error)
            failure = Failure(STATUSES.failure_kind(native), message, code)
        target = f"{wire.agent_id}/{wire.process_id}"  # spell(), without the call
        if wire.stage != "Published":
            target = f"{target}@{wire.stage}"
        name, inputs, outputs = wire.name, wire.inputs, wire.outputs
        # msgspec reads the timestamps as datetimes already: only one that is not in UTC
        # (or has no offset) goes through ``parse_timestamp``.
        created, started, finished = wire.created_at, wire.started_at, wire.finished_at
        return new_run(
            ref,
            status,
            native_status=native,
            target=target,
            name=display_name(name) if " ~rb:" in name else name,
            inputs=by_name(inputs) if inputs else None,
            outputs=by_name(outputs) if outputs is not None else None,
            failure=failure,
            created_at=created if created.tzinfo is UTC else parse_timestamp(created),
            started_at=started
            if started is None or started.tzinfo is UTC
            else parse_timestamp(started),
            finished_at=finished
            if finished is None or finished.tzinfo is UTC
            else parse_timestamp(finished),
            raw=payload,
        )

    def _target(self, call: Call, text: object) -> Target:
        target = Target.parse(text)
        if target is None:
            raise call.invalid(describe_problem(text), field="target")
        return target

    async def create(self, call: Call, request: RunRequest) -> Run:
        """``POST /runs`` with inputs as a name/value list and files as ``file_ids``."""
        target = self._target(call, request.target)
        name = request.name if request.name is not None else default_name(target.process_id)
        if not 1 <= len(name) <= NAME_LIMIT:
            raise call.invalid(f"name must be 1-{NAME_LIMIT} characters", field="name")
        file_ids = []
        for file in request.files:
            if file.id is None:
                raise call.invalid(
                    f"file {file.name!r} has inline content; this adapter does not upload "
                    "through /v2/files: upload it first and pass File(name, id='s3://...')",
                    field="files",
                )
            file_ids.append(file.id)
        body = create_body(
            WireCreate(
                agent_id=target.agent_id,
                process_id=target.process_id,
                name=name,
                stage=target.stage,
                inputs=named_values(request.inputs),
                file_ids=file_ids or None,
            )
        )
        response = await call.request(
            "POST", "/runs", json=body, expect=(200, 201, 202), into=WireRun
        )
        return self.to_run(call, response.data, response.raw())

    async def get(self, call: Call, run_id: str) -> Run:
        """``GET /runs/{run_id}``."""
        response = await call.request("GET", call.path("/runs/{}", run_id), into=WireRun)
        return self.to_run(call, response.data, response.raw())

    async def list_page(
        self, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
    ) -> Page:
        """``GET /runs`` of the target's process; the cursor is the continuation token,
        with the ``limit`` it belongs to (``ListCursor``)."""
        if filters.target is None:
            raise call.invalid(
                f"{self.name} lists the runs of one process: pass "
                "target='<agent_id>/<process_id>[@Draft|@Published]'",
                field="target",
            )
        target = self._target(call, filters.target)
        params = {
            "agent_id": target.agent_id,
            "process_id": target.process_id,
            "stage": target.stage,
        }
        at = ListCursor.start(limit) if cursor is None else ListCursor.decode(cursor)
        if at is None:
            raise call.invalid("cursor is not a Kognitos list cursor", field="cursor")
        # A token is sent with the limit it was made with, whatever the page size now.
        if at.limit is not None:
            params["limit"] = str(at.limit)
        if at.token is not None:
            params["continuation_token"] = at.token
        response = await call.request("GET", "/runs", params=params, into=WireList)
        wire: WireList = response.data
        items = wire.items or []
        # Cut positions, not runs: each run's raw payload is found by its place in the body.
        kept, following = at.cut(range(len(items)), limit, wire.continuation_token)
        to_run, raw = self.to_run, response.raw
        runs = tuple(to_run(call, items[n], raw("items", n)) for n in kept)
        return Page(runs, following.encode() if following is not None else None)
