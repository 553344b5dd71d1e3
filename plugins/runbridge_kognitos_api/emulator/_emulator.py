"""The Kognitos API 1.0 emulator: runs of the automations of workspaces, served from memory."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar

from aiohttp import web

from runbridge.emulation import (
    BadCursor,
    BearerAuth,
    Clock,
    CreatedRun,
    Emulator,
    Faults,
    RunStore,
    Timeline,
    json_response,
)

from ._facts import (
    DRAFT,
    PAUSABLE,
    PREFIX,
    PUBLISHED,
    RESUMABLE,
    STAGES,
    STATUSES,
)
from ._filter import BadFilter, parse_filter
from ._plain import from_plain, to_plain
from ._render import run_json
from ._requests import check_path_ids, page_size, read_body
from ._rpc import Code, RpcError, rpc_status
from ._runs import StoredRun
from ._store import (
    BAD_TOKEN,
    PAGING,
    RUN_ID_SIZE,
    VERSIONS,
    Automation,
    Order,
    add_run,
    mint,
    new_automation,
    run_store,
    span,
)
from ._values import BadValue, check_inputs

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_AUTOMATION = PREFIX + "/automations/{automation_id}"
_RUN = _AUTOMATION + "/runs/{run_id}"


def _routed(path: str) -> str:
    """``path`` with each variable limited to one segment without ``:``, so that
    ``{automation_id}:invoke`` and ``{run_id}:pause`` route (a plain variable would
    swallow the custom verb)."""
    return re.sub(r"\{(\w+)\}", r"{\1:[^/:]+}", path)


class KognitosApiEmulator(Emulator):
    """Serves ``:invoke``, get, list, ``:pause`` and ``:continue`` of runs as documented.

    Targets are automation names, ``organizations/{o}/workspaces/{w}/automations/{a}``;
    one automation (with a draft and a published stage) exists from the start, named
    by ``default_target``; ``add_automation`` and ``add_target`` add more. Run ids in
    the emulation API (``runs``, ``created``, ``seed``, ``unknown_id``) are run names,
    ``{target}/runs/{run_id}``; ``find`` and ``force_status`` also take a bare run id.
    ``order`` sets the undocumented listing order; ``stop_seconds`` how long a paused
    run stays ``stopping``; ``user_id`` the user the token belongs to.
    """

    provider = "kognitos-api"
    auth = BearerAuth()
    statuses = STATUSES
    operations: ClassVar[Mapping[tuple[str, str], str]] = {
        ("POST", _AUTOMATION + ":invoke"): "create",
        ("GET", _AUTOMATION + "/runs"): "list",
        ("GET", _RUN): "get",
        ("POST", _RUN + ":pause"): "pause",
        ("POST", _RUN + ":continue"): "resume",
    }
    status_field = "state"
    run_keys = frozenset({"name", "state"})
    optional_fields = frozenset(
        {"user_inputs", "invocation_details", "update_time", "previous_run", "executable_steps"}
    )
    """Fields ``v1Run`` does not require (``stage`` and ``stage_version`` it does);
    ``name``, ``state`` and ``create_time`` stay, as the API always fills them."""
    stop_seconds: float = 1.0
    """Emulator seconds a paused run spends ``stopping`` before it is ``stopped``."""

    def __init__(
        self,
        *,
        token: str | None = None,
        clock: Clock | None = None,
        faults: Faults | None = None,
        extras: Iterable[str] = (),
        rate_limit: str | int | None = None,
        rate_window: float = 60.0,
        order: Order = "newest",
        stop_seconds: float | None = None,
        user_id: str | None = None,
    ) -> None:
        super().__init__(
            token=token or f"kgn_pat_{secrets.token_urlsafe(24)}",
            clock=clock,
            faults=faults,
            extras=extras,
            rate_limit=rate_limit,
            rate_window=rate_window,
        )
        self._order: Order = order
        self.runs: RunStore[StoredRun] = run_store(self, order)
        """Runs by name (``{target}/runs/{run_id}``), each automation's in listing order."""
        if stop_seconds is not None:
            if isinstance(stop_seconds, bool) or not stop_seconds >= 0:
                raise ValueError("stop_seconds must be a non-negative number of seconds")
            self.stop_seconds = stop_seconds
        self.user_id = user_id or mint(16)
        """The user the token belongs to: ``invocation_details.user_id`` of its runs."""
        self.automations: dict[str, Automation] = {}
        """Automations by target."""
        self.workspaces: set[tuple[str, str]] = set()
        """``(organization, workspace)`` pairs that exist."""
        self._default = ""
        self._default = self.add_automation()

    @property
    def order(self) -> Order:
        """Listing order (undocumented): ``newest`` or ``oldest`` first by ``create_time``."""
        return self._order

    # -- targets, seeding and test hooks -------------------------------------------------

    def add_automation(
        self,
        *,
        organization: str | None = None,
        workspace: str | None = None,
        automation: str | None = None,
        stages: Mapping[str, str] | Iterable[str] = VERSIONS,
    ) -> str:
        """Make an automation exist and return its target. Ids not given are minted,
        except that it goes in the default organization and workspace unless told
        otherwise. ``stages`` are the stages it has, with their versions when a mapping:
        ``(DRAFT,)`` is an automation never published."""
        known = self.automations.get(self._default)
        found = new_automation(known, organization, workspace, automation, stages)
        self.workspaces.add((found.organization, found.workspace))
        self.automations[found.target] = found
        return found.target

    @property
    def default_target(self) -> str:
        """The automation made at construction, with both stages."""
        return self._default

    def add_target(self) -> str:
        """A new automation of the default workspace, with both stages."""
        return self.add_automation()

    def target_key(self, target: str) -> str | None:
        """``target`` if it names an automation added here."""
        return target if target in self.automations else None

    def seed_run(
        self,
        target: str,
        timeline: Timeline,
        *,
        inputs: dict[str, Any],
        name: str | None,
        options: dict[str, Any],
    ) -> str:
        """A run of ``target`` (plain ``inputs`` become values); ``options`` may give
        its ``stage``, ``stage_version`` and ``user_id``. Returns the run's name."""
        if name is not None:
            raise ValueError("kognitos-api runs take no name from their caller")
        if unknown := sorted(set(options) - {"stage", "stage_version", "user_id"}):
            raise TypeError(f"a seeded kognitos-api run has no field {unknown[0]!r}")
        automation = self.automations[target]
        stage = options.get("stage", PUBLISHED if PUBLISHED in automation.versions else DRAFT)
        if stage not in automation.versions:
            raise ValueError(f"automation {target} has no {stage} stage")
        inputs = {key: from_plain(value) for key, value in inputs.items()}
        user_id = options.get("user_id", self.user_id)
        version = options.get("stage_version", automation.versions[stage])
        return add_run(self.runs, automation, stage, version, inputs, user_id, timeline).name

    def unknown_id(self) -> str:
        """The name of a run of the default automation that does not exist."""
        return f"{self._default}/runs/{mint(RUN_ID_SIZE)}"

    def find(self, run_id: str) -> StoredRun:
        """The run named ``run_id``, or whose bare id it is (``KeyError`` if none)."""
        run = self.runs.get(run_id) or next((r for r in self.runs.values() if r.id == run_id), None)
        if run is None:
            raise KeyError(f"no run {run_id!r}")
        return run

    def force_status(self, run_id: str, native: str, *, undocumented: bool = False) -> None:
        """Put a run (by name or bare id) in state ``native`` now; the clock no longer
        moves it. An undocumented ``native`` renders as ``{native: {}}``."""
        if not undocumented and native not in self.statuses.documented:
            raise ValueError(
                f"{native!r} is not a documented {self.provider} state "
                f"({', '.join(self.statuses.documented)}); pass undocumented=True"
            )
        run = self.find(run_id)
        run.pin(native, self.statuses.phase_of(native), self.now())

    def state_of(self, run_id: str) -> str:
        """The state key of a run (by name or bare id) now."""
        return self.find(run_id).state(self.statuses, self.now(), self.stop_seconds)[0]

    def to_json(self, run: StoredRun) -> dict[str, Any]:
        """The ``v1Run`` as the API returns it now."""
        native, since = run.state(self.statuses, self.now(), self.stop_seconds)
        return run_json(run, native, since)

    # -- the provider's shapes ------------------------------------------------------------

    def error_body(
        self, status: int, message: str, *, code: str | None = None, details: Any = None
    ) -> Any:
        """``rpcStatus``: ``code`` is the gRPC code (given by name, or from ``status``)."""
        return rpc_status(status, message, code=code, details=details)

    def rpc_error(self, code: Code, message: str) -> web.Response:
        """An ``rpcStatus`` answer with ``code``, at the HTTP status it maps to."""
        return self.error(RpcError(code, message).status, message, code=code)

    def auth_error(self, request: web.Request) -> web.Response:
        """401 UNAUTHENTICATED."""
        return self.rpc_error("UNAUTHENTICATED", "missing or invalid bearer token")

    def is_run_object(self, value: dict[str, Any]) -> bool:
        """A ``v1Run``: an object with ``name`` and a ``state`` object."""
        return "name" in value and isinstance(value.get("state"), dict)

    def garble_status(self, run: dict[str, Any]) -> None:
        """Replace the state's key with ``mystery_status`` (its ``update_time`` stays)."""
        state = run["state"]
        garbled: dict[str, Any] = {self.mystery_status: {}}
        if "update_time" in state:
            garbled["update_time"] = state["update_time"]
        run["state"] = garbled

    # -- HTTP -----------------------------------------------------------------------------

    def middlewares(self) -> list[Any]:
        """The base's log, faults, error shape and auth, then refusals as ``rpcStatus``."""
        return [*super().middlewares(), self._refusals]

    @web.middleware
    async def _refusals(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except RpcError as exc:
            return self.rpc_error(exc.code, exc.message)
        except web.HTTPMethodNotAllowed:
            # Only the documented methods exist: anything else is no route at all.
            return self.rpc_error("NOT_FOUND", "Not Found")

    def routes(self, app: web.Application) -> None:
        """The five documented run operations, and nothing else."""
        app.router.add_post(_routed(_AUTOMATION + ":invoke"), self._invoke)
        app.router.add_get(_routed(_AUTOMATION + "/runs"), self._list)
        app.router.add_get(_routed(_RUN), self._get)
        app.router.add_post(_routed(_RUN + ":pause"), self._pause)
        app.router.add_post(_routed(_RUN + ":continue"), self._continue)

    def _automation(self, request: web.Request) -> Automation:
        ids = request.match_info
        check_path_ids(ids)
        organization, workspace = ids["organization_id"], ids["workspace_id"]
        if not any(org == organization for org, _ in self.workspaces):
            raise RpcError("NOT_FOUND", f"organization {organization} not found")
        if (organization, workspace) not in self.workspaces:
            raise RpcError("NOT_FOUND", f"workspace {workspace} not found")
        target = f"organizations/{organization}/workspaces/{workspace}"
        found = self.automations.get(f"{target}/automations/{ids['automation_id']}")
        if found is None:
            raise RpcError("NOT_FOUND", f"automation {ids['automation_id']} not found")
        return found

    def _run(self, request: web.Request) -> StoredRun:
        automation = self._automation(request)
        run = self.runs.get(f"{automation.target}/runs/{request.match_info['run_id']}")
        if run is None:
            raise RpcError("NOT_FOUND", f"run {request.match_info['run_id']} not found")
        return run

    async def _invoke(self, request: web.Request) -> web.Response:
        body = await read_body(request, ("stage", "inputs"))
        check_path_ids(request.match_info)
        stage = body.get("stage")
        if stage is None:
            raise RpcError("INVALID_ARGUMENT", "stage is required")
        if stage not in STAGES:
            raise RpcError("INVALID_ARGUMENT", f"stage must be one of {', '.join(STAGES)}")
        inputs = body.get("inputs")
        inputs = {} if inputs is None else inputs
        try:
            check_inputs(inputs)
        except BadValue as exc:
            raise RpcError("INVALID_ARGUMENT", f"invalid input value: {exc}") from None
        automation = self._automation(request)
        version = automation.versions.get(stage)
        if version is None:
            raise RpcError(
                "FAILED_PRECONDITION", f"automation {automation.id} has no {stage} version"
            )
        timeline = self.runs.timeline(automation.target)
        run = add_run(self.runs, automation, stage, version, inputs, self.user_id, timeline)
        self.record_created(
            CreatedRun(
                id=run.name,
                target=automation.target,
                inputs={key: to_plain(value) for key, value in inputs.items()},
                options={"stage": stage},
            )
        )
        return json_response({"run_id": run.id})

    async def _get(self, request: web.Request) -> web.Response:
        return json_response(self.to_json(self._run(request)))

    async def _list(self, request: web.Request) -> web.Response:
        check_path_ids(request.match_info)
        size = page_size(request.query.get("page_size"))
        text = request.query.get("filter", "")
        try:
            wanted = parse_filter(text)
        except BadFilter as exc:
            raise RpcError("INVALID_ARGUMENT", f"invalid filter: {exc}") from None
        automation = self._automation(request)
        start, stop = span(self._order, wanted)
        try:
            page = self.runs.page(
                PAGING,
                limit=size,
                cursor=request.query.get("page_token") or None,
                group=automation.target,
                where=lambda run: wanted.keeps(run.created_ns),
                scope=json.dumps([text, size]),
                start=start,
                stop=stop,
            )
        except BadCursor as exc:
            raise RpcError("INVALID_ARGUMENT", BAD_TOKEN[exc.reason]) from None
        body: dict[str, Any] = {"runs": [self.to_json(run) for run in page.items]}
        if page.next is not None:
            body["next_page_token"] = page.next
        return json_response(body)

    async def _pause(self, request: web.Request) -> web.Response:
        body = await read_body(request, ("reason",))
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason:
            raise RpcError("INVALID_ARGUMENT", "reason is required")
        run = self._run(request)
        now = self.now()
        state = run.state(self.statuses, now, self.stop_seconds)[0]
        if state not in PAUSABLE:
            raise RpcError("FAILED_PRECONDITION", f"run {run.id} is {state}: it cannot be paused")
        run.pause(now, reason)
        return json_response(self.to_json(run))

    async def _continue(self, request: web.Request) -> web.Response:
        await read_body(request, ())
        run = self._run(request)
        now = self.now()
        state = run.state(self.statuses, now, self.stop_seconds)[0]
        if state not in RESUMABLE:
            raise RpcError(
                "FAILED_PRECONDITION", f"run {run.id} is {state}: only a stopped run continues"
            )
        run.resume(now)
        return json_response(self.to_json(run))
