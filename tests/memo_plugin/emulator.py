"""Emulator of "memo", a minimal provider used to test the core over real HTTP.

Wire format (deliberately unlike the canonical model):
- auth ``Authorization: Bearer <token>``; ids are 12 lowercase alphanumerics;
- states ``QUEUED ACTIVE DONE ERROR TIMEOUT STOPPED`` (and whatever a plan forces);
- list ``GET /runs?limit=&after=&state=`` -> ``{"runs": [...], "next": token|null}``;
- errors ``{"error": {"code", "message", "field"}}``.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
from aiohttp import web

from runbridge.emulation import (
    BadCursor,
    BearerAuth,
    CreatedRun,
    Emulator,
    NativeStatuses,
    Paging,
    RunStore,
    Timeline,
    iso,
    json_response,
    read_json,
)

_ALPHABET = string.ascii_lowercase + string.digits
TARGETS = ("echo", "sum")


@attrs.define
class _Run:
    id: str
    target: str
    name: str | None
    inputs: dict[str, Any]
    timeline: Timeline


TERMINAL = ("DONE", "ERROR", "TIMEOUT", "STOPPED")
PAGING = Paging.offsets("o{}")
"""``after`` is an offset cursor: ``o40`` starts after forty runs."""


def _new_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


class MemoEmulator(Emulator):
    """Serves the memo API from memory."""

    provider = "memo"
    auth = BearerAuth()
    statuses = NativeStatuses(
        pending=("QUEUED",),
        running=("ACTIVE",),
        succeeded="DONE",
        failed={"task": "ERROR", "system": "ERROR", "timeout": "TIMEOUT"},
        cancelled="STOPPED",
    )
    operations: ClassVar[Mapping[tuple[str, str], str]] = {
        ("POST", "/runs"): "create",
        ("GET", "/runs"): "list",
        ("GET", "/runs/{id}"): "get",
        ("PATCH", "/runs/{id}"): "update",
        ("POST", "/runs/{id}/cancel"): "cancel",
        ("DELETE", "/runs/{id}"): "delete",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs: RunStore[_Run] = RunStore(
            self, order=lambda run: (-run.timeline.created, run.id), mint=_new_id
        )
        self.oldest_first = False
        """List oldest runs first, against what the memo API says (to test distrust)."""

    @property
    def default_target(self) -> str:
        return "echo"

    def unknown_id(self) -> str:
        return "zzzzzzzzzzzz"

    def target_key(self, target: str) -> str | None:
        return target if target in TARGETS else None

    def seed_run(
        self,
        target: str,
        timeline: Timeline,
        *,
        inputs: dict[str, Any],
        name: str | None,
        options: dict[str, Any],
    ) -> str:
        return self.runs.add(_Run(self.runs.new_id(), target, name, inputs, timeline)).id

    def error_body(
        self, status: int, message: str, *, code: str | None = None, details: Any = None
    ) -> Any:
        default = {401: "UNAUTHENTICATED", 404: "NOT_FOUND", 409: "CONFLICT", 429: "SLOW_DOWN"}
        code = code or default.get(status, "ERROR")
        return {"error": {"code": code, "message": message, "field": details}}

    def auth_error(self, request: web.Request) -> web.Response:
        return self._fail(401, "UNAUTHENTICATED", "missing or wrong token")

    def _state(self, run: _Run, now: float) -> str:
        return self.native_status(run.timeline, now)

    def to_json(self, run: _Run) -> dict[str, Any]:
        now = self.now()
        tl = run.timeline
        state = self._state(run, now)
        done = state in TERMINAL or tl.phase(now) == "finished"
        error = None
        if state in ("ERROR", "TIMEOUT"):
            error = {"kind": state.lower(), "message": "the task failed", "code": "E42"}
        result = None
        if state == "DONE":
            result = tl.plan.outputs if tl.plan.outputs is not None else {"echo": run.inputs}
        return {
            "id": run.id,
            "target": run.target,
            "name": run.name,
            "state": state,
            "inputs": run.inputs,
            "result": result,
            "error": error,
            "created": iso(tl.created),
            "started": iso(tl.started_at(now)),
            "finished": iso(tl.finished_at(now)) if done else None,
            "cost": "0.25" if done else None,
            "steps_done": 2 if done else (1 if state == "ACTIVE" else 0),
            "steps_total": 2,
        }

    def _fail(self, status: int, code: str, message: str, field: str | None = None) -> web.Response:
        return self.error(status, message, code=code, details=field)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/runs", self._create)
        app.router.add_get("/runs", self._list)
        app.router.add_get("/runs/{id}", self._get)
        app.router.add_patch("/runs/{id}", self._patch)
        app.router.add_post("/runs/{id}/cancel", self._cancel)
        app.router.add_delete("/runs/{id}", self._delete)

    def _find(self, request: web.Request) -> _Run | web.Response:
        run = self.runs.get(request.match_info["id"])
        if run is None:
            return self._fail(404, "NOT_FOUND", "no such run")
        return run

    async def _create(self, request: web.Request) -> web.Response:
        try:
            body = await read_json(request)
        except ValueError as exc:
            return self._fail(400, "BAD_JSON", str(exc))
        if not isinstance(body, dict):
            return self._fail(400, "BAD_BODY", "body must be an object")
        target = body.get("target")
        if target not in TARGETS:
            return self._fail(422, "INVALID", f"unknown target {target!r}", "target")
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 100):
            return self._fail(422, "INVALID", "name must be 1-100 characters", "name")
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict):
            return self._fail(422, "INVALID", "inputs must be an object", "inputs")
        run = self.runs.add(
            _Run(self.runs.new_id(), target, name, inputs, self.runs.timeline(target))
        )
        self.record_created(CreatedRun(id=run.id, target=target, inputs=inputs, name=name))
        return json_response(self.to_json(run), status=201)

    async def _get(self, request: web.Request) -> web.Response:
        found = self._find(request)
        return found if isinstance(found, web.Response) else json_response(self.to_json(found))

    async def _list(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "20"))
        except ValueError:
            return self._fail(422, "INVALID", "limit must be an integer", "limit")
        if not 1 <= limit <= 50:
            return self._fail(422, "INVALID", "limit must be 1-50", "limit")
        state = request.query.get("state")
        now = self.now()
        runs = self.runs.listed()
        if self.oldest_first:
            runs.reverse()
        try:
            page = PAGING.page(
                runs,
                limit=limit,
                cursor=request.query.get("after"),
                where=None if state is None else lambda r: self._state(r, now) == state,
            )
        except BadCursor:
            return self._fail(400, "BAD_CURSOR", "cursor not recognised", "after")
        return json_response({"runs": [self.to_json(r) for r in page.items], "next": page.next})

    async def _patch(self, request: web.Request) -> web.Response:
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        body = await read_json(request) or {}
        if "state" in body:
            state = str(body["state"])
            found.timeline.pin(state, self.statuses.phase_of(state), self.now())
        if "inputs" in body:
            found.inputs = dict(body["inputs"])
        return json_response(self.to_json(found))

    async def _cancel(self, request: web.Request) -> web.Response:
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        if found.timeline.phase(self.now()) == "finished":
            return self._fail(409, "ALREADY_FINISHED", "run already finished")
        found.timeline.force("STOPPED", self.now())
        return json_response(self.to_json(found))

    async def _delete(self, request: web.Request) -> web.Response:
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        del self.runs[found.id]
        return web.Response(status=204)
