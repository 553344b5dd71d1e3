"""An in-memory Cyberdesk runs API that the adapter and the official SDK can talk to.

Serve it in-process with ``async with CyberdeskEmulator().serve() as base_url``
(tests, manual clock), or as a local server that runs on wall-clock time::

    CyberdeskEmulator(token="sk_test_123", clock=RealClock(speed=10)).run(port=8765)
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from aiohttp import web

from runbridge.emulation import (
    BearerAuth,
    Clock,
    CreatedRun,
    Delivery,
    EventRoute,
    Faults,
    NativeStatuses,
    Outbound,
    Timeline,
    iso,
    json_response,
)
from runbridge.emulation.fastapi import Issue, check_uuid, parse_int

from . import _schemas as s
from . import _webhooks as hooks
from ._chain import create_chain
from ._records import Attachment, EmulatedRun
from ._views import RunViews

_PATH_ID = ("path", "run_id")
_CREATE_FIELDS = frozenset({"workflow_id", "input_values", "sensitive_input_values", "file_inputs"})
"""Create fields ``CreatedRun`` shows apart from its ``options``."""
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


class CyberdeskEmulator(RunViews):
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
        self.runs: dict[str, EmulatedRun] = {}
        self.vault: dict[str, dict[str, Any]] = {}
        """Sensitive input values per run id: stored, never echoed."""
        self.attachments: dict[str, Attachment] = {}
        self.task_failure_message = "Task declared failed: the expected record was not found"
        self.system_error_message = "Machine disconnected during the run"
        self._bulk_failures: deque[tuple[int, str]] = deque()
        self._seq = itertools.count()
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
            id=str(uuid.uuid4()),
            workflow_id=target,
            timeline=timeline,
            seq=next(self._seq),
            input_values=inputs or None,
            **options,
        )
        self.runs[run.id] = run
        return run.id

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

    def new_run(
        self, body: Mapping[str, Any], files: list[s.DecodedFile], session: Any
    ) -> EmulatedRun:
        """A run from a checked create body (or a bulk or chain body made into one)."""
        run_id = str(uuid.uuid4())
        metadata = body.get("model_metadata")
        if metadata is None and body.get("main_agent_model_id"):
            metadata = {
                "main_agent_model_id": s.uid(body["main_agent_model_id"]),
                "cache_detection_model_id": None,
                "fallback_model_1_id": None,
                "fallback_model_2_id": None,
            }
        run = EmulatedRun(
            id=run_id,
            workflow_id=s.uid(body["workflow_id"]),
            timeline=Timeline(self.now(), self.take_plan(s.uid(body["workflow_id"]))),
            seq=next(self._seq),
            input_values=body.get("input_values"),
            machine_id=s.uid(body.get("machine_id")),
            pool_ids=s.uids(body.get("pool_ids")),
            session_id=session if session is not None else s.uid(body.get("session_id")),
            session_alias=body.get("session_alias"),
            release_session_after=body.get("release_session_after"),
            is_priority=bool(body.get("is_priority") or False),
            main_prompt=body.get("main_prompt"),
            model_metadata=metadata,
        )
        if run.session_id is None and body.get("start_session"):
            run.session_id = run_id  # a new session's id is the id of its first run
        self._give_secrets(run, body.get("sensitive_input_values"))
        self._give_files(run, files)
        self.runs[run_id] = run
        self.record_created(
            CreatedRun(
                id=run_id,
                target=run.workflow_id,
                inputs=dict(run.input_values or {}),
                options={k: v for k, v in body.items() if k not in _CREATE_FIELDS},
                secrets=tuple(body.get("sensitive_input_values") or ()),
            )
        )
        return run

    def _give_secrets(self, run: EmulatedRun, secrets: Mapping[str, Any] | None) -> None:
        if secrets:
            self.vault[run.id] = dict(secrets)
            run.sensitive_input_aliases = {key: f"vault:{uuid.uuid4()}" for key in secrets}

    def _give_files(self, run: EmulatedRun, files: list[s.DecodedFile]) -> None:
        if not files:
            return
        for old in run.input_attachment_ids or ():
            self.attachments.pop(old, None)
        run.input_attachment_ids = []
        for item in files:
            attachment = Attachment(
                str(uuid.uuid4()),
                run.id,
                item.filename,
                item.content,
                item.target_path,
                item.cleanup_imports_after_run,
            )
            self.attachments[attachment.id] = attachment
            run.input_attachment_ids.append(attachment.id)

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

    # -- request reading --------------------------------------------------------------

    def _path_issues(self, request: web.Request) -> list[Issue]:
        return check_uuid(request.match_info["run_id"], _PATH_ID)

    def _find(self, request: web.Request) -> EmulatedRun | web.Response:
        run = self.runs.get(str(uuid.UUID(request.match_info["run_id"])))
        if run is None:
            return self.error(404, "Run not found")
        return run

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

    async def _patch(self, request: web.Request) -> web.Response:
        body, issues = await self.body(request, s.RUN_UPDATE, frozenset())
        if issues := self._path_issues(request) + issues:
            return self.invalid(issues)
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        status = body.get("status")
        if status is not None:
            # A status written by a client holds: the clock no longer moves the run.
            found.timeline.pin(status, self.statuses.phase_of(status), self.now())
        if "input_values" in body:
            found.input_values = body["input_values"]
        if "release_session_after" in body:
            found.release_session_after = body["release_session_after"]
        found.patched.update({k: body[k] for k in s.PATCHABLE if k in body})
        for key in ("started_at", "ended_at"):
            if found.patched.get(key) is not None:
                found.patched[key] = s.stamp(found.patched[key])
        return json_response(self.run_json(found))

    async def _retry(self, request: web.Request) -> web.Response:
        body, issues = await self.body(request, s.RUN_RETRY, frozenset(), optional=True)
        issues = self._path_issues(request) + issues
        files: list[s.DecodedFile] = []
        if not issues:
            files, issues = s.decode_files(body)
        if issues:
            return self.invalid(issues)
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        now = self.now()
        status = self.native_status(found.timeline, now)
        if status not in s.TERMINAL:
            # The docs say an active run is rejected, not with which code (400 or 409).
            return self.error(
                409,
                f"Run is {status}; only terminal runs "
                "(success, task_failed, error, cancelled) can be retried",
            )
        found.timeline.restart(now, self.take_plan(found.workflow_id))
        for key in s.CLEARED_BY_RETRY:
            found.patched.pop(key, None)
        self._apply_retry(found, body, files)
        return json_response(self.run_json(found))

    def _apply_retry(
        self, run: EmulatedRun, body: Mapping[str, Any], files: list[s.DecodedFile]
    ) -> None:
        if body.get("input_values") is not None:
            run.input_values = body["input_values"]
        self._give_secrets(run, body.get("sensitive_input_values"))
        self._give_files(run, files)
        if body.get("machine_id") is not None:
            run.machine_id = s.uid(body["machine_id"])
        if body.get("pool_ids") is not None:
            run.pool_ids = s.uids(body["pool_ids"])
        for key in ("session_alias", "release_session_after", "is_priority"):
            if body.get(key) is not None:
                setattr(run, key, body[key])
        if body.get("reuse_session") is False and not body.get("session_id"):
            run.session_id = run.session_alias = None
        if body.get("session_id"):
            run.session_id = s.uid(body["session_id"])
        elif body.get("start_session"):
            run.session_id = str(uuid.uuid4())

    async def _delete(self, request: web.Request) -> web.Response:
        if issues := self._path_issues(request):
            return self.invalid(issues)
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        del self.runs[found.id]
        self.vault.pop(found.id, None)
        for attachment_id in found.input_attachment_ids or ():
            self.attachments.pop(attachment_id, None)
        return web.Response(status=204)
