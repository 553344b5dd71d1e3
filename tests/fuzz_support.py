"""Helpers of the reliability suites: an event loop for hypothesis, and steerable emulators.

Hypothesis' ``@given`` drives synchronous tests; ``Loop`` gives such a test its own
event loop, so a served emulator and a connected client live across examples.
``steerable`` builds a provider's emulator that can answer chosen requests with raw
bytes: JSON the provider's own encoder could not write (integers beyond 64 bits,
``NaN``, a bare ``null``) or no JSON at all, and can hold requests unanswered (``stall``)
to make a client time out.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

import attrs
from aiohttp import web

from runbridge.emulation import Emulator
from runbridge.testing import load_emulator

T = TypeVar("T")


class Loop:
    """A private event loop for synchronous (hypothesis) tests; ``close`` when done."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run ``awaitable`` to completion on this loop."""
        return self._loop.run_until_complete(awaitable)  # type: ignore[arg-type]

    def close(self) -> None:
        """Finish async generators and close the loop."""
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()


@attrs.define
class _Answer:
    method: str | None
    path: re.Pattern[str] | None
    status: int
    body: bytes


class Steer(Emulator):
    """Mixin: answer requests matching a method and path with given bytes, in order."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.answers: list[_Answer] = []
        self.stalled = asyncio.Event()
        """Set when a stalled request has arrived."""
        self._stall = False
        self._release: asyncio.Event | None = None

    def answer(
        self,
        body: bytes,
        *,
        status: int = 200,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next request matching ``method`` and ``path`` (a regex) with ``body``."""
        pattern = re.compile(path) if path is not None else None
        self.answers.append(_Answer(method, pattern, status, body))

    def stall(self) -> None:
        """Hold every following request unanswered until ``release``."""
        self._stall = True
        self._release = asyncio.Event()

    def release(self) -> None:
        """Let held requests through again (call before the server shuts down)."""
        self._stall = False
        if self._release is not None:
            self._release.set()

    def middlewares(self) -> list[Any]:
        return [*super().middlewares(), self._steer]

    @web.middleware
    async def _steer(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self._stall and self._release is not None:
            self.stalled.set()
            await self._release.wait()
        for index, answer in enumerate(self.answers):
            if (answer.method is None or answer.method == request.method) and (
                answer.path is None or answer.path.fullmatch(request.path)
            ):
                del self.answers[index]
                return web.Response(
                    body=answer.body, status=answer.status, content_type="application/json"
                )
        response: web.StreamResponse = await handler(request)
        return response


def steerable(provider: str, **kwargs: Any) -> Any:
    """A new emulator of ``provider`` with ``Steer``'s ``answer`` and ``stall``."""
    base = type(load_emulator(provider))
    steered = type(f"Steered{base.__name__}", (Steer, base), {})
    return steered(**kwargs)
