"""Client-side rate and concurrency limits: a token bucket and a cap on requests in flight.

A client with ``ClientOptions(rate="50/s", max_in_flight=20)`` takes a token before
every request attempt and holds one of its in-flight places while it is out. The
tokens come from a bucket of the process's own, which, when the client shares a
journal database with other processes, draws them from a bucket kept in that database
(``SharedBucket``): the rate then holds in sum over every process. A 429 (or a
provider's own headers saying its quota is spent) pauses every request of the client
until the provider's time, and the shared bucket carries the pause to every process.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Mapping
from typing import Protocol

import attrs

from .._model._errors import ConfigError, RateLimited

_RATE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d*(?:\.\d+)?)\s*(s|sec|second|m|min|minute|h|hour)\s*$"
)
_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}
_UNITS.update({"h": 3600.0, "hour": 3600.0})

LEASE_SECONDS = 0.1
"""How much of the rate one draw from a shared bucket takes at most (a tenth of a
second's worth): few database writes, and little held by a process that stops."""


@attrs.frozen
class Rate:
    """So many requests per so many seconds."""

    count: float
    per: float

    @property
    def per_second(self) -> float:
        """Requests per second."""
        return self.count / self.per

    def __str__(self) -> str:
        return f"{self.count:g}/{self.per:g}s"


def parse_rate(value: str, *, field: str = "rate") -> Rate:
    """``"50/s"``, ``"3000/min"``, ``"10/5s"`` as a ``Rate``; ``ConfigError`` names ``field``."""
    match = _RATE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(
            f"{field} must read like '50/s', '3000/min' or '10/5s', not {value!r:.40}",
            field=field,
        )
    count, multiple, unit = match.groups()
    per = float(multiple or 1) * _UNITS[unit]
    rate = Rate(float(count), per)
    if not (rate.count > 0 and per > 0 and math.isfinite(rate.per_second)):
        raise ConfigError(f"{field} must be above zero, not {value!r:.40}", field=field)
    return rate


class SharedBucket(Protocol):
    """A token bucket kept where several processes see it (a journal database)."""

    async def take(self, key: str, want: int, rate: float, burst: float) -> tuple[int, float]:
        """Take up to ``want`` tokens of ``key``'s bucket; ``(granted, wait)``: how many,
        and when nothing was granted, seconds until one may be."""
        ...

    async def pause(self, key: str, seconds: float) -> None:
        """Grant nothing from ``key``'s bucket for ``seconds`` (a 429 was answered)."""
        ...


@attrs.frozen
class RateHeaders:
    """How a provider tells its remaining quota in every answer (``Adapter.rate_headers``).

    ``reset`` holds seconds until the quota renews, or an epoch time when it is larger
    than ``EPOCH`` (providers differ; both are read).
    """

    remaining: str
    reset: str
    limit: str | None = None

    EPOCH = 1_000_000_000

    def pause_of(self, headers: Mapping[str, str], now: float) -> float | None:
        """Seconds to pause when the answer says the quota is spent, else ``None``."""
        remaining = headers.get(self.remaining)
        if remaining is None or remaining.strip() not in ("0", "0.0"):
            return None
        try:
            reset = float(headers.get(self.reset, "1"))
        except ValueError:
            return 1.0
        if reset > self.EPOCH:
            reset -= now
        return min(max(reset, 0.0), 3600.0)


class Throttle:
    """The rate and in-flight limits of one client; one per client, shared by its calls."""

    def __init__(
        self,
        *,
        rate: Rate | None,
        max_in_flight: int | None,
        provider: str,
        key: str,
        headers: RateHeaders | None = None,
        max_pause: float = 60.0,
    ) -> None:
        self.rate = rate
        self.provider = provider
        self.key = key
        """Names the provider account in a shared bucket (never the credential itself)."""
        self.headers = headers
        self.shared: SharedBucket | None = None
        self.max_in_flight = max_in_flight
        self._places = asyncio.Semaphore(max_in_flight) if max_in_flight else None
        per_second = rate.per_second if rate else 0.0
        self._burst = max(1.0, per_second * LEASE_SECONDS) if rate else 0.0
        self._tokens = self._burst
        self._stamp = time.monotonic()
        self._paused_until = 0.0
        self._strikes = 0
        self._max_pause = max_pause
        self.throttled = 0
        """429s this client was answered (for tests and figures)."""

    def __repr__(self) -> str:
        return f"<Throttle {self.provider} rate={self.rate} shared={self.shared is not None}>"

    def share(self, bucket: SharedBucket) -> None:
        """Draw tokens from ``bucket`` from now on (none held of this process's own)."""
        self.shared = bucket
        self._tokens = 0.0

    async def acquire(self, until: float) -> None:
        """Wait for a token and an in-flight place, until ``until`` (monotonic) at most;
        ``RateLimited`` (nothing sent) when they cannot be had in time."""
        if self._places is not None:
            left = until - time.monotonic()
            try:
                await asyncio.wait_for(self._places.acquire(), max(left, 0.0))
            except TimeoutError:
                raise self._late("an in-flight place") from None
        try:
            await self._token(until)
        except BaseException:
            if self._places is not None:
                self._places.release()
            raise

    def release(self) -> None:
        """Give the in-flight place back."""
        if self._places is not None:
            self._places.release()

    async def _token(self, until: float) -> None:
        while True:
            now = time.monotonic()
            wait = self._paused_until - now
            if wait <= 0 and self.rate is None:
                return
            if wait <= 0:
                self._refill(now)
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = await self._draw()
            if wait <= 0:
                continue
            if now + wait > until:
                raise self._late("a token")
            await asyncio.sleep(wait)

    def _refill(self, now: float) -> None:
        if self.shared is not None or self.rate is None:
            return  # the shared bucket refills, not this one
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self.rate.per_second)
        self._stamp = now

    async def _draw(self) -> float:
        """Seconds to wait for the next token (drawing a lease from the shared bucket)."""
        assert self.rate is not None
        if self.shared is None:
            return (1 - self._tokens) / self.rate.per_second
        want = max(1, int(self._burst))
        granted, wait = await self.shared.take(
            self.key, want, self.rate.per_second, max(self._burst, 1.0)
        )
        self._tokens += granted
        return 0.0 if granted else max(wait, 0.001)

    def _late(self, what: str) -> RateLimited:
        return RateLimited(
            f"no {what} before the call's deadline under the client's own limits "
            f"(rate {self.rate}, at most {self.max_in_flight} in flight)",
            provider=self.provider,
            retry_after=max(self._paused_until - time.monotonic(), 0.0) or None,
        )

    async def observe(
        self, status: int, headers: Mapping[str, str], retry_after: float | None
    ) -> None:
        """Learn from an answer: a 429, or headers saying the quota is spent, pause all."""
        pause: float | None = None
        if status == 429:
            self.throttled += 1
            self._strikes += 1
            pause = (
                retry_after
                if retry_after is not None
                else min(0.25 * 2 ** (self._strikes - 1), self._max_pause)
            )
        else:
            self._strikes = 0
            if self.headers is not None:
                pause = self.headers.pause_of(headers, time.time())
        if pause is None or pause <= 0:
            return
        self._paused_until = max(self._paused_until, time.monotonic() + pause)
        if self.shared is not None:
            await self.shared.pause(self.key, pause)
