"""Fault injection: the part of the emulator base that makes it misbehave on purpose."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import orjson
from aiohttp import web

from ._faults import KINDS, MALFORMED_BODY, FaultKind, Faults, truncate, walk_runs

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FaultInjection:
    """Faults for an emulator: a random ``Faults`` profile, and faults queued by a test.

    The emulator base mixes this in; ``_apply_faults`` runs inside its request
    middleware. To garble run objects, an emulator declares ``status_field``,
    ``run_keys`` and ``optional_fields``.
    """

    status_field: ClassVar[str | None] = None
    """Key of the native status in run objects; ``None`` turns off the faults that
    garble run objects (``unknown_status``, ``missing_fields``)."""
    run_keys: ClassVar[frozenset[str]] = frozenset()
    """Keys that, with ``id`` and ``status_field``, mark a JSON object as a run."""
    optional_fields: ClassVar[frozenset[str]] = frozenset()
    """Run fields the provider documents as optional: what ``missing_fields`` removes."""
    mystery_status: ClassVar[str] = "mystery_state"
    """The status an ``unknown_status`` fault puts in run objects."""

    public_paths: ClassVar[frozenset[str]] = frozenset()
    _faults: Faults
    _rng: random.Random
    _queued_faults: deque[FaultKind]
    fault_counts: Counter[str]

    def error_body(
        self, status: int, message: str, *, code: str | None = None, details: Any = None
    ) -> Any:
        """The provider's error body (the emulator base defines it)."""
        raise NotImplementedError

    def _json(self, data: Any, status: int, headers: dict[str, str] | None) -> web.Response:
        return web.Response(
            body=orjson.dumps(data), status=status, headers=headers, content_type="application/json"
        )

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
        """Whether faults may hit ``request``: any routed request outside ``public_paths``."""
        return request.match_info.http_exception is None and request.path not in self.public_paths

    def is_run_object(self, value: dict[str, Any]) -> bool:
        """Whether a JSON object in a response is a run (has ``id``, status and ``run_keys``)."""
        field = self.status_field
        if field is None or "id" not in value or field not in value:
            return False
        return self.run_keys <= value.keys()

    def garble_status(self, run: dict[str, Any]) -> None:
        """Give ``run`` a status the adapter has never seen (an ``unknown_status`` fault):
        ``mystery_status`` in ``status_field``; override where the status has another shape."""
        if self.status_field is not None:
            run[self.status_field] = self.mystery_status

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
        return self._json(body, status, headers)

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
        optional = self.optional_fields

        def strip(run: dict[str, Any]) -> None:
            for key in optional & run.keys():
                del run[key]

        visits = {"unknown_status": self.garble_status, "missing_fields": strip}
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
            return self._error_answer(
                "server_error", self._rng.choice(self._faults.server_statuses)
            )
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
