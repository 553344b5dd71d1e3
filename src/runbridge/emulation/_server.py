"""The emulator base class and serving it over loopback HTTP."""

from __future__ import annotations

import contextlib
import secrets
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

import orjson
from aiohttp import web

from .._model import RunStatus
from ._clock import Clock, ManualClock
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
    """

    provider: ClassVar[str]
    """Name of the provider this emulator imitates."""

    def __init__(self, *, token: str | None = None, clock: Clock | None = None) -> None:
        self.token = token or f"emu-{secrets.token_hex(12)}"
        self.clock: Clock = clock or ManualClock()
        self.default_plan = Plan()
        self._plans: deque[Plan] = deque()
        self.requests: list[tuple[str, str]] = []
        """Every request seen, as ``(method, path)``, in order."""
        self._injected: deque[tuple[int, dict[str, str], Any]] = deque()

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
        """Middlewares around every route; the base one records requests."""
        return [self._record]

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

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self._injected:
            status, headers, body = self._injected.popleft()
            payload = body if body is not None else self.error_body(status, "injected fault")
            return json_response(payload, status=status, headers=headers)
        return await handler(request)

    def make_app(self) -> web.Application:
        """A fresh aiohttp application serving this emulator."""
        app = web.Application(middlewares=self.middlewares(), client_max_size=64 * 1024 * 1024)
        self.routes(app)
        return app

    def outcome_native(self, plan: Plan) -> str:
        """The native terminal status a plan ends in."""
        raise NotImplementedError

    @staticmethod
    def canonical_outcomes() -> tuple[RunStatus, ...]:
        """Outcomes a plan can ask for."""
        return (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)

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
