"""``RunClient``: the operations users call, on any provider.

Each operation checks its arguments (``_arguments``), refuses what the provider
cannot do before any request, and hands the adapter a ``Call``. Creating is in
``_create``; the lifecycle rules in ``_lifecycle``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import attrs

from .._creates._batch import create_many
from .._creates._create import Creator
from .._creates._pending import Unconfirmed
from .._creates._resolve import resolve
from .._journal import Journal, MemoryJournal, batch_key
from .._model._capabilities import Capabilities, Support
from .._model._errors import (
    ConfigError,
    UnsupportedOperation,
)
from .._model._events import DEFAULT_TOLERANCE, MAX_EVENT_BYTES, EventRejected, RunEvent
from .._model._lifecycle import UNKNOWN_GRACE, Move, OnHold, Patience, check_transition
from .._model._run import (
    BulkError,
    BulkResult,
    File,
    Page,
    Run,
    RunFilter,
    RunRef,
    RunRequest,
    RunStatus,
    RunUpdate,
)
from .._plugins._adapter import Adapter
from .._wire._call import Channel
from .._wire._observe import Observers, observed
from .._wire._pagination import RunIterator, decode_cursor
from .._wire._retry import Deadline
from ._arguments import Arguments
from ._event_reading import read_event
from ._listing import fetch_page
from ._waiting import Poller, RunChange, Wakes

if TYPE_CHECKING:
    from ._config import Profile

log = logging.getLogger("runbridge")

_WARN_LIMIT = 256
_warned: set[tuple[str, str]] = set()
# Module constants: on Python 3.11 reading an enum member off its class costs several
# times a plain attribute, and some of these are read once per run of a page.
_UNKNOWN = RunStatus.UNKNOWN
_UNSUPPORTED = Support.UNSUPPORTED


def _warn_unknown(provider: str, native: str) -> None:
    """Log once per provider and value that a native status is not in the adapter's map."""
    key = (provider, native)
    if key in _warned or len(_warned) >= _WARN_LIMIT:
        return
    _warned.add(key)
    log.warning(
        "%s: unknown native status %r, read as 'unknown'; the adapter's status map may "
        "be out of date",
        provider,
        native[:80],
    )


