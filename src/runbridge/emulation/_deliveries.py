"""Run events: the part of the emulator base that tells a receiver a run has finished.

An emulator computes statuses lazily from its clock, so nothing happens when a
run finishes. While ``serve()`` runs, a background task polls: it notices runs
that reached a terminal native status (with a ``ManualClock``, after
``advance``), queues one delivery per terminal transition, and POSTs due
deliveries, retrying non-2xx answers with exponential backoff on the emulator's
clock. ``DeliveryFaults`` (or ``inject_delivery_fault``) makes deliveries arrive
twice, late, out of order, badly signed, or not at all.

Attempts are signed at the wall clock (``signing_time``), not at emulator time:
receivers check a signed timestamp against their own clock, so deliveries of an
emulator that is sped up or moved ahead by a test must still verify. What the
payloads say (``occurred_at``, the run's own times) stays on emulator time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, ClassVar, Literal

import aiohttp
import attrs

from ._lifecycle import NativeStatuses, Timeline

DeliveryFaultKind = Literal["duplicate", "late", "out_of_order", "bad_signature", "dropped"]
DELIVERY_FAULTS: tuple[DeliveryFaultKind, ...] = (
    "duplicate",
    "late",
    "out_of_order",
    "bad_signature",
    "dropped",
)
DeliveryState = Literal["pending", "delivered", "failed", "dropped"]


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be a probability from 0 to 1, got {value!r}")


@attrs.frozen(kw_only=True)
class DeliveryFaults:
    """How often a delivery misbehaves, per kind, each drawn independently (0 to 1).

    ``duplicate`` sends each attempt twice, byte for byte; ``late`` holds the
    first attempt back ``late_seconds`` of emulator time; ``out_of_order`` holds
    it until a later delivery has gone out (or ``late_seconds`` pass);
    ``bad_signature`` signs the first attempt with the wrong key (retries are
    signed properly); ``dropped`` never sends it, while the provider's own
    record says it went out.
    """

    duplicate: float = attrs.field(default=0.0, validator=_rate)
    late: float = attrs.field(default=0.0, validator=_rate)
    out_of_order: float = attrs.field(default=0.0, validator=_rate)
    bad_signature: float = attrs.field(default=0.0, validator=_rate)
    dropped: float = attrs.field(default=0.0, validator=_rate)
    late_seconds: float = 30.0
    """How long ``late`` (and at most ``out_of_order``) holds a delivery back."""
    seed: int | None = None

    def draw(self, rng: random.Random) -> frozenset[DeliveryFaultKind]:
        """The kinds that hit one delivery."""
        return frozenset(kind for kind in DELIVERY_FAULTS if rng.random() < getattr(self, kind))


@attrs.frozen(kw_only=True)
class Outbound:
    """What an emulator sends for one terminal transition: where, which event, which body."""

    url: str
    event: str
    body: bytes


@attrs.frozen(kw_only=True)
class EventRoute:
    """How a test gets an emulator's run events sent to a URL: the secret that verifies
    them (``connect(webhook_secrets=[secret])``) and the create options each run needs."""

    secret: str = attrs.field(repr=False)
    options: Mapping[str, Any] = attrs.field(factory=dict, hash=False)


@attrs.frozen(kw_only=True)
class DeliveryAttempt:
    """One POST of a delivery: when, and what came back."""

    at: float
    status: int | None
    """The receiver's HTTP status; ``None`` when no answer came."""
    error: str | None = None
    forged: bool = False
    """Whether it carried a bad signature (a ``bad_signature`` fault)."""
    duplicate: bool = False
    """Whether it was the second copy of a ``duplicate`` fault."""


@attrs.define(eq=False, kw_only=True)
class Delivery:
    """One event for one run, and every attempt to deliver it."""

    id: str
    run_id: str
    event: str
    url: str
    body: bytes = attrs.field(repr=False)
    created: float
    seq: int
    due: float
    faults: frozenset[DeliveryFaultKind] = frozenset()
    state: DeliveryState = "pending"
    held: bool = False
    attempts: list[DeliveryAttempt] = attrs.field(factory=list)

    @property
    def tries(self) -> int:
        """Attempts made, not counting duplicate copies."""
        return sum(not attempt.duplicate for attempt in self.attempts)


