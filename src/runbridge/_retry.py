"""The retry policy: which failures are retried, and how long to wait between tries."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import attrs

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a client retries: full-jitter exponential backoff under an overall deadline.

    Reads are retried on connection errors, timeouts and the ``statuses`` below.
    Writes are retried only when a retry cannot create a duplicate (the adapter
    sent an idempotency key). ``wait=False`` keeps the attempts but skips the
    sleeping, for tests.
    """

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    base_delay: float = 0.25
    max_delay: float = 8.0
    statuses: frozenset[int] = RETRY_STATUSES
    wait: bool = True

    @classmethod
    def testing(cls, *, attempts: int = 4) -> RetryPolicy:
        """A policy that retries like production but never sleeps."""
        return cls(attempts=attempts, wait=False)

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that tries each request once."""
        return cls(attempts=1)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 1)."""
        if not self.wait:
            return 0.0
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(0.0, ceiling)  # noqa: S311 - jitter, not cryptography


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header in delta-seconds or HTTP-date form."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
