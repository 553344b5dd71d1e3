"""The Kognitos REST API v2 emulator: runs of a process of an agent, served from memory."""

from __future__ import annotations

import contextlib
import json
import secrets
import string
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from aiohttp import web

from runbridge.emulation import (
    BadCursor,
    CreatedRun,
    Emulator,
    HeaderAuth,
    Paging,
    RunStore,
    Timeline,
    iso,
    json_response,
    read_json,
)

from ._checks import Invalid, check_create, check_list_query, detail
from ._facts import DENIED, ID, INVALID, NAME_MAX, STAGES, STATUSES

_ALPHABET = string.ascii_lowercase + string.digits
PAGING = Paging.cursors()
"""``continuation_token``: opaque, reusable, valid only with the filters (agent, process,
stage, limit) that produced it (ASSUMPTION of the provider facts)."""
BAD_TOKEN = {"forged": "invalid continuation token", "scope": "token belongs to another query"}


def _mint() -> str:
    # The facts' ASSUMPTION: 25 lowercase alphanumerics, like every documented example.
    return "".join(secrets.choice(_ALPHABET) for _ in range(25))


@dataclass
class StoredRun:
    """A run as the emulator keeps it: what the create sent, and its timeline."""

    id: str
    seq: int
    agent_id: str
    process_id: str
    stage: str
    name: str
    inputs: list[dict[str, Any]]
    file_ids: list[str] | None
    timeline: Timeline


