"""Creating one run exactly once, and settling creates whose outcome is unknown.

Every logical create has a client token, claimed in the journal before its first
byte is sent: a second process that meets the claim waits or reports it, never
sends. The create remembers every send that may have made its run. While one
may have, the outcome can only be the run or ``CreateUnconfirmed`` with the
token, never a plain error, and nothing is sent again while it may still land:

- with an idempotency key (``Adapter.idempotent_create``) the create is sent
  again with the same key, which the provider answers with the original run;
- with a client tag (``Adapter.tag``) the run is looked up, with backoff; once
  the settle window after the last send has passed and a look finds nothing,
  the provider made none and the create is sent again (same token, same tag);
- otherwise, or when the call's deadline comes first, ``CreateUnconfirmed``
  carries the token, and ``RunClient.resolve(token)`` settles it later.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from .._journal import Claim, Journal, JournalEntry, fingerprint
from .._model._errors import (
    InvalidRequest,
    JournalError,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    RunbridgeError,
)
from .._model._run import Run, RunRef, RunRequest
from .._model._run_errors import CreateUnconfirmed
from .._plugins._adapter import Adapter
from .._wire._call import UNPROCESSED, Channel
from .._wire._retry import Deadline, retrying
from ._settling import Sends, Settler, Verdict

log = logging.getLogger("runbridge.create")

REMEMBERED = 4096
"""Requests a client remembers, by run, so that an emulated retry can send them again."""

LEASE_MARGIN = 30.0
"""Seconds a claim's lease outlasts the call that holds it (deadline and settle window)."""

_KEYS = uuid.UUID("6d0a3b52-8f0e-4b8e-9f3c-2f7a1c9e5b10")


def key_of(token: str) -> str:
    """The idempotency key of a create: derived from its token, so a resumed or resolved
    create sends the same key again."""
    return str(uuid.uuid5(_KEYS, token))


def new_token() -> str:
    """A fresh client token."""
    from secrets import token_hex

    return token_hex(8)


def unprocessed(exc: Exception) -> bool:
    """Whether a failed create certainly made no run and may be sent again."""
    if isinstance(exc, RateLimited):
        return True
    return isinstance(exc, ProviderUnavailable) and (
        exc.status in UNPROCESSED or exc.delivered is False
    )


def ambiguous(exc: Exception) -> bool:
    """Whether a failed create may have made its run (its answer was lost or unreadable,
    or the provider failed while at it)."""
    if isinstance(exc, CreateUnconfirmed) or unprocessed(exc):
        return False
    return isinstance(exc, ProviderUnavailable | ResponseError)


class _Open(Exception):
    """A send may have made the run; the next attempt settles it first (internal)."""


class ChunkSettle(Exception):
    """A create taken over that went out in a bulk chunk: only the chunk, sent again
    whole with its key, can settle it (``_batch`` does)."""

    def __init__(self, entry: JournalEntry, request: RunRequest) -> None:
        super().__init__(entry.token)
        self.entry = entry
        self.chunk: str = entry.chunk or ""
        self.request = request


