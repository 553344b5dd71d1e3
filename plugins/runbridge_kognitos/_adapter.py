"""The Kognitos REST API v2 adapter: runs of a process of an agent, paged by token."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from runbridge import (
    Adapter,
    AuthError,
    Call,
    Capabilities,
    ConfigError,
    ErrorInfo,
    ErrorMap,
    Failure,
    FailureKind,
    File,
    IdFormat,
    InvalidRequest,
    NotFound,
    Page,
    Pagination,
    RateLimited,
    Run,
    RunFilter,
    RunRef,
    RunRequest,
    RunStatus,
    StatusMap,
)

from ._target import ID_PATTERN, Target, describe_problem
from ._wire import WireCreate, WireList, WireRun, converter, create_body, named_values

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
        "Running": RunStatus.RUNNING,
        "Succeeded": RunStatus.SUCCEEDED,
        "Failed": RunStatus.FAILED,
        "TimedOut": RunStatus.FAILED,
        "Cancelled": RunStatus.CANCELLED,
    }
)
"""Native run statuses; anything else reads as ``unknown``."""

NAME_LIMIT = 100
"""Longest run name the provider accepts."""

_TAG = re.compile(r" ~rb:([0-9a-f]{16})\Z")
"""The client token the core's exactly-once create puts at the end of a run name."""

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


def default_name(target: Target, now: datetime | None = None) -> str:
    """A readable run name for callers who give none: process id and UTC start time."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"runbridge {target.process_id} {stamp}"[:NAME_LIMIT]


class KognitosAdapter(Adapter):
    """Kognitos REST API v2: ``x-api-key`` auth, process/agent targets, token pagination."""

    name = PROVIDER
    id_format = IdFormat.regex("kognitos id", ID_PATTERN)
    default_base_url = REGIONS["us"]
    settings_type = KognitosSettings
    emulator = "runbridge_kognitos:KognitosEmulator"
    capabilities = Capabilities.of(
        native={"create", "get", "list"},
        emulated={"create_many", "retry"},
        pagination=Pagination.TOKEN,
        max_page_size=100,
        filters={"target"},
        secrets=False,
    )
    errors = ErrorMap(
        statuses={
            400: InvalidRequest,
            401: AuthError,
            403: AuthError,
            404: NotFound,
            422: InvalidRequest,
            429: RateLimited,
        }
    )
    """Statuses as documented; 5xx falls back to ``ProviderUnavailable``."""

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

    def check_options(self, operation: str, options: Mapping[str, Any]) -> None:
        """Kognitos runs take no provider options."""
        if operation == "create" and options:
            option = sorted(options)[0]
            raise InvalidRequest(
                f"{self.name} knows no option {option!r}",
                field=option,
                provider=self.name,
                operation=operation,
            )

    def tag(self, request: RunRequest, token: str) -> RunRequest | None:
        """Put the client token at the end of the run name (the only free text kept).

        The name is shortened if needed to stay within 100 characters; ``Run.name``
        shows it without the token.
        """
        target = Target.parse(request.target)
        if target is None or (
            request.name is not None and not 1 <= len(request.name) <= NAME_LIMIT
        ):
            return None  # create() reports the bad input
        suffix = f" ~rb:{token}"
        base = request.name if request.name is not None else default_name(target)
        return attrs.evolve(request, name=base[: NAME_LIMIT - len(suffix)] + suffix)

    def token_of(self, run: Run) -> str | None:
        """The client token in the run's name."""
        name = run.raw.get("name")
        match = _TAG.search(name) if isinstance(name, str) else None
        return match.group(1) if match else None

    def retry_request(self, run: Run) -> RunRequest:
        """A new run of the same target with the same inputs, files and name."""
        base = super().retry_request(run)
        # Retrying with empty inputs because the provider did not echo them would start
        # a different run; only retry when the run says what its inputs were.
        if "inputs" not in run.raw:
            raise InvalidRequest(
                f"cannot retry run {run.id}: {self.name} did not report its inputs; "
                "start a new run with create() instead",
                field="inputs",
                provider=self.name,
                operation="retry",
            )
        file_ids = run.raw.get("file_ids") or ()
        files = tuple(File(name=str(fid), id=str(fid)) for fid in file_ids)
        return attrs.evolve(base, files=files)

    def to_run(self, call: Call, payload: Any) -> Run:
        """A canonical run from a run object."""
        wire = call.structure(converter, payload, WireRun)
        target = Target(wire.agent_id, wire.process_id, wire.stage)
        status = STATUSES.canonical(wire.status)
        failure = None
        if status is RunStatus.FAILED:
            message, code = _failure_message(wire.error)
            kind: FailureKind = "timeout" if wire.status == "TimedOut" else "task"
            failure = Failure(kind, message, code)
        return Run(
            ref=RunRef(self.name, wire.id),
            status=status,
            native_status=wire.status,
            target=str(target),
            name=_TAG.sub("", wire.name) if isinstance(wire.name, str) else wire.name,
            inputs=dict(wire.inputs or {}),
            outputs=dict(wire.outputs) if wire.outputs is not None else None,
            failure=failure,
            created_at=wire.created_at,
            started_at=wire.started_at,
            finished_at=wire.finished_at,
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
        if request.options:
            option = sorted(request.options)[0]
            raise call.invalid(f"{self.name} knows no option {option!r}", field=option)
        name = request.name if request.name is not None else default_name(target)
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
        response = await call.request("POST", "/runs", json=body, expect=(200, 201, 202))
        return self.to_run(call, response.data)

    async def get(self, call: Call, run_id: str) -> Run:
        """``GET /runs/{run_id}``."""
        response = await call.request("GET", call.path("/runs/{}", run_id))
        return self.to_run(call, response.data)

    async def list_page(
        self, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
    ) -> Page:
        """``GET /runs`` of the target's process; the cursor is the continuation token."""
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
        if limit is not None:
            params["limit"] = str(limit)
        if cursor is not None:
            params["continuation_token"] = cursor
        response = await call.request("GET", "/runs", params=params)
        wire = call.structure(converter, response.data, WireList)
        items = tuple(self.to_run(call, item) for item in wire.items or ())
        return Page(items, wire.continuation_token)
