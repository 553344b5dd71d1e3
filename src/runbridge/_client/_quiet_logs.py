"""Logs a flood cannot fill: ``RateLimitedLog`` writes a few lines per period for each
kind of message, and aiohttp's server log goes through it too, one line per error.
"""

from __future__ import annotations

import logging
import time
from typing import Any


class RateLimitedLog:
    """At most ``burst`` lines per ``period`` seconds for each kind of message; the first
    line of a later period says how many were left out."""

    def __init__(self, logger: logging.Logger, *, burst: int = 10, period: float = 10.0):
        self.logger = logger
        self.burst = burst
        self.period = period
        self._windows: dict[str, list[float]] = {}  # kind -> [start, lines, left out]

    def allow(self, kind: str) -> int | None:
        """``None`` if a line of ``kind`` is to be left out now; else how many were
        left out before it."""
        now = time.monotonic()
        window = self._windows.get(kind)
        if window is None and len(self._windows) >= 1000:  # kinds are few; stay bounded
            self._windows.clear()
        if window is None or now - window[0] >= self.period:
            self._windows[kind] = [now, 1, 0]
            return int(window[2]) if window is not None else 0
        if window[1] < self.burst:
            window[1] += 1
            return 0
        window[2] += 1
        return None

    def log(self, level: int, kind: str, message: str, *args: Any, exc_info: bool = False) -> None:
        """Log one line of ``kind`` (``message % args``), unless too many came lately."""
        if not self.logger.isEnabledFor(level) or (left_out := self.allow(kind)) is None:
            return
        if left_out:
            message += " (%d more like this were not logged)"
            args = (*args, left_out)
        self.logger.log(level, message, *args, exc_info=exc_info, stacklevel=2)


def one_line(exc: BaseException) -> str:
    """An exception as a short single line (what a refused client sent is no bug here)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


class _QuietServerLog(logging.Filter):
    """aiohttp's server errors caused by the client (a malformed request, a dropped
    connection) as one rate-limited line without a traceback."""

    def __init__(self) -> None:
        super().__init__()
        self.limit = RateLimitedLog(logging.getLogger("runbridge.events.http"))

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        left_out = self.limit.allow(str(record.msg))
        if left_out is None:
            return False
        exc = record.exc_info[1] if record.exc_info else None
        text = record.getMessage()
        if isinstance(exc, HttpProcessingError | OSError | TimeoutError):
            text = f"{text}: {one_line(exc)}"
            record.exc_info = record.exc_text = None
        if left_out:
            text += f" ({left_out} more like this were not logged)"
        record.msg, record.args = text, None
        return True


SERVER_LOG = logging.getLogger("runbridge.events.http")
"""The logger ``serve()`` gives aiohttp's request handlers."""
SERVER_LOG.addFilter(_QuietServerLog())
