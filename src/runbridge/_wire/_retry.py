"""Retrying: the policy (which failures, how long to wait), deadlines, and the one retry loop."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs

from .._model._errors import ConfigError

log = logging.getLogger("runbridge.http")

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def _refuse(attribute: attrs.Attribute[Any], what: str, value: object) -> ConfigError:
    return ConfigError(
        f"retry.{attribute.name} must be {what}, not {value!r:.40}",
        field=f"retry.{attribute.name}",
    )


def _attempts(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _refuse(attribute, "an integer of at least 1", value)


def _delay(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and number >= 0):
        raise _refuse(attribute, "a finite number of seconds, zero or more", value)


def _statuses(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, frozenset) or not all(
        isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in value
    ):
        raise _refuse(attribute, "a frozenset of HTTP status codes", value)


def _frozen(value: object) -> object:
    return frozenset(value) if isinstance(value, set | list | tuple) else value


def _flag(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise _refuse(attribute, "True or False", value)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a client retries: full-jitter exponential backoff under an overall deadline.

    Reads are retried on connection errors, timeouts and the ``statuses`` below.
    Writes are retried only when a retry cannot create a duplicate (the adapter
    sent an idempotency key). ``wait=False`` keeps the attempts but skips the
    sleeping, for tests. A wrong value raises ``ConfigError`` naming it.
    """

    attempts: int = attrs.field(default=4, validator=_attempts)
    base_delay: float = attrs.field(default=0.25, validator=_delay)
    max_delay: float = attrs.field(default=8.0, validator=_delay)
    statuses: frozenset[int] = attrs.field(
        default=RETRY_STATUSES, converter=_frozen, validator=_statuses
    )
    wait: bool = attrs.field(default=True, validator=_flag)

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
        import random  # only once a retry is due: not part of import time

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
    from email.utils import parsedate_to_datetime  # the rare HTTP-date form (import time)

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class Deadline:
    """When one logical call must be over, on the monotonic clock.

    Every attempt, pause and lookup of the call shares it: an attempt gets at
    most the time left, and no retry starts once it has passed.
    """

    __slots__ = ("at",)

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def __repr__(self) -> str:
        return f"Deadline(remaining={self.remaining():.3f})"

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - time.monotonic()


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    deadline: Deadline,
    retryable: Callable[[Exception], bool],
    label: str = "",
    failed: Exception | None = None,
) -> T:
    """Run ``attempt`` until it returns, retrying what ``retryable`` allows.

    The one retry loop of runbridge: full-jitter backoff (or the error's
    ``retry_after``), at most ``policy.attempts`` tries, and no try that could not
    start before ``deadline``. The last error is raised as it was. ``failed`` is
    the error of a first attempt the caller already made (it counts as a try).
    """
    tries = 0
    error = failed
    while True:
        if error is not None:
            tries += 1
            if tries >= policy.attempts or not retryable(error):
                raise error
            delay = policy.delay(tries, getattr(error, "retry_after", None))
            if delay >= deadline.remaining():
                raise error
            log.debug("%s: attempt %d failed (%s); retrying in %.2fs", label, tries, error, delay)
            if delay > 0:
                await asyncio.sleep(delay)
        try:
            return await attempt()
        except Exception as exc:
            error = exc
