"""An in-memory emulator of Runflow's runs API, served by aiohttp on loopback.

It follows ``runflow.md``: bearer keys (a normal ``rf_live_*`` one and an admin
``rf_svc_*`` one), runs of seeded models and ComfyUI workflows that go
``queued`` -> ``dispatching`` -> ``running`` -> outcome on the emulator clock,
keyset cursor pagination with ``{items, first, next, previous}``, ``q`` filters,
``PATCH`` merge, admin cancellation, batches with ``Idempotency-Key`` replay, and
``{code, message, errors}`` error bodies.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from aiohttp import web

from runbridge import RunStatus
from runbridge.emulation import (
    Clock,
    Emulator,
    Faults,
    IdempotencyCache,
    Plan,
    Timeline,
    iso,
    json_response,
)

from ._emulator_data import (
    ADMIN,
    FAILED,
    FAILURES,
    OPTIONAL_FIELDS,
    ORG,
    STATUSES,
    SUCCEEDED,
    TERMINAL,
    Batch,
    CursorStyle,
    EmuRun,
    EmuTarget,
    Invalid,
    PageOf,
    Received,
    State,
    as_object,
    check_input,
    logs,
    node_runs,
    optional_text,
    page_of,
    paging,
    parse_q,
    patch_fields,
    q_matches,
    uuid7,
)
from ._emulator_routes import add_routes
from ._target import parse_target

Handler = Callable[[web.Request], Any]

ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    402: "INSUFFICIENT_CREDIT",
    403: "PERMISSION_DENIED",
    404: "RUN_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}
"""The ``code`` of an error body for each status (other 5xx: ``INTERNAL_ERROR``)."""


def _millis(started: str | None, completed: str | None) -> int | None:
    if started is None or completed is None:
        return None
    delta = datetime.fromisoformat(completed) - datetime.fromisoformat(started)
    return int(delta.total_seconds() * 1000)


class RunflowEmulator(Emulator):
    """Serves Runflow's runs API from memory; seed targets with ``add_model``/``add_workflow``."""

    provider = "runflow"
    status_field = "status_code"
    run_keys = frozenset({"target_type"})  # batches and batch items have ids and statuses too
    optional_fields = OPTIONAL_FIELDS

    def __init__(
        self,
        *,
        token: str | None = None,
        admin_token: str | None = None,
        clock: Clock | None = None,
        organization_id: str | None = None,
        cursor_style: CursorStyle = "token",
        faults: Faults | None = None,
    ) -> None:
        super().__init__(
            token=token or f"rf_live_{secrets.token_hex(16)}", clock=clock, faults=faults
        )
        self.admin_token = admin_token or f"rf_svc_{secrets.token_hex(16)}"
        """The admin key; only it may use ``/v1/admin/*``."""
        self.organization_id = organization_id or str(uuid.uuid4())
        """The keys' own organization, used when no ``X-Organization-Id`` is sent."""
        self.cursor_style: CursorStyle = cursor_style
        """How ``next``/``previous`` look: a bare ``pq`` token, a path, a URL, or
        ``next_pq``/``prev_pq`` fields instead (``"pq"``)."""
        self.user_id = str(uuid.uuid4())
        self.targets: dict[str, EmuTarget] = {}
        self.runs: dict[str, EmuRun] = {}
        self.batches: dict[str, Batch] = {}
        self.raw_runs: dict[str, dict[str, Any]] = {}
        self.received: list[Received] = []
        """Every request with its query, lower-cased headers and decoded body."""
        self.idempotency = IdempotencyCache()
        self._seq = itertools.count(1)
        self._default_target = self.add_model("acme/echo/v1")

    # -- seeding ------------------------------------------------------------------------

    def add_model(
        self,
        name: str,
        *,
        template_backed: bool = True,
        nodes: int = 3,
        price: str = "0.04",
        required: Sequence[str] = (),
    ) -> str:
        """Seed a model ``owner/slug[/more...]``; returns its target ``models/...``."""
        return self._add("models", name, template_backed, nodes, price, required)

    def add_workflow(
        self, name: str, *, nodes: int = 5, price: str = "0.02", required: Sequence[str] = ()
    ) -> str:
        """Seed a ComfyUI workflow ``owner/slug``; returns its target ``comfyui-workflows/...``."""
        return self._add("comfyui-workflows", name, False, nodes, price, required)

    def _add(
        self,
        kind: str,
        name: str,
        template_backed: bool,
        nodes: int,
        price: str,
        required: Sequence[str],
    ) -> str:
        target = parse_target(f"{kind}/{name.removeprefix(kind + '/')}")
        if target is None or target.kind != kind:
            raise ValueError(f"{name!r} is not a valid {kind} name")
        seeded = EmuTarget(
            target.kind,
            target.owner,
            "/".join(target.slug),
            str(uuid.uuid4()),
            template_backed,
            nodes,
            price,
            tuple(required),
        )
        self.targets[str(target)] = seeded
        return str(target)

    def seed_raw_run(self, payload: Mapping[str, Any], *, run_id: str | None = None) -> str:
        """Serve ``payload`` verbatim from ``GET /v1/runs/{run_id}`` (its ``id`` by default).

        For tests of how clients read payloads the emulator would never produce
        (the reference docs' examples, malformed records); returns the id.
        """
        key = (run_id or str(payload["id"])).lower()
        self.raw_runs[key] = dict(payload)
        return key

    # -- Emulator hooks -----------------------------------------------------------------

    @property
    def default_target(self) -> str:
        return self._default_target

    def unknown_id(self) -> str:
        return str(uuid.uuid4())

    def client_settings(self) -> dict[str, Any]:
        return {"admin_token": self.admin_token}

    def error_body(self, status: int, message: str) -> Any:
        code = ERROR_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")
        return {"code": code, "message": message, "errors": None}

    def route_error_body(self, status: int, message: str) -> Any:
        # A path no route takes is not a missing run: plain NOT_FOUND, not RUN_NOT_FOUND.
        code = "NOT_FOUND" if status == 404 else ERROR_CODES.get(status, "ERROR")
        return {"code": code, "message": message, "errors": None}

    def outcome_native(self, plan: Plan) -> str:
        if plan.native is not None:
            return plan.native
        if plan.outcome is RunStatus.SUCCEEDED:
            return "succeeded"
        if plan.outcome is RunStatus.CANCELLED:
            return "canceled"
        return "failed"

    # -- run state ----------------------------------------------------------------------

    def state(self, run: EmuRun, now: float) -> State:
        """Where ``run`` stands at ``now``: its pin, or its plan's timeline."""
        if run.pin is not None:
            return run.pin
        tl, total = run.timeline, run.target.nodes
        dispatched = tl.created + tl.plan.queued / 2
        if now < dispatched:
            return State("queued")
        if now < tl.starts:
            return State("dispatching", dispatched)
        if now < tl.ends:
            done = int(total * (now - tl.starts) / tl.plan.running)
            return State("running", dispatched, tl.starts, None, min(done, max(total - 1, 0)))
        native = self.outcome_native(tl.plan)
        done = total // 2 if native in FAILED else total
        return State(native, dispatched, tl.starts, tl.ends, done)

    def finished(self, run: EmuRun, now: float) -> bool:
        """Whether the run is terminal (a plan's unknown native status counts)."""
        state = self.state(run, now)
        return state.status in TERMINAL or (run.pin is None and now >= run.timeline.ends)

    def pin(self, run: EmuRun, status: str, now: float) -> None:
        """Fix the run at ``status`` from ``now`` on, keeping what had happened."""
        current = self.state(run, now)
        started = current.started_at
        if started is None and status not in ("queued", "dispatching", "canceled", "cancelled"):
            started = now
        completed = (current.completed_at or now) if status in TERMINAL else None
        done = run.target.nodes if status in SUCCEEDED else current.nodes_completed
        run.pin = State(status, current.dispatched_at, started, completed, done, from_plan=False)

    def run_json(self, run: EmuRun, *, fresh: bool = False) -> dict[str, Any]:
        """The full run record; ``fresh`` renders it as create returns it (``queued``)."""
        state = State("queued") if fresh else self.state(run, self.now())
        status, target, patched = state.status, run.target, run.patched
        failure: tuple[str | None, ...] = (None, None, None)
        if status in FAILED and state.from_plan:
            failure = FAILURES[run.timeline.plan.failure]
        output = None
        if status in SUCCEEDED:
            output = run.timeline.plan.outputs
            if output is None:
                url = f"https://cdn.runflow.invalid/runs/{run.id}/0.png"
                output = {"outputs": [{"type": "image", "url": url}]}
        cost = target.price if status in SUCCEEDED else "0" if status in FAILED else None
        shown: dict[str, Any] = {
            "output": output,
            "cost": cost,
            "started_at": iso(state.started_at, z=False),
            "completed_at": iso(state.completed_at, z=False),
            "nodes_total": target.nodes,
            "nodes_completed": state.nodes_completed,
        }
        shown.update(patched)
        if "duration_ms" not in shown:
            shown["duration_ms"] = _millis(shown["started_at"], shown["completed_at"])
        model = target.kind == "models"
        return {
            "id": run.id,
            "flow_id": None,
            "model_id": target.id if model else None,
            "comfyui_workflow_id": None if model else target.id,
            "target_type": target.target_type,
            "target_version": "1",
            "org_id": run.org_id,
            "status_code": status,
            "source_code": "api",
            "input": run.input,
            "context": {},
            "jurisdiction_code": "us",
            "flow_version_id": None,
            "request_id": run.request_id,
            "created_by": self.user_id,
            "created_at": iso(run.timeline.created, z=False),
            "callback_url": run.callback_url,
            "metadata": run.metadata,
            **shown,
            "cost_breakdown": None,
            "has_logs": True,
            "has_node_runs": bool(shown["nodes_total"]),
            "links": {
                "self": f"/v1/runs/{run.id}",
                "logs": f"/v1/runs/{run.id}/logs",
                "node_runs": f"/v1/runs/{run.id}/node-runs",
            },
            "node_runs": node_runs(run, status, shown),
            "logs": logs(run, state, failure[2]),
            "flow": None,
            "model": target.resource(run.org_id) if model else None,
            "comfyui_workflow": None if model else target.resource(run.org_id),
            "resolved_template_id": target.id if target.template_backed else None,
            "batch_id": run.batch_id,
            "client_ref": run.client_ref,
            "failure_code": failure[0],
            "failure_stage_code": failure[1],
            "failure_message": failure[2],
            "feedback_is_positive": None,
            "feedback_reason": None,
            "source_chat_message_id": None,
            "current_evaluation_summary": None,
        }

    def next_seq(self) -> int:
        """The next creation number; it orders runs and batches."""
        return next(self._seq)

    def new_run(
        self,
        target: EmuTarget,
        org_id: str,
        data: Mapping[str, Any],
        *,
        batch_id: str | None = None,
    ) -> EmuRun:
        """Create a run from a checked create body (or batch item)."""
        now = self.now()
        run = EmuRun(
            id=uuid7(now),
            seq=self.next_seq(),
            org_id=org_id,
            target=target,
            input=data["input"],
            metadata=data.get("metadata") or {},
            callback_url=data.get("callback_url"),
            client_ref=data.get("client_ref"),
            timeline=Timeline(now, self.take_plan()),
            batch_id=batch_id,
        )
        self.runs[run.id] = run
        return run

    # -- HTTP plumbing ------------------------------------------------------------------

    def middlewares(self) -> list[Any]:
        # Faults (in the base middleware) wrap the handlers, so the batch
        # ``Idempotency-Key`` cache keeps real responses, not garbled or lost ones.
        return [self._receive, *super().middlewares(), self._auth]

    @web.middleware
    async def _receive(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read() if request.can_read_body else b""
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append(
            Received(request.method, request.path, dict(request.query), headers, body)
        )
        response: web.StreamResponse = await handler(request)
        return response

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or key not in (self.token, self.admin_token):
            return self.fail(401, "UNAUTHORIZED", "missing or invalid API key")
        request[ADMIN] = key == self.admin_token
        request[ORG] = request.headers.get("X-Organization-Id") or self.organization_id
        response: web.StreamResponse = await handler(request)
        return response

    def fail(
        self, status: int, code: str, message: str, errors: list[Any] | None = None
    ) -> web.Response:
        """An error response in Runflow's ``{code, message, errors}`` shape."""
        return json_response({"code": code, "message": message, "errors": errors}, status=status)

    def invalid(self, exc: Invalid) -> web.Response:
        """A 422 naming where the bad value was."""
        detail = {"loc": exc.loc, "msg": str(exc), "type": "value_error"}
        return self.fail(422, "VALIDATION_ERROR", "Validation failed", [detail])

    async def body(self, request: web.Request) -> Any:
        """The decoded JSON body; ``Invalid`` when it is not JSON."""
        raw = await request.read()
        try:
            return orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            raise Invalid("body is not valid JSON", ["body"]) from None

    def routes(self, app: web.Application) -> None:
        add_routes(self, app)

    # -- listing ------------------------------------------------------------------------

    def listing(
        self,
        request: web.Request,
        rows: Sequence[tuple[int, dict[str, Any]]],
        *,
        sorts: Sequence[str],
    ) -> web.Response:
        """One page of ``(seq, rendered)`` rows with ``q``, sort and cursors applied."""
        try:
            params = paging(request.query, sorts=sorts)
            query = parse_q(request.query.get("q", ""))
            sign = -1 if params.sort.endswith(":desc") else 1
            kept = sorted((r for r in rows if q_matches(query, r[1])), key=lambda r: sign * r[0])
            page = page_of(
                kept,
                lambda r: sign * r[0],
                sort=params.sort,
                limit=params.limit,
                pq=params.pq,
                back=params.back,
            )
        except Invalid as exc:
            return self.invalid(exc)
        return json_response(self.envelope(request, [r[1] for r in page.rows], page))

    def envelope(self, request: web.Request, items: list[Any], page: PageOf) -> dict[str, Any]:
        """The list envelope, with cursors shaped by ``cursor_style``."""
        if self.cursor_style == "pq":
            return {"items": items, "first": None, "next_pq": page.next, "prev_pq": page.previous}

        def link(pq: str | None, back: bool) -> str | None:
            if pq is None or self.cursor_style == "token":
                return pq
            query = {k: v for k, v in request.query.items() if k not in ("pq", "from_prev")}
            query["pq"] = pq
            if back:
                query["from_prev"] = "true"
            path = f"{request.path}?{urlencode(query)}"
            if self.cursor_style == "path":
                return path
            return f"{request.scheme}://{request.host}{path}"

        return {
            "items": items,
            "first": None,
            "next": link(page.next, False),
            "previous": link(page.previous, True),
        }

    # -- handlers shared by routes ------------------------------------------------------

    def find(self, request: web.Request, key: str = "id") -> EmuRun | web.Response:
        """The run named in the path, visible to the caller's organization."""
        text = request.match_info[key]
        try:
            run_id = str(uuid.UUID(text)) if len(text) == 36 else None
        except ValueError:
            run_id = None
        if run_id is None:
            return self.invalid(Invalid("must be a UUID", ["path", key]))
        run = self.runs.get(run_id)
        if run is None or (not request[ADMIN] and run.org_id != request[ORG]):
            return self.fail(
                404, "RUN_NOT_FOUND", "The run_id does not exist or belongs to another org"
            )
        return run

    async def create(self, request: web.Request, name: str) -> web.Response:
        """``POST .../runs`` for the target ``name``."""
        target = self.targets.get(name)
        if target is None:
            return self.fail(404, "MODEL_NOT_FOUND", f"no model or workflow {name!r}")
        try:
            body = as_object(await self.body(request), ["body"])
            data = {
                "input": check_input(body.get("input"), target.required, ["body"]),
                "metadata": as_object(body.get("metadata"), ["body", "metadata"]),
                "callback_url": optional_text(body, "callback_url", ["body"], min_len=1),
                "client_ref": optional_text(body, "client_ref", ["body"], min_len=1),
            }
        except Invalid as exc:
            return self.invalid(exc)
        run = self.new_run(target, request[ORG], data)
        return json_response(self.run_json(run, fresh=True), status=201)

    def patch(self, run: EmuRun, body: Any) -> web.Response:
        """Merge a PATCH body into the run."""
        try:
            changes = patch_fields(body)
        except Invalid as exc:
            return self.invalid(exc)
        status = changes.pop("status_code", None)
        if status is not None:
            self.pin(run, status, self.now())
        run.patched.update(changes)
        return json_response(self.run_json(run))

    def statuses(self) -> list[dict[str, Any]]:
        """The ``status_code`` enum rows (``GET /v1/runs/statuses``; shape assumed)."""
        return [{"code": code, "is_terminal": terminal} for code, terminal in STATUSES]