class DeliveryLoop:
    """Run events for an emulator (the base mixes this in).

    A subclass says which runs have a receiver (``event_runs``), what it sends
    for a terminal run (``run_event``), and how it signs (``sign_delivery``).
    """

    statuses: ClassVar[NativeStatuses]
    runs: MutableMapping[str, Any]
    delivery_attempts: int = 4
    """Attempts per delivery before it counts as failed."""
    delivery_backoff: float = 5.0
    """Seconds of emulator time before the first retry; doubled for each next one."""
    delivery_poll: float = 0.02
    """Real seconds between two looks at the runs while ``serve()`` runs."""
    delivery_timeout: float = 10.0
    """Real seconds a receiver has to answer one attempt."""

    def now(self) -> float:
        """Current emulator time (the emulator base defines it)."""
        raise NotImplementedError

    def native_status(self, timeline: Timeline, now: float | None = None) -> str:
        """The native status of a run (the emulator base defines it)."""
        raise NotImplementedError

    def _init_deliveries(self) -> None:
        self.deliveries: list[Delivery] = []
        """Every delivery queued, in order."""
        self.delivery_fault_counts: Counter[str] = Counter()
        """How many deliveries each kind of delivery fault hit."""
        self.delivery_errors: list[str] = []
        """Errors the background delivery loop met (an emulator bug, not a receiver's)."""
        self._announced: set[tuple[str, float, str]] = set()
        self._queued_delivery_faults: deque[frozenset[DeliveryFaultKind]] = deque()
        self._delivery_seq = 0
        self._delivery_lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self.delivery_faults = None

    @property
    def delivery_faults(self) -> DeliveryFaults:
        """The delivery fault profile; setting one (``None``: none) restarts its seed."""
        return self._delivery_faults

    @delivery_faults.setter
    def delivery_faults(self, faults: DeliveryFaults | None) -> None:
        self._delivery_faults = faults or DeliveryFaults()
        self._delivery_rng = random.Random(self._delivery_faults.seed)  # noqa: S311

    def inject_delivery_fault(self, *kinds: DeliveryFaultKind) -> None:
        """Make the next delivery queued suffer ``kinds`` (together)."""
        if unknown := set(kinds) - set(DELIVERY_FAULTS):
            raise ValueError(f"no delivery fault {sorted(unknown)[0]!r} ({DELIVERY_FAULTS})")
        self._queued_delivery_faults.append(frozenset(kinds))

    # -- what subclasses declare --------------------------------------------------------

    def send_events_to(self, url: str) -> EventRoute:
        """Deliver run events to ``url`` from now on, the way the provider is told to.

        Emulators of providers that push events implement it; the conformance
        kit uses it to check an adapter's reading of real deliveries.
        """
        raise NotImplementedError(f"the {type(self).__name__} emulator sends no run events")

    def event_runs(self) -> Iterable[tuple[str, Any]]:
        """Runs that have a receiver for their events, by id; none by default."""
        return ()

    def run_event(self, run_id: str, run: Any) -> Outbound | None:
        """The event for a run in a terminal status now; ``None`` sends nothing."""
        return None

    def sign_delivery(self, delivery: Delivery, at: float, *, forged: bool) -> dict[str, str]:
        """Headers of one attempt signed at ``at`` (``signing_time``: wall-clock seconds);
        ``forged`` asks for a signature that does not verify."""
        return {}

    def signing_time(self) -> float:
        """When an attempt is signed: the wall clock, whatever the emulator clock says
        (a sped-up or advanced clock would make receivers refuse it as not fresh)."""
        return time.time()

    def new_delivery_id(self) -> str:
        """An id for a new delivery."""
        return f"dlv_{secrets.token_hex(12)}"

    # -- queueing -----------------------------------------------------------------------

    def deliveries_of(self, run_id: str) -> list[Delivery]:
        """The deliveries queued for a run, oldest first."""
        return [d for d in self.deliveries if d.run_id == run_id]

    def queue_delivery(self, run_id: str, outbound: Outbound) -> Delivery:
        """Queue ``outbound`` for ``run_id`` now, drawing its faults."""
        now = self.now()
        drawn = self._delivery_faults.draw(self._delivery_rng)
        if self._queued_delivery_faults:
            drawn = drawn | self._queued_delivery_faults.popleft()
        self.delivery_fault_counts.update(drawn)
        self._delivery_seq += 1
        late = self._delivery_faults.late_seconds
        delivery = Delivery(
            id=self.new_delivery_id(),
            run_id=run_id,
            event=outbound.event,
            url=outbound.url,
            body=outbound.body,
            created=now,
            seq=self._delivery_seq,
            due=now + late if "late" in drawn else now,
            faults=drawn,
            state="dropped" if "dropped" in drawn else "pending",
            held="out_of_order" in drawn,
        )
        self.deliveries.append(delivery)
        return delivery

    def redeliver(self, run_id: str) -> Delivery | None:
        """A new delivery of a terminal run's event from its current state."""
        run = self.runs.get(run_id)
        if run is None or self.statuses.phase_of(self.native_status(run.timeline)) != "finished":
            return None
        outbound = self.run_event(run_id, run)
        return None if outbound is None else self.queue_delivery(run_id, outbound)

    def _notice(self) -> None:
        statuses = self.statuses
        now = self.now()
        for run_id, run in list(self.event_runs()):
            timeline: Timeline = run.timeline
            native = self.native_status(timeline, now)
            if statuses.phase_of(native) != "finished":
                continue
            key = (run_id, timeline.created, native)
            if key in self._announced:
                continue
            self._announced.add(key)
            if (outbound := self.run_event(run_id, run)) is not None:
                self.queue_delivery(run_id, outbound)

    # -- sending ------------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Notice newly finished runs and make every attempt now due; how many were made."""
        async with self._delivery_lock:
            self._notice()
            now, made = self.now(), 0
            pending = sorted(
                (d for d in self.deliveries if d.state == "pending" and d.due <= now),
                key=lambda d: d.seq,
            )
            for delivery in pending:
                if delivery.held:
                    if now < delivery.created + self._delivery_faults.late_seconds:
                        continue
                    delivery.held = False
                made += await self._attempt(delivery)
                for held in pending:
                    if held.held and held.seq < delivery.seq and held.state == "pending":
                        held.held = False
                        made += await self._attempt(held)
            return made

    async def _attempt(self, delivery: Delivery) -> int:
        now = self.now()
        forged = "bad_signature" in delivery.faults and not delivery.attempts
        headers = {"content-type": "application/json"}
        headers.update(self.sign_delivery(delivery, self.signing_time(), forged=forged))
        copies = 2 if "duplicate" in delivery.faults else 1
        ok = False
        for copy in range(copies):
            status, error = await self._post(delivery.url, delivery.body, headers)
            ok = ok or (status is not None and 200 <= status < 300)
            delivery.attempts.append(
                DeliveryAttempt(
                    at=now, status=status, error=error, forged=forged, duplicate=copy > 0
                )
            )
        if ok:
            delivery.state = "delivered"
        elif delivery.tries >= self.delivery_attempts:
            delivery.state = "failed"
        else:
            delivery.due = now + self.delivery_backoff * 2 ** (delivery.tries - 1)
        return copies

    async def _post(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int | None, str | None]:
        session = self._session
        own = session is None
        if session is None:
            session = aiohttp.ClientSession()
        try:
            timeout = aiohttp.ClientTimeout(total=self.delivery_timeout)
            async with session.post(url, data=body, headers=headers, timeout=timeout) as resp:
                await resp.read()
                return resp.status, None
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        finally:
            if own:
                await session.close()

    async def _deliver_forever(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception as exc:
                self.delivery_errors.append(f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.delivery_poll)

    async def _start_deliveries(self) -> None:
        # One delivery loop and one session however many times the emulator is served
        # at once: two loops would race to send the same delivery.
        self._serving = getattr(self, "_serving", 0) + 1
        if self._serving == 1:
            self._session = aiohttp.ClientSession()
            self._loop_task: asyncio.Task[None] | None = asyncio.create_task(
                self._deliver_forever()
            )

    async def _stop_deliveries(self) -> None:
        self._serving -= 1
        if self._serving:
            return
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None
