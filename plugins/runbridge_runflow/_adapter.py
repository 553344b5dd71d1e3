"""The Runflow adapter: Runflow's runs API in canonical form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

import runbridge
from runbridge import Page, Run, RunRef, RunRequest, RunStatus, RunUpdate
from runbridge.adapter import (
    UUID_FORMAT,
    Call,
    Capabilities,
    Chunk,
    ChunkResult,
    ErrorInfo,
    ErrorMap,
    Pagination,
    RunEvent,
    RunFilter,
    Support,
    secret_setting,
)

from ._batches import MAX_BATCH, Batch, bulk_item, send_chunk
from ._callbacks import run_payload, verify
from ._listing import read_page
from ._lookup import TaggedCreates
from ._requests import (
    CREATE_OPTIONS,
    UPDATE_FIELDS,
    UPDATE_OPTIONS,
    cancels,
    create_body,
    patch_body,
    update_problem,
)
from ._target import FORMS, Directory, Target, model_pairs, parse_target, targets_of
from ._translate import STATUSES, error_info, run_of
from ._wire import WireRun

NOTES = {
    "create": (
        "targets by path or by id (models/<model_id>, sent through the model's path when "
        "known: model_paths setting, or learned); flows/<flow_id> cannot be started; "
        "the run name travels in metadata['name']"
    ),
    "list": (
        "a model path lists only once this client knows the model's id (model_paths, or a "
        "run it created or read); models/<model_id> always lists, filtered client-side "
        "when the server refuses q=model_id"
    ),
    "update": "status=cancelled goes through the admin cancellation endpoint (admin_token)",
    "cancel": "needs an admin key (admin_token): Runflow has no public cancel",
    "retry": "a new run with the same target, input, metadata, callback_url and client_ref",
}


@attrs.define
class RunflowSettings:
    """Runflow settings besides the token and the base URL."""

    organization_id: str | None = None
    """Sent as ``X-Organization-Id``; Runflow defaults to the key's organization."""
    admin_token: str | None = secret_setting()
    """An admin (``rf_svc_*``) key; enables ``cancel`` through the admin endpoint."""
    model_paths: Mapping[str, str] = attrs.field(factory=dict)
    """Model ids and the ``owner/slug`` path of each: a model named by id (as every run
    record names it) is then created, batched and retried through its documented path."""