class KognitosEmulator(Emulator):
    """Serves ``/v2/runs``, ``/v2/runs/{run_id}`` and ``/v2/health`` as documented.

    Run objects carry exactly the documented fields (``id``, ``agent_id``,
    ``process_id``, ``name``, ``created_at`` without offset, ``stage``,
    ``status``, ``file_ids``, ``outputs``); the undocumented ``inputs``,
    ``started_at`` and ``finished_at`` come only with ``extras``. Seed processes
    with ``add_process``; one exists from the start, named by ``default_target``.
    """

    provider = "kognitos"
    auth = HeaderAuth("x-api-key")
    public_paths = frozenset({"/v2/health"})
    statuses = STATUSES
    extras: ClassVar[Mapping[str, str]] = {
        "inputs": "run objects carry `inputs`, the [{name, value}] list the create sent",
        "timings": "run objects carry `started_at` and `finished_at` (no offset, or null)",
    }
    operations: ClassVar[Mapping[tuple[str, str], str]] = {
        ("POST", "/v2/runs"): "create",
        ("GET", "/v2/runs"): "list",
        ("GET", "/v2/runs/{run_id}"): "get",
        ("GET", "/v2/health"): "health",
    }
    status_field = "status"
    run_keys = frozenset({"agent_id", "process_id"})
    optional_fields = frozenset({"file_ids", "outputs", "inputs", "started_at", "finished_at"})
    """``file_ids`` and ``outputs`` (documented optional), and the extras when turned on."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.processes: dict[tuple[str, str], frozenset[str]] = {}
        """Stages of each ``(agent_id, process_id)``."""
        self.runs: RunStore[StoredRun] = RunStore(
            self, order=_newest_first, group=_process_of, mint=_mint
        )
        """Runs by id; each process's in listing order, so a page costs its own size, not
        the whole history (soaks list tens of thousands of runs)."""
        self._default = self.add_process()

    # -- seeding and test hooks ---------------------------------------------------------

    def add_process(
        self,
        agent_id: str | None = None,
        process_id: str | None = None,
        *,
        stages: tuple[str, ...] = STAGES,
    ) -> tuple[str, str]:
        """Create a process (minting missing ids) and return ``(agent_id, process_id)``."""
        agent_id = agent_id or _mint()
        process_id = process_id or _mint()
        for value in (agent_id, process_id):
            if not ID.fullmatch(value):
                raise ValueError(f"{value!r} is not a Kognitos id")
        if bad := set(stages) - set(STAGES):
            raise ValueError(f"unknown stages {sorted(bad)}; use {STAGES}")
        self.processes[agent_id, process_id] = frozenset(stages)
        return agent_id, process_id

    @property
    def default_target(self) -> str:
        """``<agent_id>/<process_id>`` of the process seeded at construction."""
        return "/".join(self._default)

    def add_target(self) -> str:
        """``<agent_id>/<process_id>`` of a new process."""
        return "/".join(self.add_process())

    def target_key(self, target: str) -> str | None:
        """``target`` if it is ``<agent_id>/<process_id>`` of a process added here."""
        agent, _, process = target.partition("/")
        return target if (agent, process) in self.processes else None

    def seed_run(
        self,
        target: str,
        timeline: Timeline,
        *,
        inputs: dict[str, Any],
        name: str | None,
        options: dict[str, Any],
    ) -> str:
        """A run of process ``target``; ``options`` may give its ``stage`` and
        ``file_ids``. Without ``name`` the run is named ``run <n>``."""
        if unknown := sorted(set(options) - {"stage", "file_ids"}):
            raise TypeError(f"a seeded kognitos run has no field {unknown[0]!r}")
        agent_id, _, process_id = target.partition("/")
        stage = options.get("stage", STAGES[-1])
        if stage not in self.processes[agent_id, process_id]:
            raise ValueError(f"process {target} has no {stage!r} stage")
        if name is not None and not (isinstance(name, str) and 1 <= len(name) <= NAME_MAX):
            raise ValueError(f"a kognitos run name is 1-{NAME_MAX} characters")
        seq = self.runs.next_seq()
        return self.runs.add(
            StoredRun(
                id=self.unknown_id(),
                seq=seq,
                agent_id=agent_id,
                process_id=process_id,
                stage=stage,
                name=name if name is not None else f"run {seq}",
                inputs=[{"name": k, "value": v} for k, v in inputs.items()],
                file_ids=options.get("file_ids"),
                timeline=timeline,
            )
        ).id

    def unknown_id(self) -> str:
        """A well-formed run id that no run has."""
        return self.runs.new_id()

    @contextlib.asynccontextmanager
    async def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve and yield the base URL, ``/v2`` included as in the real one."""
        async with super().serve(host=host, port=port) as url:
            yield f"{url}/v2"

    # -- the provider's shapes ----------------------------------------------------------

    def error_body(
        self, status: int, message: str, *, code: str | None = None, details: Any = None
    ) -> Any:
        """The ``ErrorModel``: ``{status_code, message, details}``; no codes are documented."""
        return {"status_code": status, "message": message, "details": details}

    def auth_error(self, request: web.Request) -> web.Response:
        """401 ``access not permitted``, as the API-keys page documents."""
        return self.error(401, DENIED)

    def to_json(self, run: StoredRun, now: float | None = None) -> dict[str, Any]:
        """The run object as the API returns it at ``now``."""
        now = self.now() if now is None else now
        status = self.native_status(run.timeline, now)
        outputs = None
        if status == STATUSES.succeeded:  # "available after successful completion"
            planned = run.timeline.plan.outputs
            values = planned if planned is not None else {"the output": _by_name(run.inputs)}
            outputs = [{"name": k, "value": v} for k, v in values.items()]
        body: dict[str, Any] = {
            "id": run.id,
            "agent_id": run.agent_id,
            "process_id": run.process_id,
            "name": run.name,
            "created_at": iso(run.timeline.created, naive=True),
            "stage": run.stage,
            "status": status,
            "file_ids": run.file_ids,
            "outputs": outputs,
        }
        if self.extra("inputs"):  # noqa: S610 - an emulator extra, not Django
            body["inputs"] = run.inputs
        if self.extra("timings"):  # noqa: S610 - an emulator extra, not Django
            finished = run.timeline.finished_at(now) if status in STATUSES.terminal else None
            body["started_at"] = iso(run.timeline.started_at(now), naive=True)
            body["finished_at"] = iso(finished, naive=True)
        return body

    # -- HTTP ---------------------------------------------------------------------------

    def middlewares(self) -> list[Any]:
        """The base's log, faults, error shape and key check, then schema violations."""
        return [*super().middlewares(), self._invalid]

    @web.middleware
    async def _invalid(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except Invalid as exc:
            return self.error(400, INVALID, details=exc.details)
        return response

    def routes(self, app: web.Application) -> None:
        """The v2 runs resource and the health check."""
        app.router.add_post("/v2/runs", self._create)
        app.router.add_get("/v2/runs", self._list)
        app.router.add_get("/v2/runs/{run_id}", self._get)
        app.router.add_get("/v2/health", self._health)

    def _process(self, agent_id: str, process_id: str) -> frozenset[str] | web.Response:
        if not any(agent == agent_id for agent, _ in self.processes):
            return self.error(404, "Agent not found")
        stages = self.processes.get((agent_id, process_id))
        if stages is None:
            return self.error(404, "Process not found")
        return stages

    async def _health(self, request: web.Request) -> web.Response:
        return json_response({"status": "OK"})

    async def _get(self, request: web.Request) -> web.Response:
        run = self.runs.get(request.match_info["run_id"])
        if run is None:
            return self.error(404, "Run not found")
        return json_response(self.to_json(run))

    async def _create(self, request: web.Request) -> web.Response:
        try:
            body = await read_json(request)
        except ValueError:
            raise Invalid([detail(None, "body is not valid JSON")]) from None
        check_create(body)
        stages = self._process(body["agent_id"], body["process_id"])
        if isinstance(stages, web.Response):
            return stages
        if body["stage"] not in stages:
            return self.error(404, f"Process has no {body['stage']} stage")
        run = StoredRun(
            id=self.runs.new_id(),
            seq=self.runs.next_seq(),
            agent_id=body["agent_id"],
            process_id=body["process_id"],
            stage=body["stage"],
            name=body["name"],
            inputs=list(body.get("inputs") or ()),
            file_ids=body.get("file_ids"),
            timeline=self.runs.timeline(f"{body['agent_id']}/{body['process_id']}"),
        )
        self.runs.add(run)
        options = {k: v for k, v in body.items() if k not in ("agent_id", "process_id", "inputs")}
        self.record_created(
            CreatedRun(
                id=run.id,
                target=f"{run.agent_id}/{run.process_id}",
                inputs=_by_name(run.inputs),
                name=options.pop("name"),
                options=options,
            )
        )
        return json_response(self.to_json(run, run.timeline.created), status=201)

    async def _list(self, request: web.Request) -> web.Response:
        agent_id, process_id, stage, limit = check_list_query(request.query)
        found = self._process(agent_id, process_id)
        if isinstance(found, web.Response):
            return found
        try:
            page = self.runs.page(
                PAGING,
                limit=limit,
                cursor=request.query.get("continuation_token") or None,
                group=(agent_id, process_id),
                where=lambda run: stage in (None, run.stage),
                scope=json.dumps([stage, limit]),
            )
        except BadCursor as exc:
            raise Invalid([detail("continuation_token", BAD_TOKEN[exc.reason])]) from None
        items = [self.to_json(run) for run in page.items]
        return json_response({"items": items, "continuation_token": page.next})


def _by_name(values: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["name"]: item.get("value") for item in values}


def _process_of(run: StoredRun) -> tuple[str, str]:
    return run.agent_id, run.process_id


def _newest_first(run: StoredRun) -> tuple[float, int]:
    # Sort order is undocumented; newest first by created_at is the facts' ASSUMPTION.
    # Among runs created at the same instant, the later one comes first.
    return (-run.timeline.created, -run.seq)