class RunClient:
    """Runs on one provider, in canonical form. Open it with ``async with``."""

    def __init__(
        self,
        adapter: Adapter,
        channel: Channel,
        *,
        profile: Profile | None = None,
        webhook_secrets: Sequence[str] = (),
        max_event_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        self.adapter = adapter
        self.profile = profile
        """The profile this client was made from, if any."""
        self._webhook_secrets = tuple(webhook_secrets)
        self._receiver: Wakes | None = None
        """The receiver whose events finish this client's waits (set by ``EventReceiver``)."""
        self.max_event_bytes = max_event_bytes
        """The largest event delivery (body bytes) ``parse_event`` reads."""
        self._channel = channel
        self._capabilities = adapter.instance_capabilities()
        self._cannot_get = self._capabilities.support("get") is _UNSUPPORTED
        self._args = Arguments(adapter, channel.redactor)
        self._creator = Creator(adapter, channel, MemoryJournal())
        self._owns_journal = False
        self._observers: Observers | None = channel.observers
        """Who watches this client's operations; ``None``: nobody (one check each)."""

    def __repr__(self) -> str:
        named = f" profile={self.profile.name!r}" if self.profile else ""
        return f"<RunClient {self.provider}{named} {self.base_url}>"

    async def __aenter__(self) -> Self:
        await self._channel.http.open()
        try:
            await self._creator.journal.open()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session (and a journal the client opened itself)."""
        await self._channel.http.close()
        if self._owns_journal:
            await self._creator.journal.close()

    def observe(self, observers: Iterable[object]) -> None:
        """Have ``observers`` watch this client's operations and attempts from now on
        (added to those it has)."""
        have = self._observers.observers if self._observers is not None else ()
        watching = Observers([*have, *observers])
        self._observers = self._channel.observers = watching

    def use_journal(self, journal: Journal, *, owned: bool = False) -> None:
        """Record creates in ``journal`` from now on (``owned``: close it with the client).

        A journal database also keeps the client's rate limit, so that it holds in sum
        over every process that shares it.
        """
        self._creator.journal = journal
        self._owns_journal = owned
        throttle = self._channel.http.throttle
        if throttle is not None and throttle.rate is not None and hasattr(journal, "take"):
            throttle.share(journal)  # type: ignore[arg-type]

    @property
    def journal(self) -> Journal:
        """Where this client records its creates."""
        return self._creator.journal

    # -- what this client is ------------------------------------------------------------

    @property
    def provider(self) -> str:
        """The provider this client talks to."""
        return self.adapter.name

    @property
    def base_url(self) -> str:
        """The provider base URL in use."""
        return self._channel.http.base_url

    @property
    def capabilities(self) -> Capabilities:
        """What the provider supports natively, what is emulated, and how it pages."""
        return self._capabilities

    def target(self, name: str) -> str:
        """The provider target for ``name``: resolved through the profile's aliases."""
        return self.profile.target(name) if self.profile is not None else name

    def ref(self, run: RunRef | Run | str) -> RunRef:
        """A validated ref on this provider from a ref, a run, ``"provider:id"`` or an id."""
        return self._args.ref(run)

    def parse_run(self, payload: Any) -> Run:
        """The canonical run for a provider payload received some other way (a webhook,
        a file); malformed payloads raise ``ResponseError``."""
        return self._seen(self.adapter.to_run(self._channel.call("parse"), payload))

    # -- run events ---------------------------------------------------------------------

    async def parse_event(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        now: float | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> RunEvent:
        """The run event a provider delivered (a webhook request's headers and raw body).

        Checked before anything in it is read: the body's size (``max_event_bytes``),
        then its signature against each of the client's ``webhook_secrets`` (and its
        signed timestamp against ``now``, default the clock, within ``tolerance``
        seconds, where the provider's scheme signs one). A delivery that fails raises
        ``EventRejected`` naming the reason; nothing in it was processed. Replay
        protection is the caller's (``runbridge.EventReceiver`` does it): key it on
        ``event.replay_key``, which comes only from what the signature covers, never on
        an unsigned delivery id.
        """
        self._require_events()
        if not isinstance(body, bytes | bytearray | memoryview):
            raise self._args.invalid("body must be the raw bytes of the request", "body", "events")
        try:
            event = read_event(
                self.adapter,
                self._channel.call("event"),
                headers,
                bytes(body),
                secrets=self._webhook_secrets,
                max_bytes=self.max_event_bytes,
                now=now,
                tolerance=tolerance,
            )
        except EventRejected as exc:
            if self._observers is not None:
                self._observers.notify("event_received", self.provider, f"rejected:{exc.reason}")
            raise
        if self._observers is not None:
            self._observers.notify("event_received", self.provider, "accepted")
        self._seen(event.run)
        return event

    # -- operations ---------------------------------------------------------------------

    @observed("create", "request")
    async def create(
        self,
        request: RunRequest | str,
        *,
        inputs: Mapping[str, Any] | None = None,
        name: str | None = None,
        files: Iterable[File] = (),
        secrets: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Run:
        """Start a run from a ``RunRequest``, or from a target and keyword arguments."""
        request = self._args.request(
            request, inputs=inputs, name=name, files=files, secrets=secrets, options=options
        )
        self._require("create")
        request = self._resolve(request)
        self._args.create(request, secrets_supported=self._capabilities.secrets)
        return self._seen(await self._creator.create(request))

    @observed("create_many", "batch")
    async def create_many(
        self, requests: Iterable[RunRequest], *, concurrency: int = 8, resume: bool = False
    ) -> BulkResult:
        """Start many runs; failures are reported per request in the result, not raised.

        Uses the provider's bulk endpoint where it has one (its requests in flight
        bounded by ``concurrency`` too), otherwise at most ``concurrency`` single
        creates at a time. A request whose run may exist is reported with a
        ``token`` (``BulkResult.unconfirmed``). ``resume=True`` continues a batch of
        the same requests that a previous call (or a killed process, with an SQLite
        journal) left unfinished, without creating any of its runs twice.
        """
        batch = list(requests)
        self._args.count(concurrency, "concurrency", minimum=1)
        if not batch:
            return BulkResult((), (), 0)
        support = self._require("create_many")
        resolved, refused = self._args.bulk(
            batch, self._resolve, secrets_supported=self._capabilities.secrets
        )
        batch_id = await self._creator.journal.start_batch(
            self.provider, batch_key(self.provider, resolved), resume=resume
        )
        return await self._slots(
            batch_id, dict(enumerate(resolved)), concurrency, support, refused, resume
        )

    async def _shard(
        self, batch: str, slots: Mapping[int, RunRequest], concurrency: int
    ) -> BulkResult:
        """Create ``slots`` (index: request) as their slots of ``batch``, checked here,
        settling first what the journal holds of them (a shard of ``runbridge.dask``)."""
        support = self._require("create_many")
        indexes = list(slots)
        checked, refused = self._args.bulk(
            [slots[i] for i in indexes], self._resolve, secrets_supported=self._capabilities.secrets
        )
        requests = {indexes[n]: request for n, request in enumerate(checked)}
        errors = {indexes[n]: attrs.evolve(error, index=indexes[n]) for n, error in refused.items()}
        return await self._slots(batch, requests, concurrency, support, errors, True)

    async def _slots(
        self,
        batch: str,
        requests: Mapping[int, RunRequest],
        concurrency: int,
        support: Support,
        refused: dict[int, BulkError],
        resume: bool,
    ) -> BulkResult:
        """Create ``requests`` as the slots of ``batch`` they are keyed by (a batch spread
        over processes gives each its share: ``runbridge.dask``)."""
        result = await create_many(
            self._creator,
            requests,
            concurrency=concurrency,
            support=support,
            refused=refused,
            resume=resume,
            batch=batch,
        )
        for run in result.runs:
            self._seen(run)
        return result

    @observed("resolve")
    async def resolve(
        self, token: str, *, request: RunRequest | None = None, timeout: float = 0.0
    ) -> Run | None:
        """The run a create with client ``token`` made, or ``None`` if it certainly made none.

        For a create that raised ``CreateUnconfirmed`` (or was cancelled, or is
        listed by ``unconfirmed()``). Providers with idempotency keys settle it by
        sending the create again with its key (pass ``request`` when this client
        did not send it); others look the run up. ``None`` means the provider has
        no such run and none can appear any more (its settle window after the last
        send has passed): creating the request again will not duplicate it. While
        that cannot be known yet (the window is open, or another process holds the
        create's claim), ``CreateUnconfirmed`` is raised again with ``settles_at``;
        ``timeout`` waits up to that many seconds for the answer instead.
        """
        if not isinstance(token, str) or not token:
            raise self._args.invalid("token must be a non-empty string", "token", "resolve")
        self._args.seconds(timeout, "timeout", positive=False)
        run = await resolve(self._creator, token, request, timeout)
        return self._seen(run) if run is not None else None

    def unconfirmed(self) -> Unconfirmed:
        """Creates of this provider whose outcome is unknown (in flight, unconfirmed,
        or cancelled by the caller), oldest first: ``await client.unconfirmed()``.
        ``resolve`` settles each. (Used without ``await`` it still reads the journal,
        with a ``DeprecationWarning``, until runbridge 0.3.)"""
        return Unconfirmed(self._creator.journal, self.provider)

    @observed("get", "run")
    async def get(self, run: RunRef | Run | str) -> Run:
        """Read a run."""
        run_id = self._args.run_id(run)
        if self._cannot_get:
            self._require("get")
        found = await self.adapter.get(self._channel.call("get"), run_id)
        if found.status is _UNKNOWN:
            self._seen(found)
        return found

    async def list_page(
        self,
        *,
        target: str | None = None,
        status: RunStatus | str | Iterable[RunStatus | str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        """One page of runs; pass its ``next_cursor`` as ``cursor`` to continue."""
        self._require("list")
        filters = self._filters(target, status, created_after, created_before)
        page, _ = await self._fetch_page(filters, cursor, self._args.page_size(page_size))
        return page

    def list(
        self,
        *,
        target: str | None = None,
        status: RunStatus | str | Iterable[RunStatus | str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> RunIterator:
        """Every matching run across pages, fetched lazily; ``.pages()`` for pages.

        ``limit`` stops after that many runs. Arguments are checked now, before
        any request is made.
        """
        self._require("list")
        filters = self._filters(target, status, created_after, created_before)
        size = self._args.page_size(page_size)
        if cursor is not None:
            decode_cursor(self.provider, cursor, key=self._channel.cursor_key)
        if limit is not None:
            self._args.count(limit, "limit", minimum=0)

        async def fetch(c: str | None) -> tuple[Page, tuple[Run, ...]]:
            return await self._fetch_page(filters, c, size)

        return RunIterator(fetch, provider=self.provider, cursor=cursor, limit=limit)

    @observed("update", "run")
    async def update(
        self, run: RunRef | Run | str, update: RunUpdate | None = None, **fields: Any
    ) -> Run:
        """Change some fields of a run; a status change must be a legal transition."""
        ref = self.ref(run)
        self._require("update")
        update = self._args.update(update, fields)
        if update.status is not None:
            await self._check(ref, update.status, "update")
        return self._seen(await self.adapter.update(self._channel.call("update"), ref.id, update))

    @observed("cancel", "run")
    async def cancel(self, run: RunRef | Run | str) -> Run:
        """Cancel a run that has not finished; ``IllegalTransition`` if it has."""
        ref = self.ref(run)
        self._require("cancel")
        await self._check(ref, RunStatus.CANCELLED, "cancel")
        return self._seen(await self.adapter.cancel(self._channel.call("cancel"), ref.id))

    @observed("pause", "run")
    async def pause(self, run: RunRef | Run | str, *, reason: str | None = None) -> Run:
        """Pause a run that has not finished, where the provider can (``resume`` lets it
        go on); ``reason`` is shown to the people who see the run."""
        ref = self.ref(run)
        self._require("pause")
        if reason is not None and not (isinstance(reason, str) and reason.strip()):
            raise self._args.invalid(
                f"reason must be a non-empty string, not {self._args.safe(reason, 40)}",
                "reason",
                "pause",
            )
        await self._check(ref, RunStatus.RUNNING, "pause")
        return self._seen(await self.adapter.pause(self._channel.call("pause"), ref.id, reason))

    @observed("resume", "run")
    async def resume(self, run: RunRef | Run | str) -> Run:
        """Let a paused run go on, where the provider can."""
        ref = self.ref(run)
        self._require("resume")
        await self._check(ref, RunStatus.RUNNING, "resume")
        return self._seen(await self.adapter.resume(self._channel.call("resume"), ref.id))

    @observed("retry", "run")
    async def retry(self, run: RunRef | Run | str, **options: Any) -> Run:
        """Run a finished run again: in place where the provider can, else as a new run."""
        ref = self.ref(run)
        support = self._require("retry")
        if support is Support.NATIVE:
            self.adapter.retry_options.check(options, provider=self.provider, operation="retry")
            self.adapter.check_options("retry", options)
            await self._check(ref, RunStatus.PENDING, "retry")
            retried = await self.adapter.retry(self._channel.call("retry"), ref.id, options)
            return self._seen(retried)
        remembered = self._creator.sent.get(ref)
        if remembered is None and not self.adapter.retry_from_payload:
            raise UnsupportedOperation(
                f"cannot retry run {ref.id}: {self.provider} does not report a run's inputs, "
                "so only runs this client created can be retried; start a new run with create()",
                provider=self.provider,
                operation="retry",
            )
        self.adapter.create_options.check(options, provider=self.provider, operation="retry")
        previous = await self._check(ref, RunStatus.PENDING, "retry")
        request = remembered or self.adapter.retry_request(previous)
        if options:
            request = attrs.evolve(request, options={**request.options, **options})
        self._args.create(request, secrets_supported=self._capabilities.secrets, operation="retry")
        return self._seen(await self._creator.create(request))

    @observed("delete", "run")
    async def delete(self, run: RunRef | Run | str) -> None:
        """Delete a run."""
        ref = self.ref(run)
        self._require("delete")
        await self.adapter.delete(self._channel.call("delete"), ref.id)

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

    # -- helpers ------------------------------------------------------------------------

    def _require_events(self) -> None:
        """Refuse a client that cannot take run events: no capability, or no secret."""
        if not self._capabilities.events:
            raise UnsupportedOperation(
                f"{self.provider} does not push run events",
                provider=self.provider,
                operation="events",
            )
        if not self._webhook_secrets:
            raise ConfigError(
                f"the {self.provider} client has no webhook secret: pass "
                "connect(..., webhook_secrets=[...])",
                field="webhook_secrets",
                provider=self.provider,
            )

    def _require(self, operation: str) -> Support:
        support = self._capabilities.support(operation)
        if support is _UNSUPPORTED:
            reason = self.adapter.unsupported_reason(operation)
            raise UnsupportedOperation(
                reason or f"{self.provider} does not support {operation}",
                provider=self.provider,
                operation=operation,
            )
        return support

    def _resolve(self, request: RunRequest) -> RunRequest:
        resolved = self.target(request.target)
        return request if resolved == request.target else attrs.evolve(request, target=resolved)

    def _seen(self, run: Run) -> Run:
        if run.status is _UNKNOWN:
            _warn_unknown(self.provider, self._channel.redactor.text(run.native_status or ""))
        return run

    def _filters(
        self,
        target: str | None,
        status: RunStatus | str | Iterable[RunStatus | str] | None,
        created_after: datetime | None,
        created_before: datetime | None,
    ) -> RunFilter:
        if isinstance(target, str) and target:
            target = self.target(target)
        return self._args.filters(target, status, created_after, created_before)

    async def _check(self, ref: RunRef, requested: RunStatus, move: Move) -> Run:
        run = await self.get(ref)
        check_transition(
            run.status,
            requested,
            move=move,
            provider=self.provider,
            run_id=ref.id,
            transitions=self.adapter.transitions,
        )
        return run

    @observed("list", "filters")
    async def _fetch_page(
        self, filters: RunFilter, cursor: str | None, page_size: int | None
    ) -> tuple[Page, tuple[Run, ...]]:
        return await fetch_page(self.adapter, self._channel, filters, cursor, page_size, self._seen)
