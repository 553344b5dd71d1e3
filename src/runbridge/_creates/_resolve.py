"""``resolve``: settling a create whose outcome is unknown, later or from another process.

Three answers: the run; ``None`` once nothing can appear any more (the settle
window after the last send has passed and a look that started after it found
nothing); or ``CreateUnconfirmed`` again, with ``settles_at``, while that cannot
be known yet. A create sent with an idempotency key is settled by sending it again
with its key; one that went out in a bulk chunk, by sending its chunk again whole.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from .._journal import JournalEntry, fingerprint
from .._model._errors import InvalidRequest, UnsupportedOperation
from .._model._run import Run, RunRef, RunRequest
from .._model._run_errors import CreateUnconfirmed
from .._wire._retry import Deadline
from ._chunks import resolve_chunk
from ._create import ChunkSettle, Creator, at
from ._settling import Sends


async def resolve(
    creator: Creator, token: str, request: RunRequest | None, timeout: float
) -> Run | None:
    """The run a create with ``token`` made, ``None`` if it certainly made none; raises
    ``CreateUnconfirmed`` while that cannot be known yet, after waiting up to ``timeout``
    seconds for it to become known (see ``RunClient.resolve``)."""
    give_up = time.monotonic() + timeout
    while True:
        try:
            run = await _once(creator, token, request)
        except ChunkSettle as taken:
            run = await resolve_chunk(creator, taken.entry, taken.request)
        except CreateUnconfirmed as exc:
            pause = _seconds_until(exc.settles_at)
            if pause is None or time.monotonic() + pause > give_up:
                raise
            await asyncio.sleep(pause + 0.01)
            continue
        creator.notify("create_resolved", creator.adapter.name, "run" if run else "none")
        return run


def _invalid(creator: Creator, message: str, field: str) -> InvalidRequest:
    return InvalidRequest(message, field=field, provider=creator.adapter.name, operation="resolve")


async def _once(creator: Creator, token: str, request: RunRequest | None) -> Run | None:
    adapter = creator.adapter
    entry = await creator.journal.get(token)
    if entry is None or entry.provider != adapter.name:
        raise _invalid(creator, f"no create with token {token!r} in this client's journal", "token")
    if entry.state == "abandoned":
        return None
    if entry.state == "done" and entry.ref is not None:
        ref = RunRef.parse(entry.ref)
        return await adapter.get(creator.channel.call("resolve"), ref.id)
    request = request or creator.requests.get(token)
    if request is not None and fingerprint(request) != entry.fingerprint:
        message = f"the request given does not match the one create {token!r} sent"
        raise _invalid(creator, message, "request")
    if creator.sending(token):
        raise creator.unconfirmed(token, None, reason="this client is still sending it")
    if entry.chunk is not None:  # only its bulk request, sent again whole, can say
        if request is None:
            raise _invalid(
                creator,
                "this create went out in a bulk request: pass its request to resolve(), "
                "or resume the batch with create_many(..., resume=True)",
                "request",
            )
        raise ChunkSettle(entry, request)
    if adapter.idempotent_create:
        if request is None:
            raise _invalid(
                creator,
                f"{adapter.name} settles a create by sending it again with its "
                "idempotency key: pass the request to resolve()",
                "request",
            )
    elif not creator.tagged:
        raise UnsupportedOperation(
            f"{adapter.name} has neither idempotency keys nor a place for a client "
            "token: the outcome of this create cannot be found out",
            provider=adapter.name,
            operation="resolve",
        )
    (claim,) = await creator.journal.claim([entry], lease=creator.lease)
    if claim.outcome != "taken":
        if claim.outcome == "held":
            raise creator.unconfirmed(
                token,
                None,
                reason=f"another process ({claim.entry.holder}) holds this create's claim",
                settles_at=at(claim.entry.lease_until),
            )
        return await _once(creator, token, request)  # settled meanwhile
    creator.taken_over(claim)
    if adapter.idempotent_create:
        assert request is not None
        return await creator.settle_taken(claim.entry, request)
    return await _by_lookup(creator, claim.entry, request)


async def _by_lookup(
    creator: Creator, entry: JournalEntry, request: RunRequest | None
) -> Run | None:
    sent = RunRequest(
        target=entry.target,
        name=entry.name,
        options=entry.options,
        inputs=request.inputs if request is not None else {},
    )
    sends = Sends(
        count=entry.sends,
        open=True,
        journal_sent_at=entry.sent_at,
        provider_sent_at=entry.provider_sent_at,
    )
    deadline = Deadline(creator.channel.http.options.deadline)
    verdict = await creator.settler.look(
        sent, entry.token, entry.since, sends, deadline, exclude=creator.sent.keys(), once=True
    )
    journal = creator.journal
    if verdict.run is not None:
        await journal.finish(entry.token, str(verdict.run.ref))
    elif verdict.absent:
        await journal.abandon(entry.token)
    else:
        await creator.quietly(journal.release(entry.token))
        raise creator.unconfirmed(
            entry.token,
            None,
            reason="its run is not there yet, but the provider's settle window after "
            "the last send has not passed",
            settles_at=verdict.settles_at,
        )
    creator.requests.pop(entry.token, None)
    return verdict.run


def _seconds_until(when: datetime | None) -> float | None:
    if when is None:
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
