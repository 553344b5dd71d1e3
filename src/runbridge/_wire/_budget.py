"""``BodyBudget``: the bytes of response bodies one client holds at once, shared by its
calls."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque


class BodyBudget:
    """The bytes of response bodies one client holds at once, shared by its calls.

    A body of known length reserves it whole before it is read; a body of unknown
    length (chunked, compressed) reserves chunk by chunk. So that bodies growing
    chunk by chunk cannot wait on each other for ever, the oldest of them may always
    grow to the largest body allowed: the others leave that much room for it.
    Waiters are served in order, the oldest growing body first. Not thread-safe: a
    client lives on one event loop.
    """

    def __init__(self, capacity: int, largest: int) -> None:
        self.capacity = capacity
        """Bytes that may be held at once."""
        self.largest = min(largest, capacity)
        """The largest single body."""
        self.used = 0
        """Bytes held now."""
        self.peak = 0
        """The most bytes held at once so far."""
        self._growing: dict[int, int] = {}  # bytes held by each growing body, oldest first
        self._ids = itertools.count()
        self._queue: deque[int] = deque()
        self._waiters: list[asyncio.Future[None]] = []

    def __repr__(self) -> str:
        return f"<BodyBudget {self.used}/{self.capacity} bytes>"

    def start(self) -> int:
        """Register a body read chunk by chunk; its id, for ``acquire`` and ``settle``."""
        body = next(self._ids)
        self._growing[body] = 0
        return body

    def settle(self, body: int) -> int:
        """``body`` has stopped growing; the bytes it holds (give them back with ``release``)."""
        held = self._growing.pop(body, 0)
        self._wake()
        return held

    def release(self, size: int) -> None:
        """Give back ``size`` bytes."""
        if size:
            self.used -= size
            if self._waiters:
                self._wake()

    def try_acquire(self, size: int) -> bool:
        """Hold ``size`` bytes of a body of known length if they fit now, without waiting."""
        if not self._fits(size, None, None):
            return False
        self.used += size
        if self.used > self.peak:
            self.peak = self.used
        return True

    async def acquire(
        self, size: int, body: int | None = None, *, until: float | None = None
    ) -> None:
        """Wait until ``size`` more bytes fit, then hold them (for growing ``body``, if named).

        ``until`` (the event loop's clock) bounds the wait: past it, ``TimeoutError``.
        """
        ticket: int | None = None
        try:
            while not self._fits(size, body, ticket):
                if ticket is None and not self._is_oldest(body):
                    ticket = next(self._ids)
                    self._queue.append(ticket)
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                async with asyncio.timeout_at(until):
                    await waiter
        finally:
            if ticket is not None:
                self._queue.remove(ticket)
                self._wake()
        self.used += size
        if self.used > self.peak:
            self.peak = self.used
        if body is not None:
            self._growing[body] += size

    def _is_oldest(self, body: int | None) -> bool:
        return body is not None and next(iter(self._growing)) == body

    def _fits(self, size: int, body: int | None, ticket: int | None) -> bool:
        if self._is_oldest(body):
            return self.used + size <= self.capacity
        if self._queue and self._queue[0] != ticket:
            return False  # first come, first served
        oldest = next(iter(self._growing.values()), None)
        room = self.largest - oldest if oldest is not None else 0
        return self.used + size + room <= self.capacity

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
