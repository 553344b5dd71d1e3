"""A client's waits: ``wait`` until a run finishes and ``watch`` its changes, polled and
woken early by the events a receiver hands on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from .._model._lifecycle import UNKNOWN_GRACE, OnHold, Patience
from .._model._run import Run, RunRef
from .._wire._observe import observed
from .._wire._retry import Deadline
from ._base import ClientBase
from ._waiting import Poller, RunChange


class Waits(ClientBase):
    """The operations that follow a run until it finishes."""

    @observed("wait", "run")
    async def wait(
        self,
        run: RunRef | Run | str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        max_interval: float = 30.0,
        on_poll: Callable[[Run], object] | None = None,
        on_hold: OnHold = "raise",
        unknown_grace: float | None = UNKNOWN_GRACE,
    ) -> Run:
        """Poll until the run is terminal, backing off; ``WaitTimeout`` carries the last run.

        The wait ends within ``timeout`` whatever the provider does: a read never
        outlives it, and reads that fail for a while (an outage, throttling) are
        polled through until then. ``on_poll`` is called with every run read, e.g.
        to drive a progress display. When an ``EventReceiver`` serves this client,
        the run is read again as soon as an event about it arrives, and otherwise
        only every ``max_interval`` seconds, so a lost delivery never stalls a wait.

        A run that waits for a person or is paused (``Run.hold``) will not finish on
        its own: the wait raises ``RunHeld`` at once, unless ``on_hold="wait"``. A run
        whose native status the adapter cannot map for ``unknown_grace`` seconds ends
        the wait with ``UnknownStatus`` naming it (``None``: wait until the timeout).
        """
        ref = self.ref(run)
        self._args.seconds(timeout, "timeout", positive=False)
        self._args.seconds(poll_interval, "poll_interval")
        self._args.seconds(max_interval, "max_interval")
        patience = self._args.patience(on_hold, unknown_grace)
        self._require("get")
        poller = self._poller(ref, patience)
        if self._observers is not None:
            on_poll = self._polled(on_poll)
        receiver = self._receiver
        if receiver is None:
            return await poller.until_terminal(timeout, poll_interval, max_interval, on_poll, None)
        flag = receiver.watch(ref)
        try:
            return await poller.until_terminal(timeout, max_interval, max_interval, on_poll, flag)
        finally:
            receiver.unwatch(ref, flag)

    def watch(
        self,
        run: RunRef | Run | str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        max_interval: float = 30.0,
        on_hold: OnHold = "raise",
        unknown_grace: float | None = UNKNOWN_GRACE,
    ) -> AsyncIterator[RunChange]:
        """The run's changes as they happen: ``async for change in client.watch(run)``.

        Each ``RunChange`` holds the run as it now is and which of its ``status``,
        ``native_status``, ``hold``, ``progress``, ``outputs`` and ``failure`` changed
        (the first holds the run as first read). It ends after the terminal state, or
        raises ``WaitTimeout`` after ``timeout`` seconds. A held run (waiting for a
        person, paused) is yielded, then ``RunHeld`` is raised unless
        ``on_hold="wait"``; a status the adapter cannot map for ``unknown_grace``
        seconds raises ``UnknownStatus``. Polled like ``wait``, backing off; with an
        ``EventReceiver`` serving this client, a delivery about the run has it read
        again at once (and polls slow to ``max_interval``). Arguments are checked now,
        before any request.
        """
        ref = self.ref(run)
        self._args.seconds(timeout, "timeout", positive=False)
        self._args.seconds(poll_interval, "poll_interval")
        self._args.seconds(max_interval, "max_interval")
        patience = self._args.patience(on_hold, unknown_grace)
        self._require("get")
        return self._watch(ref, timeout, poll_interval, max_interval, patience)

    async def _watch(
        self,
        ref: RunRef,
        timeout: float,
        poll_interval: float,
        max_interval: float,
        patience: Patience,
    ) -> AsyncIterator[RunChange]:
        poller = self._poller(ref, patience)
        on_poll = self._polled(None) if self._observers is not None else None
        receiver = self._receiver
        if receiver is None:
            async for change in poller.changes(timeout, poll_interval, max_interval, on_poll, None):
                yield change
            return
        flag = receiver.watch(ref)
        try:
            async for change in poller.changes(timeout, max_interval, max_interval, on_poll, flag):
                yield change
        finally:
            receiver.unwatch(ref, flag)

    def _poller(self, ref: RunRef, patience: Patience) -> Poller:
        return Poller(
            lambda seconds: self._read(ref, seconds),
            ref,
            read_limit=self._channel.http.options.deadline,
            describe=lambda native: self._args.safe(native, 80),
            patience=patience,
        )

    def _polled(self, on_poll: Callable[[Run], object] | None) -> Callable[[Run], object]:
        """``on_poll``, telling the observers of every read first."""
        observers = self._observers
        assert observers is not None

        def polled(run: Run) -> object:
            observers.notify("wait_polled", self.provider, run)
            return on_poll(run) if on_poll is not None else None

        return polled

    async def _read(self, ref: RunRef, seconds: float) -> Run:
        """``get`` under a deadline of ``seconds`` (at least a moment)."""
        call = self._channel.call("get", deadline=Deadline(max(seconds, 0.001)))
        return self._seen(await self.adapter.get(call, ref.id))
