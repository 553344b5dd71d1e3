"""The emulator base class and serving it over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import random
import secrets
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

import orjson
from aiohttp import web

from .._registry import Registry, default_registry
from ._clock import Clock, ManualClock
from ._faults import KINDS, MALFORMED_BODY, SERVER_ERRORS, FaultKind, Faults, truncate, walk_runs
from ._lifecycle import Plan

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response encoded with orjson."""
    return web.Response(
        body=orjson.dumps(data), status=status, headers=headers, content_type="application/json"
    )


async def read_json(request: web.Request) -> Any:
    """The request body decoded, ``None`` when empty; ``ValueError`` when not JSON."""
    body = await request.read()
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from None


class Emulator:
    """Base of provider emulators: an aiohttp app, a clock, a token, and run plans.

    Subclasses set ``provider``, implement ``routes`` and ``default_target``, and
    turn a ``Plan`` into their provider's native statuses. Tests steer outcomes
    with ``plan_next`` and move time with ``clock.advance`` (manual clock).

    ``faults`` (a ``Faults`` profile, settable at any time) makes the emulator
    misbehave at random; ``inject`` and ``inject_fault`` make the next requests
    fail on purpose. Faults hit the requests ``fault_eligible`` accepts; to
    garble run objects, subclasses declare ``status_field``, ``run_keys`` and
    ``optional_fields``.
    """

    provider: ClassVar[str]
    """Name of the provider this emulator imitates."""
    status_field: ClassVar[str | None] = None
    """Key of the native status in run objects; ``None`` turns off the faults that
    garble run objects (``unknown_status``, ``missing_fields``)."""
    run_keys: ClassVar[frozenset[str]] = frozenset()
    """Keys that, with ``id`` and ``status_field``, mark a JSON object as a run."""
    optional_fields: ClassVar[frozenset[str]] = frozenset()
    """Run fields the provider documents as optional: what ``missing_fields`` removes."""
    mystery_status: ClassVar[str] = "mystery_state"
    """The status an ``unknown_status`` fault puts in run objects."""

    def __init__(
        self,
        *,
        token: str | None = None,
        clock: Clock | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.token = token or f"emu-{secrets.token_hex(12)}"
        self.clock: Clock = clock or ManualClock()
        self.default_plan = Plan()
        self._plans: deque[Plan] = deque()
        self.requests: list[tuple[str, str]] = []
        """Every request seen, as ``(method, path)``, in order."""
        self._injected: deque[tuple[int, dict[str, str], Any]] = deque()
        self._queued_faults: deque[FaultKind] = deque()
        self.fault_counts: Counter[str] = Counter()
        """How many faults of each kind were injected (random and ``inject_fault`` ones)."""
        self.faults = faults

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.provider}>"

    @property
    def default_target(self) -> str:
        """A target string that exists on this emulator, for tests and demos."""
        raise NotImplementedError

    def unknown_id(self) -> str:
        """A well-formed run id that does not exist here."""
        raise NotImplementedError

    def client_settings(self) -> dict[str, Any]:
        """Provider settings a client needs to talk to this emulator (besides the token)."""
        return {}

    def now(self) -> float:
        """Current emulator time."""
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move a manual clock forward (``TypeError`` on a real clock)."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("only a ManualClock can be advanced")
        self.clock.advance(seconds)

    def plan_next(self, plan: Plan | None = None, /, **fields: Any) -> Plan:
        """Queue the plan the next created run follows (``Plan(**fields)`` by default)."""
        chosen = plan if plan is not None else Plan(**fields)
        self._plans.append(chosen)
        return chosen

    def take_plan(self) -> Plan:
        """The plan for a run being created now."""
        return self._plans.popleft() if self._plans else self.default_plan

    def routes(self, app: web.Application) -> None:
        """Add the provider's routes to ``app``."""
        raise NotImplementedError

    def middlewares(self) -> list[Any]:
        """Middlewares around every route; the base one records requests and injects faults.

        Middlewares listed after it see only requests that faults let through, and
        their responses are what faults garble or lose: an ``Idempotency-Key``
        cache placed after it stores the real response. The second answers aiohttp's
        own errors (no such route, wrong method) in the provider's error shape.
        """
        return [self._record, self._http_errors]

    def route_error_body(self, status: int, message: str) -> Any:
        """The body answering a request no route takes (404, 405, 413...)."""
        return self.error_body(status, message)

    @web.middleware
    async def _http_errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return json_response(self.route_error_body(exc.status, exc.reason), status=exc.status)
        return response

    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` instead of serving them.

        ``body`` defaults to the provider's own error shape for that status.
        """
        for _ in range(times):
            self._injected.append((status, dict(headers or {}), body))

    def error_body(self, status: int, message: str) -> Any:
        """The provider's error body for ``status``."""
        return {"message": message}

    # -- faults -----------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        """The fault profile in force; setting one (``None``: no faults) restarts its seed."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        self._faults = Faults.none() if faults is None else faults
        self._rng = random.Random(self._faults.seed)  # noqa: S311 - chaos, not cryptography

    def inject_fault(self, kind: FaultKind, *, times: int = 1) -> None:
        """Hit the next ``times`` eligible requests with a fault of ``kind`` each.

        Queued faults come before the profile's random ones, one per request,
        and ignore its ``methods``/``paths``. A kind that cannot apply to the
        response it meets (``truncated`` on a 404, ``unknown_status`` on a body
        without runs) is used up without effect and not counted.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(KINDS)}")
        if times < 0:
            raise ValueError("times must not be negative")
        self._queued_faults.extend([kind] * times)

    def fault_eligible(self, request: web.Request) -> bool:
        """Whether faults may hit ``request``: by default, any request that found a route.

        Subclasses leave out requests a real provider serves elsewhere (health checks).
        """
        return request.match_info.http_exception is None

    def is_run_object(self, value: dict[str, Any]) -> bool:
        """Whether a JSON object in a response is a run (has ``id``, status and ``run_keys``)."""
        field = self.status_field
        if field is None or "id" not in value or field not in value:
            return False
        return self.run_keys <= value.keys()

    def _draw_faults(self, request: web.Request) -> list[FaultKind]:
        if not self.fault_eligible(request):
            return []
        if self._queued_faults:
            return [self._queued_faults.popleft()]
        faults = self._faults
        if not faults.active or not faults.covers(request.method, request.path):
            return []
        return faults.draw(self._rng)

    def _error_answer(
        self, kind: FaultKind, status: int, headers: dict[str, str] | None = None
    ) -> web.Response:
        self.fault_counts[kind] += 1
        body = self.error_body(status, f"injected fault: {kind}")
        return json_response(body, status=status, headers=headers)

    async def _drop(self, request: web.Request, kind: FaultKind) -> web.StreamResponse:
        # Closing the transport makes the client see the server disconnect; the
        # response returned here is never written (aiohttp treats the failed write
        # as the client having gone away and stays quiet).
        self.fault_counts[kind] += 1
        await request.read()
        transport = request.transport
        if transport is not None:
            transport.close()
        return web.Response(status=503)

    def _garble(self, body: bytes, kinds: list[FaultKind]) -> bytes | None:
        """``body`` with its run objects garbled as ``kinds`` say; ``None``: nothing to do."""
        wanted = [kind for kind in ("unknown_status", "missing_fields") if kind in kinds]
        if not wanted or self.status_field is None:
            return None
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        status_field, optional = self.status_field, self.optional_fields

        def mystery(run: dict[str, Any]) -> None:
            run[status_field] = self.mystery_status

        def strip(run: dict[str, Any]) -> None:
            for key in optional & run.keys():
                del run[key]

        visits = {"unknown_status": mystery, "missing_fields": strip}
        changed = False
        for kind in wanted:
            if walk_runs(data, self.is_run_object, visits[kind]):
                self.fault_counts[kind] += 1
                changed = True
        return orjson.dumps(data) if changed else None

    async def _apply_faults(
        self, request: web.Request, handler: Handler, kinds: list[FaultKind]
    ) -> web.StreamResponse:
        if "slow" in kinds:
            self.fault_counts["slow"] += 1
            await asyncio.sleep(self._faults.slow_seconds)
        if "rate_limited" in kinds:
            return self._error_answer("rate_limited", 429, {"Retry-After": "0"})
        if "rate_limited_bare" in kinds:
            return self._error_answer("rate_limited_bare", 429)
        if "server_error" in kinds:
            return self._error_answer("server_error", self._rng.choice(SERVER_ERRORS))
        if "reset_before" in kinds:
            return await self._drop(request, "reset_before")
        response = await handler(request)
        if "reset_after" in kinds:
            return await self._drop(request, "reset_after")
        if not (
            isinstance(response, web.Response)
            and 200 <= response.status < 300
            and isinstance(response.body, bytes)
            and response.body
        ):
            return response
        if "truncated" in kinds:
            if (cut := truncate(response.body)) is not None:
                self.fault_counts["truncated"] += 1
                response.body = cut
            return response
        if "malformed" in kinds:
            self.fault_counts["malformed"] += 1
            response.body = MALFORMED_BODY
            return response
        if (garbled := self._garble(response.body, kinds)) is not None:
            response.body = garbled
        return response

    # -- serving ----------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self._injected:
            status, headers, body = self._injected.popleft()
            payload = body if body is not None else self.error_body(status, "injected fault")
            return json_response(payload, status=status, headers=headers)
        if kinds := self._draw_faults(request):
            return await self._apply_faults(request, handler, kinds)
        return await handler(request)

    def make_app(self) -> web.Application:
        """A fresh aiohttp application serving this emulator."""
        app = web.Application(middlewares=self.middlewares(), client_max_size=64 * 1024 * 1024)
        self.routes(app)
        return app

    def outcome_native(self, plan: Plan) -> str:
        """The native terminal status a plan ends in."""
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on ``host:port`` (an ephemeral port by default) and yield the base URL."""
        runner = web.AppRunner(self.make_app(), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound_host, bound_port = runner.addresses[0][:2]
            yield f"http://{bound_host}:{bound_port}"
        finally:
            await runner.cleanup()

    def run(self, *, host: str = "127.0.0.1", port: int = 8765) -> None:
        """Serve in the foreground until interrupted (for local development)."""
        web.run_app(self.make_app(), host=host, port=port, print=None, access_log=None)


def load_emulator(provider: str, *, registry: Registry | None = None, **kwargs: Any) -> Emulator:
    """A new emulator for ``provider``, from the import path its adapter declares."""
    adapter = (registry or default_registry).adapter(provider)
    if not adapter.emulator:
        raise LookupError(f"the {provider} adapter does not declare an emulator")
    module_name, _, attr = adapter.emulator.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    emulator = factory(**kwargs)
    if not isinstance(emulator, Emulator):
        raise TypeError(f"{adapter.emulator} did not build an Emulator")
    return emulator
