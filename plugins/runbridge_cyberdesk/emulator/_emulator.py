"""An in-memory Cyberdesk runs API that the adapter and the official SDK can talk to.

Serve it in-process with ``async with CyberdeskEmulator().serve() as base_url``
(tests, manual clock), or as a local server that runs on wall-clock time::

    CyberdeskEmulator(token="sk_test_123", clock=RealClock(speed=10)).run(port=8765)
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from aiohttp import web

from runbridge.emulation import (
    BearerAuth,
    Clock,
    Delivery,
    EventRoute,
    Faults,
    NativeStatuses,
    Outbound,
    RunStore,
    Timeline,
    iso,
    json_response,
)
from runbridge.emulation.fastapi import parse_int

from . import _schemas as s
from . import _webhooks as hooks
from ._chain import create_chain
from ._records import Attachment, EmulatedRun
from ._writes import RunWrites

_SEEDABLE = frozenset(
    {
        "machine_id",
        "pool_ids",
        "session_id",
        "session_alias",
        "release_session_after",
        "is_priority",
        "main_prompt",
        "model_metadata",
    }
)


class CyberdeskEmulator(RunWrites):
    """Serves ``/v1/runs`` from memory, with Cyberdesk's statuses, errors and envelopes.

    By default every answer has the documented shape and nothing more (``extras``
    lists the undocumented conveniences a test may turn on). Runs follow the plans
    queued with ``plan_next`` on the emulator clock: ``scheduling``, then
    ``running`` (its last ``checks_seconds`` reported as ``running_checks``), then
    the plan's outcome. ``rate_limit`` requests per ``rate_window`` seconds of
    emulator time are allowed before answering 429. ``fail_bulk`` and
    ``lose_responses`` (and the inherited ``inject``, ``inject_fault``,
    ``faults`` and ``force_status``) make faults.

    With ``webhook_url``, every run that reaches a terminal status is announced
    there as a ``run_complete`` event signed the Svix way with ``webhook_secret``
    (``whsec_...``; one is made up when not given), retried on non-2xx
    (``deliveries``, ``delivery_faults``, ``inject_delivery_fault``).
    """

    provider = "cyberdesk"
    auth = BearerAuth()
    public_paths = frozenset({"/v1/health", "/v1/health/db"})
    statuses = NativeStatuses(
        pending=("scheduling",),
        running=("running",),
        succeeded="success",
        failed={"task": "task_failed", "system": "error", "timeout": "error"},
        cancelled="cancelled",
        extra={"running_checks": "running"},
    )
    extras: ClassVar[Mapping[str, str]] = {
        "included_names": "included workflow and machine resources carry a 'name' "
        "(the docs give only their type and id)",
    }
    secret_fields = s.SECRET_FIELDS
    operations: ClassVar[Mapping[tuple[str, str], str]] = {
        ("GET", "/v1/health"): "health",
        ("GET", "/v1/health/db"): "health",
        ("GET", "/v1/runs"): "list",
        ("POST", "/v1/runs"): "create",
        ("POST", "/v1/runs/bulk"): "create_many",
        ("POST", "/v1/runs/chain"): "chain",
        ("GET", "/v1/runs/{run_id}"): "get",
        ("PATCH", "/v1/runs/{run_id}"): "update",
        ("DELETE", "/v1/runs/{run_id}"): "delete",
        ("POST", "/v1/runs/{run_id}/retry"): "retry",
    }
    status_field = "status"
    run_keys = frozenset({"workflow_id"})
    optional_fields = s.OPTIONAL_FIELDS

    def __init__(
        self,
        *,
        token: str | None = None,
        clock: Clock | None = None,
        faults: Faults | None = None,
        extras: Iterable[str] = (),
        rate_limit: int | None = None,
        rate_window: float = 60.0,
        checks_seconds: float = 0.0,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        super().__init__(
            token=token,
            clock=clock,
            faults=faults,
            extras=extras,
            rate_limit=rate_limit,
            rate_window=rate_window,
        )
        self.checks_seconds = checks_seconds
        """The last seconds of a run's ``running`` phase, shown as ``running_checks``."""
        self.runs: RunStore[EmulatedRun] = RunStore(self, mint=lambda: str(uuid.uuid4()))
        """Runs by id, in creation order (a listing sorts them as it is asked)."""
        self.vault: dict[str, dict[str, Any]] = {}
        """Sensitive input values per run id: stored, never echoed."""
        self.attachments: dict[str, Attachment] = {}
        self.task_failure_message = "Task declared failed: the expected record was not found"
        self.system_error_message = "Machine disconnected during the run"
        self._bulk_failures: deque[tuple[int, str]] = deque()
        self._default_target = self.add_workflow(name="Default workflow")
        self.webhook_url = webhook_url
        """Where ``run_complete`` events go; ``None``: no webhooks."""
        self.webhook_secret = webhook_secret or hooks.new_secret()
        """The endpoint's signing secret, ``whsec_<base64>``."""

    # -- seeding and steering ---------------------------------------------------------

    def add_workflow(self, workflow_id: str | None = None, *, name: str | None = None) -> str:
        """Make a workflow exist and return its id."""
        wid = str(uuid.UUID(workflow_id)) if workflow_id else str(uuid.uuid4())
        self.workflows[wid] = name or f"Workflow {len(self.workflows) + 1}"
        return wid

    @property
    def default_target(self) -> str:
        return self._default_target

    def add_target(self) -> str:
        """A new workflow's id."""
        return self.add_workflow()

    def target_key(self, target: str) -> str | None:
        """The workflow id, lower-case, if a workflow of that id was added."""
        try:
            key = str(uuid.UUID(target))
        except ValueError:
            return None
        return key if key in self.workflows else None

    def operation_of(self, method: str, route: str, body: Any) -> str | None:
        """``cancel`` for a PATCH that sets ``status: cancelled``; the route's otherwise."""
        if method == "PATCH" and isinstance(body, dict) and body.get("status") == "cancelled":
            return "cancel"
        return super().operation_of(method, route, body)

    def seed_run(
        self,
        target: str,
        timeline: Timeline,
        *,
        inputs: dict[str, Any],
        name: str | None,
        options: dict[str, Any],
    ) -> str:
        """A run of workflow ``target``; ``options`` may set the run's ``machine_id``,
        ``pool_ids``, ``session_id``, ``session_alias``, ``release_session_after``,
        ``is_priority``, ``main_prompt`` and ``model_metadata``."""
        if name is not None:
            raise ValueError("cyberdesk runs have no name")
        if unknown := sorted(set(options) - _SEEDABLE):
            raise TypeError(f"a seeded cyberdesk run has no field {unknown[0]!r}")
        run = EmulatedRun(
            id=self.runs.new_id(),
            workflow_id=target,
            timeline=timeline,
            seq=self.runs.next_seq(),
            input_values=inputs or None,
            **options,
        )
        return self.runs.add(run).id

    def unknown_id(self) -> str:
        return str(uuid.uuid4())

    def secrets_of(self, run_id: str) -> dict[str, Any] | None:
        """The sensitive input values stored in the vault for a run."""
        return self.vault.get(run_id)

    def fail_bulk(self, failed: int, *, message: str = "No machine available") -> None:
        """Make the next bulk create create ``failed`` runs fewer and report them failed."""
        self._bulk_failures.append((failed, message))

    # -- webhooks ---------------------------------------------------------------------

    def send_events_to(self, url: str) -> EventRoute:
        """The endpoint's URL is set once for every run; Svix signs with ``webhook_secret``."""
        self.webhook_url = url
        return EventRoute(secret=self.webhook_secret)

    def event_runs(self) -> Iterable[tuple[str, EmulatedRun]]:
        return self.runs.items() if self.webhook_url else ()

    def run_event(self, run_id: str, run: Any) -> Outbound | None:
        if self.webhook_url is None:
            return None
        payload = {
            "event_id": str(uuid.uuid4()),
            "event_type": hooks.EVENT_TYPE,
            "occurred_at": iso(self.now()),
            "run": self.run_json(run),
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        return Outbound(url=self.webhook_url, event=hooks.EVENT_TYPE, body=body)

    def sign_delivery(self, delivery: Delivery, at: float, *, forged: bool) -> dict[str, str]:
        secret = hooks.new_secret() if forged else self.webhook_secret
        return hooks.svix_headers(secret, delivery.id, int(at), delivery.body)

    def new_delivery_id(self) -> str:
        return hooks.message_id()

    # -- errors -----------------------------------------------------------------------

    def error_body(
        self, status: int, message: str, *, code: str | None = None, details: Any = None
    ) -> Any:
        """FastAPI's ``{"detail": "message"}``, or ``{"detail": [...]}`` for 422 issues."""
        return {"detail": details if details is not None else message}

    def auth_error(self, request: web.Request) -> web.Response:
        return self.error(401, "Invalid or missing API key", headers={"WWW-Authenticate": "Bearer"})

    # -- creating runs ----------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/health", self._health)
        app.router.add_get("/v1/health/db", self._health)
        app.router.add_get("/v1/runs", self._list)
        app.router.add_post("/v1/runs", self._create)
        app.router.add_post("/v1/runs/bulk", self._bulk)
        app.router.add_post("/v1/runs/chain", self._chain)
        app.router.add_get("/v1/runs/{run_id}", self._get)
        app.router.add_patch("/v1/runs/{run_id}", self._patch)
        app.router.add_delete("/v1/runs/{run_id}", self._delete)
        app.router.add_post("/v1/runs/{run_id}/retry", self._retry)

    # -- handlers ---------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return json_response({"status": "healthy"})

    async def _create(self, request: web.Request) -> web.Response:
        body, issues = await self.body(request, s.RUN_CREATE, frozenset({"workflow_id"}))
        if issues:
            return self.invalid(issues)
        files, issues = s.decode_files(body)
        if issues:
            return self.invalid(issues)
        if s.uid(body["workflow_id"]) not in self.workflows:
            return self.error(404, "Workflow not found")
        run = self.new_run(body, files, None)
        return json_response(self.run_json(run), status=201)

    async def _bulk(self, request: web.Request) -> web.Response:
        required = frozenset({"workflow_id", "count"})
        body, issues = await self.body(request, s.RUN_BULK_CREATE, required)
        count = None
        if isinstance(body, dict) and "count" in body:
            count, count_issues = parse_int(body["count"], ("body", "count"), gt=0, le=s.MAX_BULK)
            issues = issues + count_issues
        if issues or count is None:
            return self.invalid(issues)
        files, issues = s.decode_files(body)
        if issues:
            return self.invalid(issues)
        if s.uid(body["workflow_id"]) not in self.workflows:
            return self.error(404, "Workflow not found")
        failed, message = self._bulk_failures.popleft() if self._bulk_failures else (0, "")
        failed = min(failed, count)
        session = None
        if body.get("start_session") and not body.get("session_id"):
            session = str(uuid.uuid4())  # one new session shared by every run
        created = [self.new_run(body, files, session) for _ in range(count - failed)]
        return json_response(
            {
                "created_runs": [self.run_json(run) for run in created],
                "failed_count": failed,
                "errors": [message] * failed,
            },
            status=201,
        )

    async def _chain(self, request: web.Request) -> web.Response:
        return await create_chain(self, request)

    async def _get(self, request: web.Request) -> web.Response:
        if issues := self._path_issues(request):
            return self.invalid(issues)
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        body = self.run_json(found)
        body["included"] = self.included([found], request.query.get("include"))
        return json_response(body)
