"""Rate limits an emulator enforces when asked: so many requests per credential per window.

Off by default (no provider publishes its numbers). ``rate_limit="20/s"`` (or an
integer with ``rate_window`` seconds) allows that many requests per credential in
each window of emulator time; the next gets the provider's 429. Windows run on the
emulator's clock, so a manual clock makes them deterministic and a real one makes
them the wall clock's. Health paths are exempt.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import attrs

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*(s|sec|m|min|h)\s*$")
_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


@attrs.frozen
class RateLimit:
    """``count`` requests per credential in each window of ``window`` seconds."""

    count: int
    window: float

    @classmethod
    def of(cls, value: str | int | None, window: float = 60.0) -> RateLimit | None:
        """From ``"20/s"``, ``"600/min"``, ``"5/10s"``, or a count per ``window`` seconds."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"rate_limit must be a string like '20/s' or an int, not {value!r}")
        if isinstance(value, int):
            count, seconds = value, window
        else:
            match = _RATE.match(value)
            if match is None:
                raise ValueError(f"rate_limit must read like '20/s' or '600/min', not {value!r}")
            count = int(match.group(1))
            seconds = float(match.group(2) or 1) * _UNITS[match.group(3)]
        if count < 1:
            raise ValueError("rate_limit must be at least 1")
        if not (seconds > 0 and math.isfinite(seconds)):
            raise ValueError("rate_window must be positive")
        return cls(count, seconds)


@attrs.define
class Verdict:
    """What the limiter says of one request: allowed or not, and what to tell the client."""

    allowed: bool
    limit: int
    window: float
    """The window's length in seconds."""
    remaining: int
    reset: float
    """When the window ends (emulator time)."""
    retry_after: int


class RateLimiter:
    """The windows of one emulator, per credential, and how many requests it refused."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._windows: dict[str, tuple[float, int]] = {}
        self.refused: Counter[str] = Counter()
        """429s answered, by credential (masked as the log masks it: not here)."""

    def check(self, credential: str, now: float) -> Verdict:
        """Count one request of ``credential`` at ``now``."""
        window = self.limit.window
        start = math.floor(now / window) * window
        seen_start, seen = self._windows.get(credential, (-math.inf, 0))
        count = seen + 1 if seen_start == start else 1
        self._windows[credential] = (start, count)
        reset = start + window
        allowed = count <= self.limit.count
        if not allowed:
            self.refused[credential] += 1
        return Verdict(
            allowed=allowed,
            limit=self.limit.count,
            window=window,
            remaining=max(self.limit.count - count, 0),
            reset=reset,
            retry_after=max(1, math.ceil(reset - now)),
        )

    @property
    def total_refused(self) -> int:
        """429s answered in all."""
        return sum(self.refused.values())
