"""An in-memory emulator of the Kognitos REST API v2 runs resource, served by aiohttp.

It follows ``kognitos.md`` (the provider facts): ``x-api-key`` auth, runs of a
process of an agent, ``ErrorModel`` bodies, continuation tokens with ``null`` on
the last page. With ``extensions=True`` (the default) run objects also carry
``inputs``, ``started_at`` and ``finished_at``, which the documented schema lacks.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import itertools
import re
import secrets
import string
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import attrs
import orjson
from aiohttp import web

from runbridge import RunStatus
from runbridge.emulation import Emulator, Plan, Timeline, iso, json_response, read_json

from ._target import ID_PATTERN, STAGES, Target

_ALPHABET = string.ascii_lowercase + string.digits
_ID = re.compile(ID_PATTERN)
TERMINAL = ("Succeeded", "Failed", "Cancelled", "TimedOut")
"""Native statuses a run does not leave."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _mint() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(25))


@attrs.define
class _Run:
    id: str
    seq: int
    target: Target
    name: str
    inputs: list[dict[str, Any]]
    file_ids: list[str] | None
    timeline: Timeline


class _Invalid(Exception):
    """A request that breaks the documented constraints: 400 with details."""

    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__("Invalid input values")
        self.details = details


class KognitosEmulator(Emulator):
    """Serves ``/v2/runs``, ``/v2/runs/{run_id}`` and ``/v2/health`` from memory.

    Seed processes with ``add_process``; one exists from the start, named by
    ``default_target``. Runs go ``Created`` (at creation), ``Pending`` (queued),
    ``Running``, then the plan's outcome, on the emulator clock.
    """

    provider = "kognitos"
    status_field = "status"
    run_keys = frozenset({"agent_id", "process_id"})
    optional_fields = frozenset(
        {"file_ids", "outputs", "inputs", "started_at", "finished_at", "error"}
    )
    """``file_ids`` and ``outputs`` (documented optional) and the undocumented extensions."""

    def __init__(self, *, extensions: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extensions = extensions
        """Whether run objects carry undocumented ``inputs``, ``started_at``, ``finished_at``."""
        self.processes: dict[tuple[str, str], frozenset[str]] = {}
        """Stages of each ``(agent_id, process_id)``."""
        self.runs: dict[str, _Run] = {}
        self._seq = itertools.count()
        self._token_key = secrets.token_bytes(32)
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
            if not _ID.fullmatch(value):
                raise ValueError(f"{value!r} is not a Kognitos id")
        if bad := set(stages) - set(STAGES):
            raise ValueError(f"unknown stages {sorted(bad)}; use {STAGES}")
        self.processes[agent_id, process_id] = frozenset(stages)
        return agent_id, process_id

    @property
    def default_target(self) -> str:
        """The target of the process seeded at construction."""
        return "/".join(self._default)

    def unknown_id(self) -> str:
        """A well-formed run id that no run has."""
        while (candidate := _mint()) in self.runs:
            pass  # pragma: no cover - 36**25 ids
        return candidate

    def force(self, run_id: str, status: str) -> None:
        """Pin a run to a native status now, as if someone stopped it in the Kognitos UI."""
        self.runs[run_id].timeline.force(status, self.now())

    def error_body(self, status: int, message: str) -> Any:
        """The ``ErrorModel`` body."""
        return {"status_code": status, "message": message, "details": None}

    def fault_eligible(self, request: web.Request) -> bool:
        """The runs resource only: the health check answers even when the API misbehaves."""
        return super().fault_eligible(request) and request.path != "/v2/health"

    def outcome_native(self, plan: Plan) -> str:
        """``Succeeded``, ``Failed``, ``TimedOut`` or ``Cancelled``, or ``plan.native``."""
        if plan.native is not None:
            return plan.native
        if plan.outcome is RunStatus.SUCCEEDED:
            return "Succeeded"
        if plan.outcome is RunStatus.CANCELLED:
            return "Cancelled"
        return "TimedOut" if plan.failure == "timeout" else "Failed"

    @contextlib.asynccontextmanager
    async def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve and yield the base URL, ``/v2`` included as in the real one."""
        async with super().serve(host=host, port=port) as url:
            yield f"{url}/v2"

    # -- run objects --------------------------------------------------------------------

    def status(self, run: _Run, now: float) -> str:
        """The native status of ``run`` at ``now``."""
        timeline = run.timeline
        if timeline.forced is not None:
            return timeline.forced
        phase = timeline.phase(now)
        if phase == "pending":
            return "Created" if now <= timeline.created else "Pending"
        if phase == "running":
            return "Running"
        return self.outcome_native(timeline.plan)

    def to_json(self, run: _Run, now: float | None = None) -> dict[str, Any]:
        """The run object as the API returns it."""
        now = self.now() if now is None else now
        status = self.status(run, now)
        outputs = None
        if status == "Succeeded":
            planned = run.timeline.plan.outputs
            values = planned if planned is not None else {"the output": _as_dict(run.inputs)}
            outputs = [{"name": k, "value": v} for k, v in values.items()]
        body: dict[str, Any] = {
            "id": run.id,
            "agent_id": run.target.agent_id,
            "process_id": run.target.process_id,
            "name": run.name,
            "created_at": iso(run.timeline.created, naive=True),
            "stage": run.target.stage,
            "status": status,
            "file_ids": run.file_ids,
            "outputs": outputs,
        }
        if self.extensions:
            finished = run.timeline.finished_at(now) if status in TERMINAL else None
            body["inputs"] = run.inputs
            body["started_at"] = iso(run.timeline.started_at(now), naive=True)
            body["finished_at"] = iso(finished, naive=True)
        return body

    # -- HTTP ---------------------------------------------------------------------------

    def _error(
        self, status: int, message: str, details: list[dict[str, Any]] | None = None
    ) -> web.Response:
        return json_response(
            {"status_code": status, "message": message, "details": details}, status=status
        )

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # Checks the key, and turns schema violations raised by handlers into 400s.
        if not hmac.compare_digest(request.headers.get("x-api-key", ""), self.token):
            return self._error(401, "access not permitted")
        try:
            return await handler(request)
        except _Invalid as exc:
            return self._error(400, "Invalid input values", exc.details)

    def middlewares(self) -> list[Any]:
        """Request log and fault injection first, then the API key check."""
        return [*super().middlewares(), self._auth]

    def routes(self, app: web.Application) -> None:
        """The v2 runs resource and the health check."""
        app.router.add_post("/v2/runs", self._create)
        app.router.add_get("/v2/runs", self._list)
        app.router.add_get("/v2/runs/{run_id}", self._get)
        app.router.add_get("/v2/health", self._health)

    def _process(self, agent_id: str, process_id: str) -> frozenset[str] | web.Response:
        if not any(agent == agent_id for agent, _ in self.processes):
            return self._error(404, "Agent not found")
        stages = self.processes.get((agent_id, process_id))
        if stages is None:
            return self._error(404, "Process not found")
        return stages

    async def _health(self, request: web.Request) -> web.Response:
        return json_response({"status": "OK"})

    async def _get(self, request: web.Request) -> web.Response:
        run = self.runs.get(request.match_info["run_id"])
        if run is None:
            return self._error(404, "Run not found")
        return json_response(self.to_json(run))

    async def _create(self, request: web.Request) -> web.Response:
        try:
            body = await read_json(request)
        except ValueError:
            raise _Invalid([{"field": None, "message": "body is not valid JSON"}]) from None
        if not isinstance(body, dict):
            raise _Invalid([{"field": None, "message": "body must be an object"}])
        _check_create(body)
        stages = self._process(body["agent_id"], body["process_id"])
        if isinstance(stages, web.Response):
            return stages
        if body["stage"] not in stages:
            return self._error(404, f"Process has no {body['stage']} stage")
        now = self.now()
        run = _Run(
            id=self.unknown_id(),
            seq=next(self._seq),
            target=Target(body["agent_id"], body["process_id"], body["stage"]),
            name=body["name"],
            inputs=list(body.get("inputs") or ()),
            file_ids=body.get("file_ids"),
            timeline=Timeline(now, self.take_plan()),
        )
        self.runs[run.id] = run
        return json_response(self.to_json(run, now), status=201)

    async def _list(self, request: web.Request) -> web.Response:
        query = request.query
        details = [
            {"field": key, "message": "field required"}
            for key in ("agent_id", "process_id")
            if not query.get(key)
        ]
        if details:
            raise _Invalid(details)
        agent_id, process_id = query["agent_id"], query["process_id"]
        stage = query.get("stage") or None
        if stage is not None and stage not in STAGES:
            raise _Invalid([{"field": "stage", "message": f"must be one of {STAGES}"}])
        limit = _limit(query.get("limit"))
        found = self._process(agent_id, process_id)
        if isinstance(found, web.Response):
            return found
        scope = _scope(agent_id, process_id, stage, limit)
        after = None
        if token := query.get("continuation_token"):
            after = self._read_token(token, scope)
        runs = sorted(
            (
                r
                for r in self.runs.values()
                if (r.target.agent_id, r.target.process_id) == (agent_id, process_id)
                and (stage is None or r.target.stage == stage)
            ),
            key=_newest_first,
        )
        if after is not None:
            runs = [r for r in runs if _newest_first(r) > after]
        page, rest = runs[:limit], runs[limit:]
        next_token = self._make_token(_newest_first(page[-1]), scope) if rest else None
        return json_response(
            {"items": [self.to_json(r) for r in page], "continuation_token": next_token}
        )

    # -- continuation tokens: the position after the last item, signed, bound to a query --

    def _make_token(self, position: tuple[float, int], scope: str) -> str:
        payload = orjson.dumps([position[0], position[1], scope])
        mac = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:12]
        return _b64(payload) + "." + _b64(mac)

    def _read_token(self, token: str, scope: str) -> tuple[float, int]:
        bad = _Invalid([{"field": "continuation_token", "message": "invalid continuation token"}])
        head, _, tail = token.partition(".")
        try:
            payload, mac = _unb64(head), _unb64(tail)
        except (ValueError, binascii.Error):
            raise bad from None
        expected = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(mac, expected):
            raise bad
        created, seq, token_scope = orjson.loads(payload)
        if token_scope != scope:
            raise _Invalid(
                [{"field": "continuation_token", "message": "token belongs to another query"}]
            )
        return float(created), int(seq)


def _as_dict(values: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["name"]: item.get("value") for item in values}


def _newest_first(run: _Run) -> tuple[float, int]:
    # Later creation first; among runs created at the same instant, the later one first.
    return (-run.timeline.created, -run.seq)


def _scope(agent_id: str, process_id: str, stage: str | None, limit: int) -> str:
    query = orjson.dumps([agent_id, process_id, stage, limit])
    return hashlib.sha256(query).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _limit(raw: str | None) -> int:
    if raw is None or raw in ("", "null"):
        return 10
    try:
        limit = int(raw)
    except ValueError:
        raise _Invalid([{"field": "limit", "message": "must be an integer"}]) from None
    if not 1 <= limit <= 100:
        raise _Invalid([{"field": "limit", "message": "must be from 1 to 100"}])
    return limit


def _check_create(body: Mapping[str, Any]) -> None:
    """Raise ``_Invalid`` listing every way ``body`` breaks the ``POST /v2/runs`` schema."""
    details = []
    for key in ("agent_id", "process_id"):
        value = body.get(key)
        if not isinstance(value, str) or not _ID.fullmatch(value):
            details.append({"field": key, "message": "must be 1-26 of [a-zA-Z0-9-_]"})
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        details.append({"field": "name", "message": "must be a string of 1-100 characters"})
    if body.get("stage") not in STAGES:
        details.append({"field": "stage", "message": f"must be one of {STAGES}"})
    inputs = body.get("inputs")
    if inputs is not None and not (
        isinstance(inputs, list)
        and all(
            isinstance(i, dict) and isinstance(i.get("name"), str) and "value" in i for i in inputs
        )
    ):
        details.append({"field": "inputs", "message": "must be a list of {name, value}"})
    file_ids = body.get("file_ids")
    if file_ids is not None and not (
        isinstance(file_ids, list) and all(isinstance(f, str) and f for f in file_ids)
    ):
        details.append({"field": "file_ids", "message": "must be a list of file ids"})
    if details:
        raise _Invalid(details)