class RunflowAdapter(TaggedCreates):
    """Runflow (``api.runflow.io``): model and ComfyUI workflow runs."""

    name = "runflow"
    id_format = UUID_FORMAT
    default_base_url = "https://api.runflow.io"
    settings_type = RunflowSettings
    emulator = "runbridge_runflow.emulator:RunflowEmulator"
    capabilities = Capabilities.of(
        native={"create", "create_many", "get", "list", "update", "cancel"},
        emulated={"retry"},
        pagination=Pagination.CURSOR,
        max_page_size=500,
        filters={"status", "target"},
        max_batch=MAX_BATCH,
        secrets=False,
        reports={"target", "inputs", "outputs", "started_at", "finished_at", "cost", "progress"},
        newest_first=True,
        notes=NOTES,
        events=True,  # callbacks: run.completed, run.failed, run.cancelled, run.partial_succeeded
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
    statuses = STATUSES
    # Responses decode straight into ``WireRun``; ``run_from`` translates one.
    wire_run = WireRun
    create_options = CREATE_OPTIONS
    update_options = UPDATE_OPTIONS
    update_fields = UPDATE_FIELDS

    settings: RunflowSettings

    def __init__(self, settings: Any = None) -> None:
        super().__init__(settings)
        try:
            pinned = model_pairs(self.settings.model_paths)
        except ValueError as exc:
            raise runbridge.ConfigError(
                f"model_paths: {exc}", field="model_paths", provider=self.name
            ) from None
        self.directory = Directory(pinned=pinned)
        """Path and id forms known to name the same target: configured, and learned."""
        self.target_q_refused = False
        """Whether the server refused a ``q`` target filter (``model_id:<id>``...): later
        listings by target then ask without it and the core filters their runs."""

    def auth_headers(self, token: str) -> Mapping[str, str]:
        """Bearer auth, plus ``X-Organization-Id`` when an organization is configured."""
        headers = {"Authorization": f"Bearer {token}"}
        if self.settings.organization_id:
            headers["X-Organization-Id"] = self.settings.organization_id
        return headers

    def parse_error(self, status: int, body: Any) -> ErrorInfo:
        """Read ``{code, message, errors}``, or the SDK's ``{error: {code, message}}``."""
        return error_info(body)

    # -- targets --------------------------------------------------------------------

    def canonical_target(self, target: str) -> str:
        """The id form when known (run records name targets by id), else the target."""
        parsed = parse_target(target)
        if parsed is None:
            return target
        text = str(parsed)
        return text if parsed.is_id else self.directory.id_for(text) or text

    def target(self, call: Call, text: str) -> Target:
        """The parsed target, or ``InvalidRequest`` naming the expected forms."""
        target = parse_target(text)
        if target is None:
            raise call.invalid(f"target {text!r:.80} must look like {FORMS}", field="target")
        return target

    def route(self, call: Call, target: Target) -> tuple[str, ...]:
        """The path segments that start runs of ``target``: its path if known, else its id."""
        if target.kind == "flows":
            raise call.invalid(
                f"cannot start {target}: Runflow documents no endpoint that starts a flow run",
                field="target",
            )
        if target.is_id and (path := self.directory.path_for(str(target))) is not None:
            known = parse_target(path)
            if known is not None:
                return known.segments
        return target.segments

    def _target_of(self, wire: WireRun) -> str | None:
        ident, path = targets_of(wire)
        if ident is not None and path is not None:
            self.directory.learn(path, ident)
        if ident is not None:
            return ident
        return self.canonical_target(path) if path is not None else None

    def created(self, run: Run, target: Target) -> Run:
        """``run``, created on ``target``: learn its id form, fill its target if it says none."""
        reported = parse_target(run.target) if run.target else None
        learns = reported is not None and reported.is_id and reported.kind == target.kind
        if learns and not target.is_id:
            self.directory.learn(str(target), str(reported))
        if run.target is None:
            return attrs.evolve(run, target=self.canonical_target(str(target)))
        return run

    # -- translation ----------------------------------------------------------------

    def run_from(self, wire: WireRun, ref: RunRef, payload: Mapping[str, Any]) -> Run:
        """The canonical run from a Runflow run record (``payload`` is only kept)."""
        return run_of(wire, ref, payload, self._target_of(wire))

    # -- callbacks ------------------------------------------------------------------

    def verify_event(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: float,
    ) -> str:
        """``Runflow-Signature`` (hex HMAC-SHA256 of the body); the id is
        ``Runflow-Request-Id``. The scheme signs no timestamp: ``now`` is unused."""
        return verify(headers, body, secrets, self.name)

    def event_from(self, call: Call, payload: Any, event_id: str) -> RunEvent:
        """A partial run from ``{event, run_id, status, output, duration_ms, created_at,
        completed_at, metadata}``; ``batch.*`` events are ``ignored``."""
        kind, record = run_payload(payload, self.name)
        run = self.to_run(call, record)
        return RunEvent(
            id=event_id,
            type=kind,
            run=attrs.evolve(run, raw=payload),
            occurred_at=run.finished_at,
            raw=payload,
        )

    def check_update(self, update: RunUpdate) -> None:
        """One status, one the PATCH can send; a cancellation needs the admin key."""
        if (problem := update_problem(update)) is not None:
            field, reason = problem
            raise runbridge.InvalidRequest(
                reason, field=field, provider=self.name, operation="update"
            )
        if cancels(update) and not self.settings.admin_token:
            raise runbridge.UnsupportedOperation(
                f"cannot set a run's status to cancelled: {self.unsupported_reason('cancel')}",
                provider=self.name,
                operation="update",
            )

    def retry_request(self, run: Run) -> RunRequest:
        """Same target and input, and the same ``metadata``, ``callback_url``, ``client_ref``."""
        target = parse_target(run.target) if run.target else None
        if target is not None and target.kind == "flows":
            raise runbridge.InvalidRequest(
                f"cannot retry run {run.id}: it ran the flow {target}, and Runflow documents "
                "no endpoint that starts a flow run",
                field="target",
                provider=self.name,
                operation="retry",
            )
        request = super().retry_request(run)
        options = {
            key: run.raw[key]
            for key, option in self.create_options.fields.items()
            if run.raw.get(key) and option.accepts(run.raw[key])
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
        segments = self.route(call, target)
        body = create_body(call, request)
        template = f"/v1/{target.kind}/" + "/".join("{}" for _ in segments) + "/runs"
        response = await call.request(
            "POST", call.path(template, *segments), json=body, expect=(200, 201), into=WireRun
        )
        return self.created(self.to_run(call, response.data, response.raw()), target)

    def bulk_item(self, call: Call, request: RunRequest) -> tuple[Batch, Any] | None:
        return bulk_item(self, call, request)

    async def send_chunk(self, call: Call, chunk: Chunk) -> ChunkResult:
        return await send_chunk(self, call, chunk)

    async def get(self, call: Call, run_id: str) -> Run:
        response = await call.request("GET", call.path("/v1/runs/{}", run_id), into=WireRun)
        return self.to_run(call, response.data, response.raw())

    async def list_page(
        self, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
    ) -> Page:
        return await read_page(self, call, filters, cursor, limit)

    async def update(self, call: Call, run_id: str, update: RunUpdate) -> Run:
        body = patch_body(update)
        if cancels(update):
            # Never a PATCH of status_code: only the admin endpoint cancels for real.
            cancelled = await self.cancel(call, run_id)
            if not body:
                return cancelled
        response = await call.request(
            "PATCH", call.path("/v1/runs/{}", run_id), json=body, into=WireRun
        )
        return self.to_run(call, response.data, response.raw())

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
                operation=call.operation,
            )
        return run