class Creator:
    """Creates runs on one provider for one client, recording each in the journal."""

    def __init__(self, adapter: Adapter, channel: Channel, journal: Journal) -> None:
        self.adapter = adapter
        self.channel = channel
        self.journal = journal
        self.sent: OrderedDict[RunRef, RunRequest] = OrderedDict()
        self.requests: dict[str, RunRequest] = {}
        """Requests of unsettled creates by token, so that ``resolve`` can replay them."""
        self._inflight: set[str] = set()
        """Tokens this client is sending right now."""
        options = channel.http.options
        window = options.settle_window
        self.window = adapter.settle_window if window is None else window
        self.lease = options.deadline + self.window + LEASE_MARGIN
        """Seconds a claim holds: the call, the settle window after it, and a margin."""
        self.settler = Settler(adapter, channel, self._now, self.window)

    async def _now(self) -> float:
        return await self.journal.now()

    @property
    def tagged(self) -> bool:
        """Whether the adapter can mark creates so that a lookup finds them."""
        return type(self.adapter).tag is not Adapter.tag

    def remember(self, run: Run, request: RunRequest) -> Run:
        """Keep ``request`` as the one that made ``run`` (for an emulated retry)."""
        self.sent[run.ref] = request
        self.sent.move_to_end(run.ref)
        if len(self.sent) > REMEMBERED:
            self.sent.popitem(last=False)
        return run

    def entry(
        self,
        request: RunRequest,
        token: str,
        *,
        batch: str | None = None,
        index: int | None = None,
        chunk: str | None = None,
    ) -> tuple[JournalEntry, RunRequest, bool]:
        """The journal entry of a create, the request to send (tagged where it can be),
        and whether it is tagged."""
        tagged = self.adapter.tag(request, token)
        sent = tagged or request
        entry = JournalEntry(
            token=token,
            provider=self.adapter.name,
            target=sent.target,
            name=sent.name,
            options=dict(sent.options),
            fingerprint=fingerprint(request),
            since=datetime.now(UTC),
            batch=batch,
            index=index,
            chunk=chunk,
            provider_sent_at=self.channel.clock.date_time(time.time()),
        )
        return entry, sent, tagged is not None

    def tagged_request(self, request: RunRequest, token: str) -> tuple[RunRequest, bool]:
        """The request as a create with ``token`` sends it, and whether it is tagged."""
        tagged = self.adapter.tag(request, token)
        return tagged or request, tagged is not None

    async def create(
        self,
        request: RunRequest,
        *,
        token: str | None = None,
        batch: str | None = None,
        index: int | None = None,
    ) -> Run:
        """Create one run, claimed in the journal before its first byte.

        In a batch, the slot may already be claimed: a run made is read back, a
        create whose holder died is settled first, and one another live process
        holds is waited for (at most a lease), then reported unconfirmed.
        """
        entry, _, _ = self.entry(request, token or new_token(), batch=batch, index=index)
        claim = await self.claim_one(entry)
        return await self.follow(claim, request)

    async def claim_one(self, entry: JournalEntry) -> Claim:
        """Claim one create; a claim another live process holds is waited for (one lease
        at most), polling the journal."""
        wait = 0.02
        give_up = time.monotonic() + self.lease
        while True:
            (claim,) = await self.journal.claim([entry], lease=self.lease)
            if claim.outcome != "held" or time.monotonic() >= give_up:
                return claim
            await asyncio.sleep(wait)
            wait = min(wait * 2, 1.0)

    async def follow(self, claim: Claim, request: RunRequest) -> Run:
        """Act on a claim: send a new create, read a settled one back, settle a taken
        one, report one still held elsewhere."""
        entry = claim.entry
        if claim.outcome == "new":
            sent, tagged = self.tagged_request(request, entry.token)
            sends = Sends(
                count=1, fresh=True, last=time.monotonic(), provider_sent_at=entry.provider_sent_at
            )
            return await self.send(entry, request, sent, tagged, sends)
        if claim.outcome == "settled" or entry.state == "done":
            if entry.state == "done" and entry.ref is not None:
                ref = RunRef.parse(entry.ref)
                run = await self.adapter.get(self.channel.call("get"), ref.id)
                return self.remember(run, request)
            raise InvalidRequest(  # pragma: no cover - a batch slot is never settled empty
                "this create was abandoned", field="token", provider=self.adapter.name
            )
        if claim.outcome == "held":
            raise self.unconfirmed(
                entry.token,
                None,
                reason=f"another process ({entry.holder}) holds this create's claim",
                settles_at=at(entry.lease_until),
            )
        self.taken_over(claim)
        return await self.settle_taken(entry, request)

    def taken_over(self, claim: Claim) -> None:
        """Tell the observers of a create taken over from another process."""
        if claim.taken_over:
            self.notify("claim_taken_over", self.adapter.name, claim.entry.sends)

    async def settle_taken(self, entry: JournalEntry, request: RunRequest) -> Run:
        """A create claimed over from a holder that died or gave up: it may have been
        sent, so it is settled (looked for, or sent again with its key) before anything
        else is sent."""
        if entry.chunk is not None:
            raise ChunkSettle(entry, request)
        sent, tagged = self.tagged_request(request, entry.token)
        sends = Sends(
            count=entry.sends,
            open=entry.sends > 0,
            cause=None,
            journal_sent_at=entry.sent_at,
            provider_sent_at=entry.provider_sent_at,
        )
        return await self.send(entry, request, sent, tagged, sends)

    async def send(
        self,
        entry: JournalEntry,
        request: RunRequest,
        sent: RunRequest,
        tagged: bool,
        sends: Sends,
    ) -> Run:
        """Send a claimed create (settling an earlier send first) and record its outcome."""
        token = entry.token
        self.requests[token] = request
        self._inflight.add(token)
        try:
            run = await self._attempts(entry, sent, tagged, sends)
        except CreateUnconfirmed:
            await self.quietly(self.journal.release(token))  # stays pending, for resolve()
            self.notify("create_unconfirmed", self.adapter.name)
            raise
        except JournalError:
            raise
        except RunbridgeError:
            await self.journal.abandon(token)
            self.requests.pop(token, None)
            raise
        finally:
            self._inflight.discard(token)
        await self.quietly(self.journal.finish(token, str(run.ref)))
        self.requests.pop(token, None)
        return self.remember(run, request)

    def notify(self, hook: str, *args: object) -> None:
        """Tell the client's observers, if it has any."""
        observers = self.channel.observers
        if observers is not None:
            observers.notify(hook, *args)

    def sending(self, token: str) -> bool:
        """Whether this client is sending ``token`` right now."""
        return token in self._inflight

    async def quietly(self, work: Any) -> None:
        """Record in the journal without losing what the provider said: a run made is
        the caller's even when the journal cannot note it (its entry stays pending, and
        ``resolve`` finds the run later)."""
        try:
            await work
        except JournalError as exc:
            log.warning(
                "%s: the journal could not record a create's outcome: %s", self.adapter.name, exc
            )

    async def _attempts(
        self, entry: JournalEntry, sent: RunRequest, tagged: bool, sends: Sends
    ) -> Run:
        channel, adapter, token = self.channel, self.adapter, entry.token
        options = channel.http.options
        deadline = Deadline(options.deadline)
        secrets = sent.secrets.values()
        once = options.retry.attempts == 1

        async def attempt() -> Run:
            if sends.open and not adapter.idempotent_create:
                verdict = await self._settle_open(sent, entry, sends, deadline, once)
                if verdict.run is not None:
                    log.info("%s.create: recovered %s", adapter.name, verdict.run.ref)
                    return verdict.run
                if not verdict.absent:
                    raise self.unconfirmed(token, sends.cause, settles_at=verdict.settles_at)
                sends.open = False  # the provider made nothing: sending again is safe
            if sends.fresh:
                sends.fresh = False  # its claim recorded this first send
            else:
                provider_at = channel.clock.date_time(time.time())
                if not await self.journal.resent(token, provider_at=provider_at):
                    raise self.unconfirmed(
                        token, sends.cause, reason="this process no longer holds its claim"
                    )
                sends.provider_sent_at = provider_at
                sends.count += 1
            sends.last = time.monotonic()
            call = channel.call(
                "create", secrets=secrets, deadline=deadline, key=key_of(token), clock=True
            )
            call.resends = sends.count - 1
            started = time.time()
            try:
                run = await adapter.create(call, sent)
            except Exception as exc:
                if call.possibly_processed or ambiguous(exc):
                    sends.open, sends.cause = True, exc
                    raise _Open(str(exc)) from None
                raise
            channel.clock.saw_created(run.created_at, started, time.time())
            return run

        try:
            return await retrying(
                attempt,
                policy=options.retry,
                deadline=deadline,
                retryable=lambda exc: isinstance(exc, _Open) or unprocessed(exc),
                label=f"{adapter.name}.create",
            )
        except _Open:
            error: Exception = self.unconfirmed(token, sends.cause)
        except CreateUnconfirmed:
            raise
        except JournalError as exc:
            if not sends.open:
                raise  # nothing was sent that may have made a run: the journal's error
            error = self.unconfirmed(token, exc)
        except RunbridgeError as exc:
            if not sends.open:
                raise
            error = self.unconfirmed(token, exc)  # an earlier send may have made the run
        raise error

    async def _settle_open(
        self, sent: RunRequest, entry: JournalEntry, sends: Sends, deadline: Deadline, once: bool
    ) -> Verdict:
        if not self.tagged:
            return Verdict()  # nothing to look for: it stays unknown
        return await self.settler.look(
            sent, entry.token, entry.since, sends, deadline, exclude=self.sent.keys(), once=once
        )

    def unconfirmed(
        self,
        token: str,
        cause: Exception | None,
        *,
        reason: str | None = None,
        settles_at: datetime | None = None,
    ) -> CreateUnconfirmed:
        """The error of a create whose run may exist."""
        why = reason or f"the create's outcome is unknown ({cause})"
        when = f" after {settles_at.isoformat(timespec='seconds')}" if settles_at else ""
        error = CreateUnconfirmed(
            f"{why}; it may have made a run: settle it with client.resolve({token!r}){when} "
            "rather than creating it again",
            token=token,
            settles_at=settles_at,
            provider=self.adapter.name,
            operation="create",
            status=getattr(cause, "status", None),
            body=getattr(cause, "body", None),
        )
        error.__cause__ = cause
        return error


def at(seconds: float | None) -> datetime | None:
    """A journal time as an aware datetime."""
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None
