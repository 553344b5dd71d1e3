"""Clocks that drive emulated run lifecycles: manual for tests, scaled real time for demos."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Source of emulator time in seconds since the epoch."""

    def now(self) -> float:
        """Current emulator time."""
        ...


class ManualClock:
    """Time that moves only when told to: deterministic lifecycles for tests."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"

    def now(self) -> float:
        """Current emulator time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        if seconds < 0:
            raise ValueError("time does not go backwards")
        self._now += seconds


class PollingClock(ManualClock):
    """A manual clock that also moves ``step`` seconds on every request the emulator serves.

    Runs finish as a client polls them, without sleeping and without a test
    advancing time: the default clock of the pytest fixtures. ``advance`` still
    works, for tests that want to jump ahead.
    """

    def __init__(self, *, step: float = 60.0, start: float | None = None) -> None:
        if isinstance(step, bool) or not step >= 0:
            raise ValueError("step must be a non-negative number of seconds")
        super().__init__(start)
        self.step = step

    def __repr__(self) -> str:
        return f"PollingClock(step={self.step!r})"

    def tick(self) -> None:
        """Move ``step`` seconds forward (the emulator calls it as each request arrives)."""
        self.advance(self.step)


class RealClock:
    """Wall-clock time, optionally sped up (``speed=10`` runs ten times faster) or set off
    by ``offset`` seconds (``offset=-300``: a provider whose clock lags five minutes)."""

    def __init__(self, *, speed: float = 1.0, offset: float = 0.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        self._offset = offset
        self._origin_wall = time.time()
        self._origin_mono = time.monotonic()

    def __repr__(self) -> str:
        offset = f", offset={self._offset!r}" if self._offset else ""
        return f"RealClock(speed={self._speed!r}{offset})"

    def now(self) -> float:
        """Current emulator time."""
        elapsed = (time.monotonic() - self._origin_mono) * self._speed
        return self._origin_wall + self._offset + elapsed


def http_date(seconds: float) -> str:
    """Emulator time as an HTTP ``Date`` header value (whole seconds, GMT)."""
    from email.utils import formatdate

    return formatdate(seconds, usegmt=True)


def iso(seconds: float | None, *, z: bool = True, naive: bool = False) -> str | None:
    """Emulator time as ISO-8601: ``Z`` suffix, ``+00:00`` or, with ``naive``, no offset."""
    if seconds is None:
        return None
    stamp = datetime.fromtimestamp(seconds, UTC)
    if naive:
        return stamp.replace(tzinfo=None).isoformat()
    text = stamp.isoformat()
    return text.replace("+00:00", "Z") if z else text
