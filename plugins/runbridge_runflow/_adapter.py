"""The Runflow adapter: Runflow's runs API in canonical form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs

import runbridge
from runbridge import (
    UUID_FORMAT,
    Adapter,
    BulkResult,
    Call,
    Capabilities,
    ErrorInfo,
    ErrorMap,
    Failure,
    FailureKind,
    Page,
    Pagination,
    Progress,
    Run,
    RunFilter,
    RunRef,
    RunRequest,
    RunStatus,
    RunUpdate,
    StatusMap,
    Support,
)

from ._batches import MAX_BATCH, create_in_batches
from ._target import FORMS, Target, parse_target, target_of
from ._wire import WirePage, WireRun, converter

STATUSES = StatusMap(
    {
        "queued": RunStatus.PENDING,
        "dispatching": RunStatus.PENDING,
        "running": RunStatus.RUNNING,
        "succeeded": RunStatus.SUCCEEDED,
        "partial_succeeded": RunStatus.SUCCEEDED,
        "failed": RunStatus.FAILED,
        "errored": RunStatus.FAILED,
        "canceled": RunStatus.CANCELLED,
        "cancelled": RunStatus.CANCELLED,
    }
)
"""``status_code`` values to canonical statuses; both spellings of cancelled."""

NATIVE_STATUS = {
    RunStatus.PENDING: "queued",
    RunStatus.RUNNING: "running",
    RunStatus.SUCCEEDED: "succeeded",
    RunStatus.FAILED: "failed",
    RunStatus.CANCELLED: "canceled",
}
"""The ``status_code`` an update sends for each canonical status."""

SYSTEM_STAGES = frozenset(
    {"dispatch", "dispatching", "provider", "infrastructure", "infra", "system", "internal"}
)
"""``failure_stage_code`` values that mean Runflow's side failed, not the task."""

PATCH_FIELDS = frozenset(
    {
        "status_code",
        "output",
        "duration_ms",
        "nodes_total",
        "nodes_completed",
        "cost",
        "started_at",
        "completed_at",
        "updated_at",
    }
)
"""Fields of ``PATCH /v1/runs/{id}``, as ``RunUpdate.options`` may set them."""

TOKEN_KEY = "runbridge_token"  # noqa: S105 - a metadata key, not a credential
"""Key of ``metadata`` that holds the exactly-once client token when ``client_ref`` is taken."""

NAME_KEY = "name"
"""Key of ``metadata`` that holds the canonical run name."""

CREATE_OPTIONS: Mapping[str, type] = {"metadata": Mapping, "callback_url": str, "client_ref": str}
"""Options ``create`` accepts, with their types; they become fields of the request body."""


@attrs.define
class RunflowSettings:
    """Runflow settings besides the token and the base URL."""

    organization_id: str | None = None
    """Sent as ``X-Organization-Id``; Runflow defaults to the key's organization."""
    admin_token: str | None = runbridge.secret_setting()
    """An admin (``rf_svc_*``) key; enables ``cancel`` through the admin endpoint."""


_CURSOR_PARAMS = ("pq", "from_prev")


def failure_kind(code: str | None, stage: str | None) -> FailureKind:
    """``timeout`` for a timeout code, ``system`` for a Runflow-side stage, else ``task``."""
    upper = (code or "").upper()
    if "TIMEOUT" in upper or "TIMED_OUT" in upper or upper == "DEADLINE_EXCEEDED":
        return "timeout"
    if stage is not None and stage.lower() in SYSTEM_STAGES:
        return "system"
    return "task"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _field_of(entry: Mapping[str, Any]) -> str | None:
    keys = ("loc", "field", "path", "param")
    loc = next((entry[k] for k in keys if entry.get(k) is not None), None)
    if isinstance(loc, str):
        loc = loc.split(".")
    if not isinstance(loc, list | tuple):
        return None
    parts = [str(p) for p in loc if isinstance(p, str | int) and not isinstance(p, bool)]
    # FastAPI-style locations start with where the value came from.
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or None


