"""HTTP behaviour the emulator shares with any FastAPI service behind Cyberdesk's gateway.

Bearer auth, ``{"detail": ...}`` error bodies, optional rate limiting with
``X-RateLimit-*`` headers, ``Idempotency-Key`` replay on writes, and a log of
the requests seen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from runbridge.emulation import (
    Clock,
    Emulator,
    Faults,
    IdempotencyCache,
    Stored,
    json_response,
    read_json,
)

from . import _validation as v
from ._records import Seen

Handler = Any
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT = frozenset({"/v1/health", "/v1/health/db"})
"""Paths that need no token and are not rate limited."""


class FastAPIEmulator(Emulator):
    """An emulator that answers like a FastAPI app: auth, limits, replays and 422s."""

    def __init__(
        self,
        *,
        token: str | None = None,
        clock: Clock | None = None,
        rate_limit: int | None = None,
        rate_window: float = 60.0,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(token=token, clock=clock, faults=faults)
        if rate_limit is not None and rate_limit < 1:
            raise ValueError("rate_limit must be at least 1")
        if rate_window <= 0:
            raise ValueError("rate_window must be positive")
        self.rate_limit = rate_limit
        """Requests allowed per ``rate_window`` seconds of emulator time; ``None``: no limit."""
        self.rate_window = rate_window
        self.seen: list[Seen] = []
        """Every request past fault injection, with query, key and (masked) body."""
        self.idempotency = IdempotencyCache()
        self._lost = 0
        self._window: tuple[float, int] = (-math.inf, 0)

    def lose_responses(self, times: int = 1) -> None:
        """Carry out the next ``times`` writes but answer 503, as if the answer got lost."""
        self._lost += times

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": message}

    def fault_eligible(self, request: web.Request) -> bool:
        """API routes only: health checks answer even when the API misbehaves."""
        return super().fault_eligible(request) and request.path not in EXEMPT

    def middlewares(self) -> list[Any]:
        # Faults (in the base middleware) wrap the idempotency cache, so the cache
        # keeps the real response of a write whose answer a fault garbles or loses.
        return [
            *super().middlewares(),
            self._log,
            self._auth,
            self._throttle,
            self._idempotent,
        ]

    @staticmethod
    def invalid(issues: list[v.Issue]) -> web.Response:
        """A 422 with FastAPI's ``{"detail": [...]}`` body."""
        return json_response({"detail": issues}, status=422)

    @staticmethod
    def detail(status: int, message: str) -> web.Response:
        """An error with FastAPI's ``{"detail": "message"}`` body."""
        return json_response({"detail": message}, status=status)

    async def body(
        self,
        request: web.Request,
        fields: Mapping[str, v.Check],
        required: frozenset[str],
        *,
        optional: bool = False,
    ) -> tuple[Any, list[v.Issue]]:
        """The JSON body and its validation issues; ``optional`` reads no body as ``{}``."""
        try:
            body = await read_json(request)
        except ValueError as exc:
            ctx = {"error": str(exc)}
            return None, [v.issue("json_invalid", ("body", 0), "JSON decode error", {}, ctx)]
        if body is None and optional:
            body = {}
        return body, v.check_body(body, fields, required)

    @web.middleware
    async def _log(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        if isinstance(body, dict) and isinstance(body.get("sensitive_input_values"), dict):
            masked = dict.fromkeys(body["sensitive_input_values"], "***")
            body = {**body, "sensitive_input_values": masked}
        key = request.headers.get("Idempotency-Key")
        query = tuple(request.query.items())
        self.seen.append(Seen(request.method, request.path, query, key, body))
        response: web.StreamResponse = await handler(request)
        return response

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        routed = request.match_info.http_exception is None
        if (
            routed
            and request.path not in EXEMPT
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            return json_response(
                {"detail": "Invalid or missing API key"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        response: web.StreamResponse = await handler(request)
        return response

    @web.middleware
    async def _throttle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.rate_limit is None or request.path in EXEMPT:
            response: web.StreamResponse = await handler(request)
            return response
        now = self.now()
        start = math.floor(now / self.rate_window) * self.rate_window
        count = self._window[1] + 1 if self._window[0] == start else 1
        self._window = (start, count)
        reset = start + self.rate_window
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(self.rate_limit - count, 0)),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
        if count > self.rate_limit:
            headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
            return json_response({"detail": "Rate limit exceeded"}, status=429, headers=headers)
        response = await handler(request)
        response.headers.update(headers)
        return response

    @web.middleware
    async def _idempotent(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in WRITES:
            response: web.StreamResponse = await handler(request)
            return response
        key = request.headers.get("Idempotency-Key")
        fingerprint = self.idempotency.fingerprint(
            request.method, request.path_qs, await request.read()
        )
        stored = self.idempotency.lookup(key, fingerprint)
        if stored is False:
            return self.detail(409, "Idempotency-Key was already used for a different request")
        if isinstance(stored, Stored):
            return _replay(stored)
        response = await handler(request)
        if isinstance(response, web.Response) and 200 <= response.status < 300:
            body = response.body if isinstance(response.body, bytes) else b""
            self.idempotency.store(key, fingerprint, response.status, body)
        if self._lost:
            self._lost -= 1
            return self.detail(503, "Service temporarily unavailable")
        return response


def _replay(stored: Stored) -> web.Response:
    if not stored.body:
        return web.Response(status=stored.status)
    return web.Response(body=stored.body, status=stored.status, content_type="application/json")
