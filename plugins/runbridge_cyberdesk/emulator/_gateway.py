"""What Cyberdesk's API does around every route: rate limits and ``Idempotency-Key`` replay.

Rate limiting is documented (``X-RateLimit-*`` headers, 429 with ``Retry-After``,
health endpoints exempt) without numbers, so it is off unless asked for. Every
write accepts ``Idempotency-Key``, and a retry with the same key gets the
original response.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from runbridge.emulation import (
    Clock,
    Emulator,
    Faults,
    IdempotencyCache,
    RateVerdict,
    RunStore,
    read_json,
)
from runbridge.emulation.fastapi import Check, Issue, check_body, issue

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Gateway(Emulator):
    """An emulator with Cyberdesk's rate limiting, key replay and FastAPI body reading."""

    runs: RunStore[Any]

    def __init__(
        self,
        *,
        token: str | None = None,
        clock: Clock | None = None,
        faults: Faults | None = None,
        extras: Any = (),
        rate_limit: str | int | None = None,
        rate_window: float = 60.0,
    ) -> None:
        super().__init__(
            token=token,
            clock=clock,
            faults=faults,
            extras=extras,
            rate_limit=rate_limit,
            rate_window=rate_window,
        )
        self._lost = 0

    def lose_responses(self, times: int = 1) -> None:
        """Carry out the next ``times`` writes but answer 503, as if the answer got lost."""
        self._lost += times

    def middlewares(self) -> list[Any]:
        # After the base's (log, faults, error shape, auth): a fault that garbles or
        # loses a write's answer still leaves the real response in the key cache.
        return [*super().middlewares(), self._idempotent]

    def invalid(self, issues: list[Issue]) -> web.Response:
        """A 422 with FastAPI's ``{"detail": [...]}`` body."""
        return self.error(422, "Validation error", details=issues)

    async def body(
        self,
        request: web.Request,
        fields: Mapping[str, Check],
        required: frozenset[str],
        *,
        optional: bool = False,
    ) -> tuple[Any, list[Issue]]:
        """The JSON body and its validation issues; ``optional`` reads no body as ``{}``."""
        try:
            body = await read_json(request)
        except ValueError as exc:
            ctx = {"error": str(exc)}
            return None, [issue("json_invalid", ("body", 0), "JSON decode error", {}, ctx)]
        if body is None and optional:
            body = {}
        return body, check_body(body, fields, required)

    def rate_limit_headers(self, verdict: RateVerdict) -> Mapping[str, str]:
        """``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` on every answer (the newer
        docs page). **Assumption:** ``Reset`` is when the window ends, in epoch seconds."""
        return {
            "X-RateLimit-Limit": str(verdict.limit),
            "X-RateLimit-Remaining": str(verdict.remaining),
            "X-RateLimit-Reset": str(math.ceil(verdict.reset)),
        }

    def rate_limited(self, verdict: RateVerdict, headers: dict[str, str]) -> web.Response:
        """429 with ``Retry-After`` (the documented header) and FastAPI's ``detail``."""
        headers["Retry-After"] = str(verdict.retry_after)
        return self.error(429, "Rate limit exceeded", headers=headers)

    @web.middleware
    async def _idempotent(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in WRITES:
            return await handler(request)
        fingerprint = IdempotencyCache.fingerprint(
            request.method, request.path_qs, await request.read()
        )
        served = []

        async def serve() -> web.StreamResponse:
            served.append(True)
            return await handler(request)

        response = await self.runs.once(
            request.headers.get("Idempotency-Key"),
            fingerprint,
            serve,
            conflict=lambda: self.error(
                409, "Idempotency-Key was already used for a different request"
            ),
            # The SDK retries exactly this answer: the first request is still being made.
            in_progress=lambda: self.error(
                409,
                "A request with this Idempotency-Key is in progress",
                headers={"Idempotency-Status": "in_progress"},
            ),
        )
        if served and self._lost:
            self._lost -= 1
            return self.error(503, "Service temporarily unavailable")
        return response
