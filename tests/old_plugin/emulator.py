"""The emulator of the 0.1.0 plugin, as 0.1.0's guide (section 4) had one written.

Acme's API as documented: ``Authorization: Bearer <key>``; ids are 12 lowercase
alphanumerics; states ``QUEUED ACTIVE DONE ERROR STOPPED``;
``GET /runs?limit=&after=&state=`` -> ``{"runs": [...], "next": token|null}``;
errors ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

import attrs
from aiohttp import web

from runbridge.emulation import (
    BearerAuth,
    Emulator,
    NativeStatuses,
    Timeline,
    iso,
    json_response,
    read_json,
)

_ALPHABET = string.ascii_lowercase + string.digits
TARGETS = ("resize", "crop")
FINISHED = ("DONE", "ERROR", "STOPPED")


@attrs.define
class _Run:
    id: str
    target: str
    inputs: dict[str, Any]
    timeline: Timeline


class AcmeEmulator(Emulator):
    provider = "oldacme"
    auth = BearerAuth()  # or HeaderAuth("x-api-key"); checked by the base
    statuses = NativeStatuses(  # the documented statuses, in lifecycle order
        pending=("QUEUED",),
        running=("ACTIVE",),
        succeeded="DONE",
        failed={"task": "ERROR", "system": "ERROR", "timeout": "ERROR"},
        cancelled="STOPPED",
    )
    status_field = "state"  # where the native status is
    run_keys = frozenset({"target"})  # with "id" and status_field: a run
    optional_fields = frozenset({"result", "error", "finished"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs: dict[str, _Run] = {}

    @property
    def default_target(self) -> str:
        return "resize"

    def unknown_id(self) -> str:
        return "zzzzzzzzzzzz"

    def error_body(
        self, status: int, message: str, *, code: str | None = None, details: Any = None
    ) -> Any:
        return {"error": {"code": code or "ERROR", "message": message}}

    def to_json(self, run: _Run) -> dict[str, Any]:
        now = self.now()
        state = self.native_status(run.timeline, now)
        finished = state in FINISHED
        plan = run.timeline.plan
        return {
            "id": run.id,
            "target": run.target,
            "state": state,
            "inputs": run.inputs,
            "result": (plan.outputs or {}) if state == "DONE" else None,
            "error": "the task failed" if state == "ERROR" else None,
            "created": iso(run.timeline.created),
            "finished": iso(run.timeline.finished_at(now)) if finished else None,
        }

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/runs", self._create)
        app.router.add_get("/runs", self._list)
        app.router.add_get("/runs/{id}", self._get)
        app.router.add_post("/runs/{id}/cancel", self._cancel)

    def _find(self, request: web.Request) -> _Run | web.Response:
        run = self.runs.get(request.match_info["id"])
        if run is None:
            return self.error(404, "no such run", code="NOT_FOUND")
        return run

    async def _create(self, request: web.Request) -> web.Response:
        try:
            body = await read_json(request)
        except ValueError as exc:
            return self.error(400, str(exc), code="BAD_JSON")
        if not isinstance(body, dict) or body.get("target") not in TARGETS:
            return self.error(422, "unknown target", code="INVALID")
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict):
            return self.error(422, "inputs must be an object", code="INVALID")
        run_id = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        run = _Run(run_id, body["target"], inputs, Timeline(self.now(), self.take_plan()))
        self.runs[run_id] = run
        return json_response(self.to_json(run), status=201)

    async def _get(self, request: web.Request) -> web.Response:
        found = self._find(request)
        return found if isinstance(found, web.Response) else json_response(self.to_json(found))

    async def _list(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "20"))
        except ValueError:
            return self.error(422, "limit must be an integer", code="INVALID")
        if not 1 <= limit <= 50:
            return self.error(422, "limit must be 1-50", code="INVALID")
        after = request.query.get("after", "o0")
        if not after.startswith("o") or not after[1:].isdigit():
            return self.error(400, "cursor not recognised", code="BAD_CURSOR")
        start = int(after[1:])
        now = self.now()
        runs = sorted(self.runs.values(), key=lambda r: (-r.timeline.created, r.id))
        if (state := request.query.get("state")) is not None:
            runs = [r for r in runs if self.native_status(r.timeline, now) == state]
        page = runs[start : start + limit]
        more = start + limit < len(runs)
        return json_response(
            {"runs": [self.to_json(r) for r in page], "next": f"o{start + limit}" if more else None}
        )

    async def _cancel(self, request: web.Request) -> web.Response:
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        if found.timeline.phase(self.now()) == "finished":
            return self.error(409, "run already finished", code="ALREADY_FINISHED")
        found.timeline.force("STOPPED", self.now())
        return json_response(self.to_json(found))
