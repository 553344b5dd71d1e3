"""Creating one run exactly once, and settling creates whose outcome is unknown.

Every logical create has a client token, recorded in the journal before its
first byte is sent. A create that fails *unambiguously* (the provider refused or
throttled it, so nothing was made) is sent again with the same token. A create
whose answer was lost is never sent again while it may still land:

- with an idempotency key (``Adapter.idempotent_create``) the transport retries
  it with the same key, which the provider answers with the original run;
- with a client tag (``Adapter.tag``) the run is looked up, with backoff, until
  the call's deadline;
- otherwise, or when the lookup does not find it in time, ``CreateUnconfirmed``
  carries the token, and ``RunClient.resolve(token)`` settles it later.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from datetime import UTC, datetime

from ._adapter import Adapter
from ._call import Channel
from ._errors import (
    CreateUnconfirmed,
    InvalidRequest,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    RunbridgeError,
    UnsupportedOperation,
)
from ._journal import Journal, JournalEntry, fingerprint
from ._lookup import find_created
from ._model import Run, RunRef, RunRequest
from ._retry import Deadline, retrying

log = logging.getLogger("runbridge")

REMEMBERED = 4096
"""Requests a client remembers, by run, so that an emulated retry can send them again."""

LOOKUPS = 8
"""Looks for the run of a create whose answer was lost, under a policy that does not wait."""

_KEYS = uuid.UUID("6d0a3b52-8f0e-4b8e-9f3c-2f7a1c9e5b10")
_UNPROCESSED = frozenset({408, 429, 503})
"""Statuses that say the provider did not process the request: safe to send again."""
_STILL_RUNNING = frozenset({502, 504})
"""Gateway statuses: the provider behind the gateway may still be processing the request."""


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
        exc.status in _UNPROCESSED or exc.delivered is False
    )


def ambiguous(exc: Exception) -> bool:
    """Whether a failed create may have made its run (its answer was lost or unreadable)."""
    if isinstance(exc, CreateUnconfirmed) or unprocessed(exc):
        return False
    return isinstance(exc, ProviderUnavailable | ResponseError)


def settled(exc: Exception) -> bool:
    """Whether the provider had finished with a failed create when it answered (an error
    status of its own, not a gateway's): a run it made would be listed by now."""
    status = getattr(exc, "status", None)
    return (
        isinstance(exc, ProviderUnavailable)
        and status is not None
        and status >= 500
        and status not in _STILL_RUNNING
    )


class _Absent(Exception):
    """A create the provider answered with a server error, and whose run is not there:
    it made none, so it may be sent again (internal to ``Creator``)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Creator:
    """Creates runs on one provider for one client, recording each in the journal."""

    def __init__(self, adapter: Adapter, channel: Channel, journal: Journal) -> None:
        self.adapter = adapter
        self.channel = channel
        self.journal = journal
        self.sent: OrderedDict[RunRef, RunRequest] = OrderedDict()
        self._requests: dict[str, RunRequest] = {}
        """Requests of pending creates by token, so that ``resolve`` can replay them."""

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
        )
        return entry, sent, tagged is not None

    async def create(
        self,
        request: RunRequest,
        *,
        token: str | None = None,
        batch: str | None = None,
        index: int | None = None,
    ) -> Run:
        """Create one run, recorded in the journal from before its first byte."""
        entry, sent, tagged = self.entry(request, token or new_token(), batch=batch, index=index)
        self.journal.begin([entry])
        return await self.send(entry, request, sent, tagged)

    async def send(
        self, entry: JournalEntry, request: RunRequest, sent: RunRequest, tagged: bool
    ) -> Run:
        """Send a journaled create and settle its entry with what came of it."""
        token = entry.token
        self._requests[token] = request
        try:
            run = await self._attempts(sent, token, entry.since, tagged)
        except CreateUnconfirmed:
            raise  # stays pending, with its request, for resolve()
        except RunbridgeError:
            self.journal.abandon(token)
            self._requests.pop(token, None)
            raise
        self.journal.finish(token, str(run.ref))
        self._requests.pop(token, None)
        return self.remember(run, request)

    async def _attempts(self, sent: RunRequest, token: str, since: datetime, tagged: bool) -> Run:
        channel, adapter = self.channel, self.adapter
        deadline = Deadline(channel.http.options.deadline)
        secrets = sent.secrets.values()

        async def attempt() -> Run:
            call = channel.call("create", secrets=secrets, deadline=deadline, key=key_of(token))
            try:
                return await adapter.create(call, sent)
            except Exception as exc:
                if not ambiguous(exc):
                    raise
                cause = exc
            if tagged and not adapter.idempotent_create:
                # A provider that answered has finished: one look settles it. An answer
                # that never came may still land: keep looking until the deadline.
                # (A policy that never retries looks once: it wants each failure as is.)
                once = settled(cause) or channel.http.options.retry.attempts == 1
                found = await self.look(sent, token, since, deadline, looks=1 if once else None)
                if found is not None:
                    log.info("%s.create: recovered %s after %s", adapter.name, found.ref, cause)
                    return found
                if settled(cause):
                    raise _Absent(cause)
            raise self.unconfirmed(token, cause)

        try:
            return await retrying(
                attempt,
                policy=channel.http.options.retry,
                deadline=deadline,
                retryable=lambda exc: unprocessed(exc) or isinstance(exc, _Absent),
                label=f"{adapter.name}.create",
            )
        except _Absent as absent:
            error = absent.cause
        raise error

    def unconfirmed(self, token: str, cause: Exception) -> CreateUnconfirmed:
        """The error of a create whose run may exist."""
        error = CreateUnconfirmed(
            f"the create's outcome is unknown ({cause}); it may have made a run: settle it "
            f"with client.resolve({token!r}) rather than creating it again",
            token=token,
            provider=self.adapter.name,
            operation="create",
            status=getattr(cause, "status", None),
            body=getattr(cause, "body", None),
        )
        error.__cause__ = cause
        return error

    async def look(
        self,
        sent: RunRequest,
        token: str,
        since: datetime,
        deadline: Deadline,
        *,
        looks: int | None = None,
    ) -> Run | None:
        """Look for the run of a tagged create, with backoff, until ``deadline``.

        ``looks`` caps the number of looks (one after an answer that says the
        provider had finished). A policy that does not wait (tests) looks at most
        ``LOOKUPS`` times, since no time passes between its looks.
        """
        policy = self.channel.http.options.retry
        limit = looks if looks is not None else (None if policy.wait else LOOKUPS)
        secrets = sent.secrets.values()
        look = 0
        while True:
            look += 1
            call = self.channel.call("create", secrets=secrets, deadline=deadline)
            try:
                found = await find_created(
                    self.adapter, call, sent, token, since=since, exclude=self.sent.keys()
                )
            except CreateUnconfirmed:
                raise
            except RunbridgeError as exc:  # the lookup failed too: look again
                log.debug("%s.create: lookup %d failed: %s", self.adapter.name, look, exc)
                found = None
            if found is not None:
                return found
            if limit is not None and look >= limit:
                return None
            # Equal jitter: never much less than the backoff, so a slow provider that is
            # still making the run gets the time to finish.
            ceiling = min(policy.max_delay, policy.base_delay * 2 ** min(look - 1, 16))
            import random

            pause = ceiling / 2 + random.uniform(0, ceiling / 2) if policy.wait else 0.0  # noqa: S311
            if pause >= deadline.remaining():
                return None
            if pause > 0:
                await asyncio.sleep(pause)

    async def resolve(self, token: str, request: RunRequest | None) -> Run | None:
        """The run a create with ``token`` made, ``None`` if it made none (see ``RunClient``)."""
        entry = self.journal.get(token)
        if entry is None or entry.provider != self.adapter.name:
            raise InvalidRequest(
                f"no create with token {token!r} in this client's journal",
                field="token",
                provider=self.adapter.name,
                operation="resolve",
            )
        if entry.state == "abandoned":
            return None
        if entry.state == "done" and entry.ref is not None:
            ref = RunRef.parse(entry.ref)
            return await self.adapter.get(self.channel.call("resolve"), ref.id)
        request = request or self._requests.get(token)
        if request is not None and fingerprint(request) != entry.fingerprint:
            raise InvalidRequest(
                f"the request given does not match the one create {token!r} sent",
                field="request",
                provider=self.adapter.name,
                operation="resolve",
            )
        if self.adapter.idempotent_create:
            if request is None:
                raise InvalidRequest(
                    f"{self.adapter.name} settles a create by sending it again with its "
                    "idempotency key: pass the request to resolve()",
                    field="request",
                    provider=self.adapter.name,
                    operation="resolve",
                )
            _, sent, tagged = self.entry(request, token)
            return await self.send(entry, request, sent, tagged)
        if type(self.adapter).tag is Adapter.tag:
            raise UnsupportedOperation(
                f"{self.adapter.name} has neither idempotency keys nor a place for a client "
                "token: the outcome of this create cannot be found out",
                provider=self.adapter.name,
                operation="resolve",
            )
        return await self._settle_by_lookup(entry, request)

    async def _settle_by_lookup(
        self, entry: JournalEntry, request: RunRequest | None
    ) -> Run | None:
        sent = RunRequest(
            target=entry.target,
            name=entry.name,
            options=entry.options,
            inputs=request.inputs if request is not None else {},
        )
        call = self.channel.call("resolve")
        found = await find_created(
            self.adapter, call, sent, entry.token, since=entry.since, exclude=self.sent.keys()
        )
        if found is None:
            self.journal.abandon(entry.token)
        else:
            self.journal.finish(entry.token, str(found.ref))
        self._requests.pop(entry.token, None)
        return found
