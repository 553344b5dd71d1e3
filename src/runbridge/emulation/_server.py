"""The emulator base class and serving it over loopback HTTP."""

from __future__ import annotations

import contextlib
import secrets
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any, ClassVar

import orjson
from aiohttp import web

from ._auth import Auth, matching
from ._clock import Clock, ManualClock, PollingClock, http_date
from ._deliveries import DeliveryLoop
from ._faults import FaultKind, Faults
from ._injection import FaultInjection
from ._lifecycle import NativeStatuses, Plan, Timeline
from ._log import LoggedRequest, mask_body, mask_headers
from ._planning import Planning
from ._rate_limits import RateLimit, RateLimiter
from ._rate_limits import Verdict as RateVerdict

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CREDENTIAL = web.RequestKey("runbridge_emulator_credential", str)
"""The accepted credential a request carried (set by the base's auth check)."""


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response encoded with orjson."""
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        headers=dict(headers) if headers else None,
        content_type="application/json",
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


class Emulator(Planning, FaultInjection, DeliveryLoop):
    """Base of provider emulators: an aiohttp app, a clock, a token, and run plans.

    A subclass declares what its provider documents, once:

    - ``provider``, and ``auth`` (``BearerAuth()`` or ``HeaderAuth("x-api-key")``),
      checked by the base on every routed request outside ``public_paths``;
    - ``statuses``: the documented native statuses and how a run's lifecycle
      passes through them (``NativeStatuses``);
    - ``error_body``: the provider's error shape, used by ``error`` and by every
      answer the base gives (auth failures, injected faults, unrouted paths);
    - ``extras``: named conveniences the provider does not document, each off
      unless a test turns it on with ``extras={...}``;
    - ``secret_fields``: body keys whose values the request ``log`` masks.

    Subclasses keep their runs in ``runs``, a ``RunStore`` (each run with a
    ``timeline``), implement
    ``routes``, ``default_target`` and ``unknown_id``, name each route's
    ``operations``, and note creates with ``record_created``; ``target_key``
    and ``seed_run`` let tests plan per target and seed histories. Tests steer
    outcomes with ``plan_next``/``plan_every``, add existing runs with ``seed``,
    move time with ``advance`` (manual clock; a ``PollingClock`` also moves on
    every request), put a run in any documented native status with
    ``force_status``, and read ``log``, ``calls`` and ``created``.

    ``faults`` (a ``Faults`` profile, settable at any time) makes the emulator
    misbehave at random; ``inject`` and ``inject_fault`` make the next requests
    fail on purpose. Faults hit the requests ``fault_eligible`` accepts; to
    garble run objects, subclasses declare ``status_field``, ``run_keys`` and
    ``optional_fields``.

    Run events: a subclass that declares ``event_runs``, ``run_event`` and
    ``sign_delivery`` has each terminal transition POSTed to its receiver while
    ``serve()`` runs (``deliveries``, ``delivery_faults``, ``inject_delivery_fault``);
    ``send_events_to(url)`` tells tests (and the conformance kit) how to turn them on.
    """

    provider: ClassVar[str]
    """Name of the provider this emulator imitates."""
    auth: ClassVar[Auth | None] = None
    """How requests carry their credential; ``None``: the subclass checks it itself."""
    public_paths: ClassVar[frozenset[str]] = frozenset()
    """Paths that need no credential (health checks); faults do not hit them either."""
    statuses: ClassVar[NativeStatuses]
    """The provider's documented run statuses and the lifecycle through them."""
    extras: ClassVar[Mapping[str, str]] = {}
    """Undocumented behaviours a test may turn on, by name, with what each adds."""
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    """Request body keys whose values the log masks (sensitive inputs)."""
    operations: ClassVar[Mapping[tuple[str, str], str]] = {}
    """What each route does, by ``(METHOD, route path)``: ``create``, ``get``, ``list``..."""

    def __init__(
        self,
        *,
        token: str | None = None,
        clock: Clock | None = None,
        faults: Faults | None = None,
        extras: Iterable[str] = (),
        rate_limit: str | int | None = None,
        rate_window: float = 60.0,
    ) -> None:
        self.token = token or f"emu-{secrets.token_hex(12)}"
        limit = RateLimit.of(rate_limit, rate_window)
        self.rate_limiter = RateLimiter(limit) if limit is not None else None
        """The rate limit this emulator enforces per credential (``rate_limit="20/s"``), if any."""
        self.clock: Clock = clock or ManualClock()
        self._init_plans()
        self.runs: MutableMapping[str, Any] = {}
        """Runs by id, each with a ``timeline``: a ``RunStore`` an emulator declares."""
        self.log: list[LoggedRequest] = []
        """Every request received, in order, with credentials and secret fields masked."""
        self._injected: deque[tuple[int, dict[str, str], Any]] = deque()
        self._queued_faults: deque[FaultKind] = deque()
        self.fault_counts: Counter[str] = Counter()
        """How many faults of each kind were injected (random and ``inject_fault`` ones)."""
        self.faults = faults
        wanted = frozenset([extras] if isinstance(extras, str) else extras)
        if unknown := sorted(wanted - self.extras.keys()):
            known = ", ".join(sorted(self.extras)) or "none"
            raise ValueError(
                f"{self.provider} emulator has no extra {unknown[0]!r} (extras: {known})"
            )
        self.enabled_extras = wanted
        """The undocumented behaviours turned on for this emulator."""
        self._init_deliveries()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.provider}>"

    def extra(self, name: str) -> bool:
        """Whether the undocumented behaviour ``name`` is turned on."""
        if name not in self.extras:
            raise KeyError(f"{self.provider} emulator declares no extra {name!r}")
        return name in self.enabled_extras

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request seen, as ``(method, path)``, in order."""
        return [(entry.method, entry.path) for entry in self.log]

    @property
    def calls(self) -> Counter[str]:
        """How many requests each operation received (``calls["create"]``), refused ones too."""
        return Counter(entry.operation for entry in self.log if entry.operation is not None)

    def operation_of(self, method: str, route: str, body: Any) -> str | None:
        """The operation a request to ``route`` (its path template) asks for."""
        return self.operations.get((method, route))

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

    def accepted_tokens(self) -> tuple[str, ...]:
        """Credentials the API accepts; ``token`` by default."""
        return (self.token,)

    def secrets_of(self, run_id: str) -> dict[str, Any] | None:
        """The sensitive inputs the provider stored for a run (its vault), for tests to
        check they arrived; ``None`` when the provider takes none."""
        return None

    def now(self) -> float:
        """Current emulator time."""
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move a manual clock forward (``TypeError`` on a real clock)."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("only a ManualClock can be advanced")
        self.clock.advance(seconds)

    def outcome_native(self, plan: Plan) -> str:
        """The native terminal status a plan ends in."""
        return self.statuses.outcome(plan)

    def native_status(self, timeline: Timeline, now: float | None = None) -> str:
        """The native status of a run with ``timeline`` at ``now`` (default: the present)."""
        return self.statuses.at(timeline, self.now() if now is None else now)

    def force_status(self, run_id: str, native: str, *, undocumented: bool = False) -> None:
        """Put run ``run_id`` in native status ``native`` now; the clock no longer moves it.

        ``native`` must be one of the provider's documented statuses, unless
        ``undocumented`` says a test wants a value the provider never documented.
        """
        if not undocumented and native not in self.statuses.documented:
            raise ValueError(
                f"{native!r} is not a documented {self.provider} status "
                f"({', '.join(self.statuses.documented)}); pass undocumented=True"
            )
        run = self.runs.get(run_id)
        if run is None:
            raise KeyError(f"no run {run_id!r}")
        timeline: Timeline = run.timeline
        timeline.pin(native, self.statuses.phase_of(native), self.now())

    def routes(self, app: web.Application) -> None:
        """Add the provider's routes to ``app``."""
        raise NotImplementedError

    def middlewares(self) -> list[Any]:
        """Middlewares around every route: log and faults, error shape, then auth.

        Middlewares listed after these see only requests that faults let through,
        and their responses are what faults garble or lose: an ``Idempotency-Key``
        cache placed after them stores the real response.
        """
        return [self._record, self._http_errors, self._auth]

    # -- errors -----------------------------------------------------------------------

    def error_body(
        self, status: int, message: str, *, code: str | None = None, details: Any = None
    ) -> Any:
        """The provider's error body; subclasses give their provider's shape."""
        return {"message": message}

    def error(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        """An error response in the provider's shape."""
        body = self.error_body(status, message, code=code, details=details)
        return json_response(body, status=status, headers=headers)

    def auth_error(self, request: web.Request) -> web.Response:
        """The answer to a request without a valid credential."""
        return self.error(401, "missing or invalid credentials")

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

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        routed = request.match_info.http_exception is None
        if self.auth is not None and routed and request.path not in self.public_paths:
            token = matching(self.auth.token(request.headers), self.accepted_tokens())
            if token is None:
                return self.auth_error(request)
            request[CREDENTIAL] = token
            if self.rate_limiter is not None:
                verdict = self.rate_limiter.check(token, self.now())
                headers = dict(self.rate_limit_headers(verdict))
                if not verdict.allowed:
                    return self.rate_limited(verdict, headers)
                response = await handler(request)
                response.headers.update(headers)
                return response
        return await handler(request)

    def rate_limit_headers(self, verdict: RateVerdict) -> Mapping[str, str]:
        """Headers the provider documents on every answer while rate limiting (none by
        default: most document none)."""
        return {}

    def rate_limited(self, verdict: RateVerdict, headers: dict[str, str]) -> web.Response:
        """The provider's answer to a request over its rate limit (a 429 in its error shape)."""
        return self.error(429, "Rate limit exceeded", headers=headers)

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

    # -- serving ----------------------------------------------------------------------

    async def _log_request(self, request: web.Request) -> None:
        raw = await request.read() if request.can_read_body else b""
        body: Any = None
        if raw:
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = raw.decode("utf-8", "replace")
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else None
        self.log.append(
            LoggedRequest(
                request.method,
                request.path,
                tuple(request.query.items()),
                mask_headers(request.headers.items(), self.accepted_tokens()),
                mask_body(body, self.secret_fields),
                None if route is None else self.operation_of(request.method, route, body),
            )
        )

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if isinstance(self.clock, PollingClock):
            self.clock.tick()
        await self._log_request(request)
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
        app.on_response_prepare.append(self._date_header)
        self.routes(app)
        return app

    async def _date_header(self, request: web.Request, response: web.StreamResponse) -> None:
        # A server's Date comes from its own clock: a provider whose clock lags (or a
        # frozen test clock) shows it in every answer, as it does in created_at.
        response.headers["Date"] = http_date(self.now())

    @contextlib.asynccontextmanager
    async def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on ``host:port`` (an ephemeral port by default) and yield the base URL."""
        runner = web.AppRunner(self.make_app(), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound_host, bound_port = runner.addresses[0][:2]
            await self._start_deliveries()
            try:
                yield f"http://{bound_host}:{bound_port}"
            finally:
                await self._stop_deliveries()
        finally:
            await runner.cleanup()

    def run(self, *, host: str = "127.0.0.1", port: int = 8765) -> None:
        """Serve in the foreground until interrupted (for local development)."""
        web.run_app(self.make_app(), host=host, port=port, print=None, access_log=None)
