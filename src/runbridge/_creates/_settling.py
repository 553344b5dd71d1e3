"""Settling a create whose outcome is unknown: look for its run, and say "none" only
once nothing can appear any more.

A send may still make its run after its answer was lost: the provider may be
slow, or a listing may lag. The settle window (``Adapter.settle_window``,
``ClientOptions.settle_window``) is how long after the last send that can last.
A lookup that finds nothing concludes "no run" only if it started after the
window passed, judged both on our clock (or the journal's, for a send another
process made) and on the provider's, as its ``Date`` headers read. Before that,
the answer is "still unknown", with the time after which asking again can settle it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta

import attrs

from .._model._errors import RunbridgeError
from .._model._run import Run, RunRef, RunRequest
from .._model._run_errors import CreateUnconfirmed
from .._plugins._adapter import Adapter
from .._wire._call import Channel
from .._wire._provider_clock import DATE_RESOLUTION, STANDSTILL
from .._wire._retry import Deadline
from ._lookup import Undecided, find_created

log = logging.getLogger("runbridge.create")

EPSILON = 0.01
"""How far past the window's end the confirming look starts."""


@attrs.define
class Sends:
    """The sends of one logical create, as far as settling them goes."""

    count: int = 0
    """How many times it was sent (by anyone)."""
    fresh: bool = False
    """Whether the claim just recorded the first send (the next attempt is that send)."""
    open: bool = False
    """Whether a send may have made the run and is not settled yet."""
    cause: Exception | None = None
    """Why the open send's outcome is unknown."""
    last: float | None = None
    """When this process last sent it (monotonic clock); ``None``: another process did."""
    journal_sent_at: float | None = None
    """When it was last sent, on the journal's clock (a send another process made)."""
    provider_sent_at: float | None = None
    """The provider's clock at the last send, when the sender knew it."""


def horizon_left(
    window: float,
    local_elapsed: float,
    provider_sent_at: float | None,
    provider_now: float | None,
) -> float:
    """Seconds until a look finding nothing may conclude "no run" (zero or less: now)."""
    left = window - local_elapsed
    if provider_sent_at is not None:
        if provider_now is None:
            return max(left, window)
        left = max(left, window + DATE_RESOLUTION - (provider_now - provider_sent_at))
    return left


@attrs.frozen
class Verdict:
    """What settling found: the run, certainly none (``absent``), or not yet known."""

    run: Run | None = None
    absent: bool = False
    settles_at: datetime | None = None
    """When asking again can settle it (the verdict is still unknown)."""


class Settler:
    """Looks for the runs of unsettled creates on one provider, under the settle window."""

    def __init__(
        self,
        adapter: Adapter,
        channel: Channel,
        now: Callable[[], Awaitable[float]],
        window: float,
    ) -> None:
        self.adapter = adapter
        self.channel = channel
        self._journal_now = now
        self.window = window
        self._warned = False

    async def left(self, sends: Sends) -> float:
        """Seconds until the settle window after the last send has passed, on our clock
        (the journal's, for a send another process made) and on the provider's."""
        if sends.last is not None:
            elapsed = time.monotonic() - sends.last
        elif sends.journal_sent_at is not None:
            elapsed = await self._journal_now() - sends.journal_sent_at
        else:
            elapsed = self.window  # never sent
        clock = self.channel.clock
        provider_sent_at = sends.provider_sent_at
        if provider_sent_at is not None and clock.standing_still():
            if not self._warned:
                self._warned = True
                log.warning(
                    "%s: the provider's clock (its Date header) has stood still for %.0f s "
                    "or more; settle windows are judged on this host's clock alone",
                    self.adapter.name,
                    STANDSTILL,
                )
            provider_sent_at = None
        return horizon_left(self.window, elapsed, provider_sent_at, clock.now())

    async def look(
        self,
        sent: RunRequest,
        token: str,
        since: datetime,
        sends: Sends,
        deadline: Deadline,
        *,
        exclude: Collection[RunRef],
        once: bool = False,
    ) -> Verdict:
        """Look for the run of a tagged create, with backoff, until found, certainly
        absent (a look that started after the settle window found nothing), or the
        ``deadline``. ``once`` looks a single time."""
        policy = self.channel.http.options.retry
        secrets = sent.secrets.values()
        clock = self.channel.clock
        look = failures = 0
        while True:
            look += 1
            before = await self.left(sends)
            call = self.channel.call("create", secrets=secrets, deadline=deadline, clock=True)
            failed = False
            try:
                found = await find_created(
                    self.adapter,
                    call,
                    sent,
                    token,
                    since=since,
                    offset=clock.offset,
                    exclude=exclude,
                )
            except CreateUnconfirmed:
                raise
            except Undecided as exc:  # runs it cannot rule out: never "none"; look again
                log.debug("%s.create: lookup %d undecided: %s", self.adapter.name, look, exc)
                found, failed = None, True
                failures += before <= 0
            except RunbridgeError as exc:  # the lookup failed too: look again
                log.debug("%s.create: lookup %d failed: %s", self.adapter.name, look, exc)
                found, failed = None, True
                failures += before <= 0
            if found is not None:
                return Verdict(run=found)
            if before <= 0 and not failed:
                return Verdict(absent=True)
            left = await self.left(sends)
            if once or failures >= policy.attempts:
                return self._unknown(left)
            # Equal jitter: never much less than the backoff, so a slow provider that is
            # still making the run gets the time to finish; and one look just after the
            # window ends, the one that may conclude.
            ceiling = min(policy.max_delay, policy.base_delay * 2 ** min(look - 1, 16))
            backoff = ceiling / 2 + random.uniform(0, ceiling / 2) if policy.wait else 0.0  # noqa: S311
            pause = min(backoff, left + EPSILON) if left > 0 and policy.wait else backoff
            if not policy.wait and left > 0:
                pause = left + EPSILON
            if pause >= deadline.remaining():
                return self._unknown(left)
            if pause > 0:
                await asyncio.sleep(pause)

    def _unknown(self, left: float) -> Verdict:
        return Verdict(settles_at=datetime.now(UTC) + timedelta(seconds=max(left, 0.0)))
