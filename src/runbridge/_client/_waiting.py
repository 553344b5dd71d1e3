"""``Poller``: reading one run until it finishes, within a deadline, woken early by events.

``RunClient.wait`` checks its arguments and hands the reading here: reads that fail
for a while (an outage, throttling, a garbled answer) are polled through until the
deadline, and the wait ends with ``WaitTimeout`` carrying the last run read.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import attrs

from .._model._errors import ProviderUnavailable, RateLimited, ResponseError
from .._model._lifecycle import Patience
from .._model._run import Run, RunRef, RunStatus
from .._model._run_errors import RunHeld, UnknownStatus, WaitTimeout


class Wakes(Protocol):
    """What wakes a wait early: the receiver that serves a client's run events."""

    def watch(self, ref: RunRef) -> asyncio.Event:
        """A flag set whenever a delivery about ``ref`` is accepted."""
        ...

    def unwatch(self, ref: RunRef, flag: asyncio.Event) -> None:
        """Stop setting ``flag``."""
        ...


Read = Callable[[float], Awaitable[Run]]
"""Reads the run once, under a deadline of that many seconds."""

WATCHED = ("status", "native_status", "hold", "progress", "outputs", "failure")
"""What a change of a watched run is a change of."""


@attrs.frozen
class RunChange:
    """A watched run as it now is, and which of its fields changed (``status``,
    ``native_status``, ``hold``, ``progress``, ``outputs``, ``failure``; all that are
    set, on the first read)."""

    run: Run
    changed: frozenset[str]


def _changed(previous: Run | None, current: Run) -> frozenset[str]:
    if previous is None:
        return frozenset(f for f in WATCHED if getattr(current, f) not in (None, {}))
    return frozenset(f for f in WATCHED if getattr(previous, f) != getattr(current, f))


class Poller:
    """Reads run ``ref`` with ``read`` until it is terminal or the wait's time is up."""

    def __init__(
        self,
        read: Read,
        ref: RunRef,
        *,
        read_limit: float,
        describe: Callable[[str | None], str],
        patience: Patience,
    ) -> None:
        self._read = read
        self._ref = ref
        self._read_limit = read_limit
        """The longest a single read may take (the client's deadline per operation)."""
        self._describe = describe
        """A native status as it may appear in an error message (redacted, shortened)."""
        self._patience = patience

    async def until_terminal(
        self,
        timeout: float,
        poll_interval: float,
        max_interval: float,
        on_poll: Callable[[Run], object] | None,
        arrived: asyncio.Event | None,
    ) -> Run:
        """Read until terminal, for at most ``timeout`` seconds; between reads, sleep, or
        wait for ``arrived`` to be set."""
        async for current in self.reads(timeout, poll_interval, max_interval, arrived):
            if on_poll is not None:
                on_poll(current)
            if current.status.is_terminal:
                return current
        raise AssertionError("reads() ends with a terminal run or WaitTimeout")  # pragma: no cover

    async def changes(
        self,
        timeout: float,
        poll_interval: float,
        max_interval: float,
        on_poll: Callable[[Run], object] | None,
        arrived: asyncio.Event | None,
    ) -> AsyncIterator[RunChange]:
        """Each change of the run (the first read counts as one), until it is terminal;
        ``WaitTimeout`` if it is not within ``timeout`` seconds."""
        previous: Run | None = None
        async for current in self.reads(timeout, poll_interval, max_interval, arrived):
            if on_poll is not None:
                on_poll(current)
            changed = _changed(previous, current)
            if changed:
                yield RunChange(current, changed)
            previous = current
            if current.status.is_terminal:
                return

    async def reads(
        self,
        timeout: float,
        poll_interval: float,
        max_interval: float,
        arrived: asyncio.Event | None,
    ) -> AsyncIterator[Run]:
        """Every successful read of the run, backing off between them, until it is
        terminal (the caller stops) or ``timeout`` seconds have passed (``WaitTimeout``)."""
        end = time.monotonic() + timeout
        interval = min(poll_interval, max_interval)
        last: Run | None = None
        failure: Exception | None = None
        patience = self._patience
        unknown_since: float | None = None
        """When the reads began to show a status the adapter cannot map."""
        while True:
            if arrived is not None:
                arrived.clear()  # before the read: an event during it means read again
            left = end - time.monotonic()
            try:
                current = await self._read(min(left, self._read_limit))
            except (ProviderUnavailable, RateLimited, ResponseError) as exc:
                failure = exc  # transient, or cut short by the wait's own deadline
            else:
                failure, last = None, current
                yield current
                if current.status.is_terminal:
                    return
                if current.hold is not None and patience.on_hold == "raise":
                    raise self._held(current)
                if current.status is not RunStatus.UNKNOWN:
                    unknown_since = None
                elif patience.unknown_grace is not None:
                    now = time.monotonic()
                    unknown_since = now if unknown_since is None else unknown_since
                    if now - unknown_since >= patience.unknown_grace:
                        raise self._unknown(current, patience.unknown_grace)
                    # Read again when the grace is up, not a backoff step later.
                    end_of_grace = unknown_since + patience.unknown_grace - now
                    interval = min(interval, max(end_of_grace, 0.001))
            left = end - time.monotonic()
            if left <= 0:
                raise self._timed_out(last, timeout) from failure
            if arrived is None:
                await asyncio.sleep(min(interval, left))
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), min(interval, left))
            interval = min(interval * 1.5, max_interval)

    def _held(self, run: Run) -> RunHeld:
        assert run.hold is not None
        what = "waiting for a person" if run.hold.kind == "person" else "paused"
        reason = f" ({self._describe(run.hold.reason)})" if run.hold.reason else ""
        return RunHeld(
            f"run {self._ref} is {what}{reason}, native status "
            f"{self._describe(run.native_status)}: it will not finish on its own; act on "
            "it (resume it, answer its task) and wait again, or wait with on_hold='wait'",
            run=run,
            provider=self._ref.provider,
            operation="wait",
        )

    def _unknown(self, run: Run, grace: float) -> UnknownStatus:
        return UnknownStatus(
            f"run {self._ref} has read as unknown for {grace:g}s: native status "
            f"{self._describe(run.native_status)} is not in the adapter's status map",
            run=run,
            provider=self._ref.provider,
            operation="wait",
        )

    def _timed_out(self, last: Run | None, timeout: float) -> WaitTimeout:
        if last is None:
            state = "never read: the provider did not answer in time"
        else:
            state = (
                f"still {last.status.value} (native status {self._describe(last.native_status)})"
            )
        return WaitTimeout(
            f"run {self._ref} {state} after {timeout:g}s",
            run=last,
            provider=self._ref.provider,
            operation="wait",
        )
