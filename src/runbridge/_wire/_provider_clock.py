"""What a provider's clock reads, as its own answers show it.

A provider stamps the runs it makes with its own clock, which may lag or lead
ours by minutes. The lost-create lookup opens its window on that clock, and the
settle window after a send is judged on it, so a skewed provider can neither
hide a run nor have one declared absent too early. Two readings feed it: the
``Date`` header of answers to the calls that create and look (parsed only when
a reading is wanted), and the ``created_at`` of runs this client created.
"""

from __future__ import annotations

import time
from datetime import datetime

DATE_RESOLUTION = 1.0
"""An HTTP ``Date`` is whole seconds: a reading is this uncertain."""

STANDSTILL = 5.0
"""Seconds of ours over which a ``Date`` that never changes shows a clock standing still
(a frozen test clock): it cannot judge how much time has passed, so ours does."""


class ProviderClock:
    """Offsets of one provider's clock from ours (provider minus ours, in seconds)."""

    __slots__ = ("_changed", "_created", "_date", "_date_local", "_lag", "_parsed")

    def __init__(self) -> None:
        self._date: str | None = None
        self._date_local = 0.0
        self._changed = 0.0
        self._parsed: tuple[str, float] | None = None
        self._created: float | None = None
        self._lag = 0.0

    def __repr__(self) -> str:
        return f"<ProviderClock offset={self.offset()}>"

    def saw_date(self, value: str | None) -> None:
        """Note an answer's ``Date`` header, received now (cheap: parsed when wanted)."""
        if value:
            now = time.time()
            if value != self._date:
                self._changed = now
            self._date = value
            self._date_local = now

    def saw_created(self, created_at: datetime | None, sent: float, received: float) -> None:
        """Note the ``created_at`` of a run made by a request sent and answered at these
        times (ours): the provider stamped it somewhere in between."""
        if created_at is not None:
            self._created = created_at.timestamp() - (sent + received) / 2
            date = self.date_offset()
            if date is not None:
                # How far the clock stamping runs lags the one dating answers (another
                # machine, say); kept as a lag, so a later Date still moves the window.
                self._lag = min(self._created - date + DATE_RESOLUTION, 0.0)

    def date_offset(self) -> float | None:
        """The offset the latest ``Date`` header shows, ``None`` before any."""
        date = self._date
        if date is None:
            return None
        parsed = self._parsed
        if parsed is None or parsed[0] != date:
            from email.utils import parsedate_to_datetime

            try:
                when = parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
            parsed = self._parsed = (date, when)
        return parsed[1] + DATE_RESOLUTION / 2 - self._date_local

    def offset(self) -> float | None:
        """How far the clock that stamps runs leads ours: the latest ``Date``, less how
        far the stamps lagged the ``Date`` when both were read (a ``Date`` may come from
        another machine than the one stamping runs); the latest stamp before any ``Date``."""
        date = self.date_offset()
        if date is None:
            return self._created
        return date + self._lag

    def standing_still(self) -> bool:
        """Whether the provider's ``Date`` has not changed over ``STANDSTILL`` seconds."""
        return self._date is not None and self._date_local - self._changed >= STANDSTILL

    def now(self) -> float | None:
        """The provider's clock now, by its latest ``Date``; ``None`` before any."""
        offset = self.date_offset()
        return None if offset is None else time.time() + offset

    def date_time(self, local: float) -> float | None:
        """Our time ``local`` on the provider's clock as its ``Date`` reads it: what the
        settle window is judged against (``now`` reads the same clock)."""
        offset = self.date_offset()
        return None if offset is None else local + offset