def _status_query(statuses: frozenset[RunStatus]) -> str | None:
    if not statuses or RunStatus.UNKNOWN in statuses:
        return None  # no native value means "unknown": filter client-side only
    natives = [n for n, s in STATUSES.to_canonical.items() if s in statuses]
    return " OR ".join(f"status_code:{n}" for n in natives)


class RunflowAdapter(Adapter):
    """Runflow (``api.runflow.io``): model and ComfyUI workflow runs."""

    name = "runflow"
    id_format = UUID_FORMAT
    default_base_url = "https://api.runflow.io"
    settings_type = RunflowSettings
    emulator = "runbridge_runflow:RunflowEmulator"
    capabilities = Capabilities.of(
        native={"create", "create_many", "get", "list", "update", "cancel"},
        emulated={"retry"},
        pagination=Pagination.CURSOR,
        max_page_size=500,
        filters={"status"},
        max_batch=MAX_BATCH,
        secrets=False,
    )
    errors = ErrorMap(
        statuses={402: runbridge.AuthError},
        codes={
            "UNAUTHORIZED": runbridge.AuthError,
            "PERMISSION_DENIED": runbridge.AuthError,
            "EMAIL_NOT_VERIFIED": runbridge.AuthError,
            "ORGANIZATION_MEMBERSHIP_REQUIRED": runbridge.AuthError,
            "ROLE_UNRESOLVED": runbridge.AuthError,
            "IMPERSONATION_READ_ONLY": runbridge.AuthError,
            "INSUFFICIENT_CREDIT": runbridge.AuthError,
            "RUN_NOT_FOUND": runbridge.NotFound,
            "RATE_LIMITED": runbridge.RateLimited,
            "CONFLICT": runbridge.Conflict,
            "MODEL_UNAVAILABLE": runbridge.ProviderUnavailable,
        },
    )

    settings: RunflowSettings

    def auth_headers(self, token: str) -> Mapping[str, str]:
        """Bearer auth, plus ``X-Organization-Id`` when an organization is configured."""
        headers = {"Authorization": f"Bearer {token}"}
        if self.settings.organization_id:
            headers["X-Organization-Id"] = self.settings.organization_id
        return headers

    def parse_error(self, status: int, body: Any) -> ErrorInfo:
        """Read ``{code, message, errors}``, or the SDK's ``{error: {code, message}}``."""
        if isinstance(body, str):
            return ErrorInfo(message=body[:500] or None)
        if not isinstance(body, Mapping):
            return ErrorInfo()
        nested = body.get("error")
        inner: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
        code = _text(body.get("code")) or _text(inner.get("code"))
        message = _text(body.get("message")) or _text(inner.get("message")) or _text(nested)
        errors = body.get("errors", inner.get("errors"))
        if not isinstance(errors, list):
            errors = body.get("detail") if isinstance(body.get("detail"), list) else []
        first = next((e for e in errors if isinstance(e, Mapping)), None)
        field = _field_of(first) if first is not None else None
        detail = _text(first.get("msg")) or _text(first.get("message")) if first else None
        if detail and detail != message:
            where = f"{field}: " if field else ""
            message = f"{message} ({where}{detail})" if message else f"{where}{detail}"
        return ErrorInfo(message=message, code=code, field=field)

    # -- translation ----------------------------------------------------------------

    def to_run(self, call: Call, payload: Any) -> Run:
        """A canonical run from a Runflow run record; ``ResponseError`` if unreadable."""
        if type(payload) is not dict and not isinstance(payload, Mapping):
            raise call.bad_response("expected a run object", body=payload)
        wire = call.structure(converter, payload, WireRun)
        run_id = self.id_format.normalize(wire.id)
        if run_id is None:
            raise call.bad_response(f"run id {wire.id[:64]!r} is not a UUID", body=payload)
        status = STATUSES.canonical(wire.status_code)
        failure = None
        if status is RunStatus.FAILED:
            error = payload.get("error")
            sdk: Mapping[str, Any] = error if isinstance(error, Mapping) else {}
            code = wire.failure_code or _text(sdk.get("code"))
            message = wire.failure_message or _text(sdk.get("message")) or _text(error)
            failure = Failure(failure_kind(code, wire.failure_stage_code), message, code)
        progress = None
        if wire.nodes_completed is not None or wire.nodes_total is not None:
            progress = Progress(wire.nodes_completed or 0, wire.nodes_total)
        finished_at = wire.completed_at
        if (
            finished_at is None
            and status.is_terminal
            and wire.started_at is not None
            and wire.duration_ms is not None
        ):
            try:
                finished_at = wire.started_at + timedelta(milliseconds=wire.duration_ms)
            except OverflowError:  # a nonsense duration: leave the end unknown
                finished_at = None
        return Run(
            ref=RunRef(self.name, run_id),
            status=status,
            native_status=wire.status_code,
            target=target_of(payload),
            name=_name_of(payload),
            inputs=wire.input or {},
            outputs=wire.output,
            failure=failure,
            created_at=wire.created_at,
            started_at=wire.started_at,
            finished_at=finished_at,
            cost=wire.cost,
            progress=progress,
            raw=payload,
        )

    def target(self, call: Call, text: str) -> Target:
        """The parsed target, or ``InvalidRequest`` naming the expected forms."""
        target = parse_target(text)
        if target is None:
            raise call.invalid(f"target {text!r:.80} must look like {FORMS}", field="target")
        return target

    def create_body(self, call: Call, request: RunRequest) -> dict[str, Any]:
        """The JSON body creating ``request``; ``InvalidRequest`` for what Runflow lacks."""
        if request.files:
            raise call.invalid(
                "Runflow takes files as URLs in the inputs; upload them first", field="files"
            )
        body: dict[str, Any] = {"input": dict(request.inputs)}
        for key, value in request.options.items():
            kind = CREATE_OPTIONS.get(key)
            if kind is None:
                known = ", ".join(CREATE_OPTIONS)
                raise call.invalid(
                    f"unknown option {key!r}; Runflow runs take {known}", field=f"options.{key}"
                )
            if value is None:
                continue
            if not isinstance(value, kind):
                raise call.invalid(
                    f"option {key!r} must be a {'mapping' if kind is Mapping else 'string'}",
                    field=f"options.{key}",
                )
            body[key] = dict(value) if isinstance(value, Mapping) else value
        if request.name is not None:
            # Runflow runs have no name; keep it in the caller's metadata, where
            # to_run finds it again.
            metadata = body.setdefault("metadata", {})
            if metadata.get(NAME_KEY, request.name) != request.name:
                raise call.invalid(
                    f"name {request.name!r} clashes with metadata[{NAME_KEY!r}]",
                    field="name",
                )
            metadata[NAME_KEY] = request.name
        return body

    def check_update(self, update: RunUpdate) -> None:
        """Runflow's partial update has no input or failure fields; options are PATCH fields."""
        for field, value in (("inputs", update.inputs), ("failure", update.failure)):
            if value is not None:
                raise runbridge.InvalidRequest(
                    f"Runflow's partial update cannot change {field}",
                    field=field,
                    provider=self.name,
                    operation="update",
                )
        for key in update.options:
            if key not in PATCH_FIELDS:
                raise runbridge.InvalidRequest(
                    f"unknown update option {key!r}; Runflow's PATCH takes "
                    f"{', '.join(sorted(PATCH_FIELDS))}",
                    field=f"options.{key}",
                    provider=self.name,
                    operation="update",
                )

    def check_options(self, operation: str, options: Mapping[str, Any]) -> None:
        """Create options must be known and of the right kind."""
        if operation != "create":
            return
        for key, value in options.items():
            kind = CREATE_OPTIONS.get(key)
            if kind is None:
                reason = f"unknown option {key!r}; Runflow runs take {', '.join(CREATE_OPTIONS)}"
            elif value is not None and not isinstance(value, kind):
                reason = f"option {key!r} must be a {'mapping' if kind is Mapping else 'string'}"
            else:
                continue
            raise runbridge.InvalidRequest(
                reason, field=f"options.{key}", provider=self.name, operation=operation
            )

    def tag(self, request: RunRequest, token: str) -> RunRequest | None:
        """Carry the client token in ``client_ref`` (or, if the caller set one, metadata)."""
        options = dict(request.options)
        if options.get("client_ref") is None:
            options["client_ref"] = token
        else:
            metadata = options.get("metadata")
            if metadata is not None and not isinstance(metadata, Mapping):
                return None  # create() reports the bad option
            options["metadata"] = {**(metadata or {}), TOKEN_KEY: token}
        return attrs.evolve(request, options=options)

    def token_of(self, run: Run) -> str | None:
        """The client token of a run created through ``tag``."""
        metadata = run.raw.get("metadata")
        if isinstance(metadata, Mapping) and isinstance(metadata.get(TOKEN_KEY), str):
            return str(metadata[TOKEN_KEY])
        client_ref = run.raw.get("client_ref")
        return client_ref if isinstance(client_ref, str) else None

    async def find_tagged(self, call: Call, request: RunRequest, token: str) -> Run | None:
        """Ask the server for the run by ``client_ref`` (robust to fields left out)."""
        if request.options.get("client_ref") != token:
            return await super().find_tagged(call, request, token)
        params = {"q": f'client_ref:"{token}"', "limit": "10"}
        response = await call.request("GET", "/v1/runs", params=params)
        wire = call.structure(converter, response.data, WirePage)
        runs = [self.to_run(call, item) for item in wire.items]
        return runs[0] if runs else None

    def retry_request(self, run: Run) -> RunRequest:
        """Same target and input, and the same ``metadata``, ``callback_url``, ``client_ref``."""
        request = super().retry_request(run)
        options = {
            key: run.raw[key]
            for key, kind in CREATE_OPTIONS.items()
            if isinstance(run.raw.get(key), kind) and run.raw[key]
        }
        return attrs.evolve(request, options=options)

    # -- operations -----------------------------------------------------------------

    def instance_capabilities(self) -> Capabilities:
        """Without an admin key there is no way to cancel."""
        if self.settings.admin_token:
            return self.capabilities
        operations = {**self.capabilities.operations, "cancel": Support.UNSUPPORTED}
        return attrs.evolve(self.capabilities, operations=operations)

    def unsupported_reason(self, operation: str) -> str | None:
        """Explain the missing cancel."""
        if operation == "cancel" and not self.settings.admin_token:
            return (
                "Runflow has no public cancel endpoint; configure an admin key "
                "(the admin_token setting) to cancel through the admin cancellation endpoint"
            )
        return None

    async def create(self, call: Call, request: RunRequest) -> Run:
        target = self.target(call, request.target)
        body = self.create_body(call, request)
        template = f"/v1/{target.kind}/" + "/".join("{}" for _ in target.segments) + "/runs"
        path = call.path(template, *target.segments)
        response = await call.request("POST", path, json=body, expect=(200, 201))
        return self.to_run(call, response.data)

    async def create_many(self, call: Call, requests: Sequence[RunRequest]) -> BulkResult:
        return await create_in_batches(self, call, requests)

    async def get(self, call: Call, run_id: str) -> Run:
        response = await call.request("GET", call.path("/v1/runs/{}", run_id))
        return self.to_run(call, response.data)

    async def list_page(
        self, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
    ) -> Page:
        if filters.target is not None:
            self.target(call, filters.target)  # filtered client-side, but checked here
        params: dict[str, str] = {"sort_by": "created_at:desc"}
        if limit is not None:
            params["limit"] = str(limit)
        if (q := _status_query(filters.statuses)) is not None:
            params["q"] = q
        if cursor is not None:
            kept = {k: v for k, v in parse_qsl(cursor) if k in _CURSOR_PARAMS}
            if "pq" not in kept:
                raise call.invalid("cursor is not a Runflow cursor", field="cursor")
            params.update(kept)
        response = await call.request("GET", "/v1/runs", params=params)
        page = call.structure(converter, response.data, WirePage)
        items = tuple(self.to_run(call, item) for item in page.items)
        link = page.next if page.next is not None else page.next_pq
        next_cursor = self.next_cursor(call, link) if link else None
        if next_cursor is not None and next_cursor == cursor:
            raise call.bad_response("the next page cursor did not advance", body=response.data)
        return Page(items, next_cursor)

    def next_cursor(self, call: Call, link: str) -> str:
        """This adapter's cursor for a ``next`` value: a bare ``pq``, a path or a URL."""
        if not link.startswith("/") and not link.lower().startswith(("http://", "https://")):
            return urlencode({"pq": link})
        # A link is never requested as given: its host need not be the configured
        # one, and the token must not follow it. Its cursor parameters are kept.
        try:
            query = dict(parse_qsl(urlsplit(link).query))
        except ValueError:
            raise call.bad_response(f"the next link {link[:200]!r} is not a URL") from None
        if not query.get("pq"):
            raise call.bad_response(f"the next link {link[:200]!r} has no pq cursor")
        kept: dict[str, str] = {k: query[k] for k in _CURSOR_PARAMS if k in query}
        return urlencode(kept)

    async def update(self, call: Call, run_id: str, update: RunUpdate) -> Run:
        if update.inputs is not None:
            raise call.invalid("Runflow cannot change the input of a run", field="inputs")
        if update.failure is not None:
            raise call.invalid("Runflow's partial update has no failure fields", field="failure")
        body: dict[str, Any] = {}
        if update.status is not None:
            if update.status not in NATIVE_STATUS:
                raise call.invalid(f"cannot set status {update.status}", field="status")
            body["status_code"] = NATIVE_STATUS[update.status]
        if update.outputs is not None:
            body["output"] = dict(update.outputs)
        if update.cost is not None:
            body["cost"] = _decimal_text(update.cost)
        if update.progress is not None:
            body["nodes_completed"] = update.progress.completed
            if update.progress.total is not None:
                body["nodes_total"] = update.progress.total
        if update.started_at is not None:
            body["started_at"] = runbridge.format_timestamp(update.started_at)
        if update.finished_at is not None:
            body["completed_at"] = runbridge.format_timestamp(update.finished_at)
        body.update(update.options)
        if not body:
            raise call.invalid("the update sets no field", field="update")
        response = await call.request("PATCH", call.path("/v1/runs/{}", run_id), json=body)
        return self.to_run(call, response.data)

    async def cancel(self, call: Call, run_id: str) -> Run:
        admin_token = self.settings.admin_token
        if not admin_token:  # the client checks instance_capabilities first
            raise runbridge.UnsupportedOperation(
                self.unsupported_reason("cancel") or "", provider=self.name, operation="cancel"
            )
        response = await call.request(
            "POST",
            call.path("/v1/admin/runs/{}/cancellation", run_id),
            headers={"Authorization": f"Bearer {admin_token}"},
            expect=(200, 201),
        )
        data = response.data
        if isinstance(data, Mapping) and "id" in data and "status_code" in data:
            run = self.to_run(call, data)
        else:
            run = await self.get(call, run_id)
        if response.status == 200 and run.status is not RunStatus.CANCELLED:
            # 200 means the run had already finished when the cancellation arrived.
            raise runbridge.IllegalTransition(
                f"cannot cancel run {run_id}: it already finished as {run.native_status}",
                current=run.status,
                requested=RunStatus.CANCELLED,
                provider=self.name,
                operation="cancel",
            )
        return run


def _name_of(payload: Mapping[str, Any]) -> str | None:
    metadata = payload.get("metadata")
    name = metadata.get(NAME_KEY) if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) else None


def _decimal_text(value: Decimal) -> str:
    # Plain notation: Runflow's decimal pattern has no exponent.
    return format(value, "f")
