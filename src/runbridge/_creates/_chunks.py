"""A bulk chunk as the journal knows it: where each request goes, the chunk claimed and
sent, what its answer leaves in doubt, recorded; a chunk whose answer was lost sent
again whole with its idempotency key, and resolved later by the same means.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import attrs

from .._journal import JournalEntry, fingerprint
from .._model._errors import InvalidRequest, RunbridgeError, UnsupportedOperation
from .._model._run import BulkError, Run, RunRequest
from .._wire._bulk import Chunk, ChunkResult
from ._create import Creator, ambiguous
from ._settling import Sends


def bulk_item(
    creator: Creator, call: Any, request: RunRequest, token: str
) -> tuple[Hashable, Any] | None:
    """Where a request goes in a bulk create, carrying its token where the provider's bulk
    items can (a lookup then finds it too); the same answer every time it is asked, so a
    chunk sent again is the same chunk."""
    sent, tagged = creator.tagged_request(request, token)
    placed = creator.adapter.bulk_item(call, sent)
    if placed is None and tagged:
        placed = creator.adapter.bulk_item(call, request)
    return placed


async def send_claimed(
    creator: Creator, secrets: Any, chunk: Chunk, tokens: dict[int, str]
) -> ChunkResult:
    """Send one chunk on a call of its own; a failure after which it may have been made
    (an attempt's answer lost, a 5xx, even if later attempts were refused) keeps every
    request's token."""
    call = creator.channel.call("create_many", secrets=secrets)
    try:
        return await creator.adapter.send_chunk(call, chunk)
    except UnsupportedOperation:
        raise
    except Exception as exc:
        if not (call.possibly_processed or ambiguous(exc)):
            raise
        cause = exc
    # The chunk may have been made: each request keeps its token, to be settled by
    # resolve() or a resumed create_many, which sends the chunk again with its key.
    return ChunkResult(
        errors={
            i: BulkError(
                f"the bulk request's outcome is unknown ({cause}); it may have made "
                f"this run: resume the batch or resolve {tokens[i]!r}",
                i,
                cause,
                token=tokens[i],
            )
            for i in chunk.indexes
        }
    )


def doubted(result: ChunkResult, indexes: list[int]) -> dict[int, str]:
    """The indexes an answered chunk leaves in doubt, with the provider's words."""
    return {
        index: result.unconfirmed.get(index, "the bulk answer does not report a run for it")
        for index in indexes
        if index not in result.runs and index not in result.errors
    }


def in_doubt(
    result: ChunkResult, indexes: list[int], tokens: Mapping[int, str], provider: str
) -> ChunkResult:
    """``result`` with each index it leaves in doubt reported unconfirmed, with its token:
    a bulk answer with fewer runs than asked for may hide runs that exist."""
    doubt = doubted(result, indexes)
    if not doubt:
        return result
    errors = dict(result.errors)
    for index, reason in doubt.items():
        errors[index] = unconfirmed_error(index, tokens[index], f"{provider}: {reason}")
    return attrs.evolve(result, errors=errors, unconfirmed={})


async def record_chunk(
    creator: Creator,
    requests: Mapping[int, RunRequest],
    made: dict[int, Run],
    failed: dict[int, BulkError],
    tokens: dict[int, str],
    runs: dict[int, Run],
    errors: dict[int, BulkError],
) -> None:
    # What the provider answered is the caller's even when the journal cannot note it
    # (its entries stay pending, for a resume or resolve to settle).
    journal, quietly = creator.journal, creator.quietly
    for index, run in made.items():
        await quietly(journal.finish(tokens[index], str(run.ref)))
        runs[index] = creator.remember(run, requests[index])
    for index, error in failed.items():
        errors[index] = error
        token = tokens.get(index)
        if token is None:  # never claimed (the journal failed first): nothing was sent
            continue
        if error.token is None:
            await quietly(journal.abandon(token))
        else:
            await quietly(journal.release(token))  # unknown: another process may settle it


async def resend_chunk(
    creator: Creator,
    key: str,
    entries: dict[int, JournalEntry],
    requests: Mapping[int, RunRequest],
    runs: dict[int, Run],
    errors: dict[int, BulkError],
) -> None:
    """Send a chunk whose answer was lost again, whole and with its idempotency key: the
    provider answers with the runs the first send made. ``entries`` are those of the
    chunk this process settles (claimed, by index); the chunk is rebuilt from every
    member the journal holds, so the request is the one first sent. Whatever the
    answer leaves unsaid, or a refusal, keeps its token: it stays unconfirmed."""
    adapter, journal = creator.adapter, creator.journal
    if not entries:
        return
    first = next(iter(entries.values()))
    assert first.batch is not None
    members = {
        i: e
        for i, e in (await journal.batch(adapter.name, first.batch)).items()
        if e.chunk == key and e.state != "abandoned"
    }
    tokens = {i: e.token for i, e in entries.items()}
    mine: list[int] = []
    for index in sorted(entries):
        if await journal.resent(tokens[index], provider_at=None):
            mine.append(index)
        else:
            errors[index] = unconfirmed_error(
                index, tokens[index], "another process took this create over"
            )
    if not mine:
        return
    call = creator.channel.call("create_many")
    items: list[tuple[int, Any]] = []
    group: Hashable = None
    for index in sorted(members):
        placed = bulk_item(creator, call, requests[index], members[index].token)
        if placed is not None:
            group = placed[0]
            items.append((index, placed[1]))
    try:
        secrets = [v for i in mine for v in requests[i].secrets.values()]
        result = await send_claimed(creator, secrets, Chunk(group, tuple(items), key), tokens)
    except RunbridgeError as exc:  # refused now, but the first send may have made them
        result = ChunkResult(errors={i: unconfirmed_error(i, tokens[i], str(exc)) for i in mine})
    unsaid = doubted(result, mine)
    failed: dict[int, BulkError] = {}
    for index in mine:
        if index in result.runs:
            continue
        if index in unsaid and await settled(creator, entries[index]):
            # The key's answer is the first send's: once nothing more can appear, a run
            # it still leaves out was never made.
            failed[index] = BulkError(
                f"{adapter.name} made no run for it: its bulk request, sent again with its "
                f"key after the settle window, still answers without it ({unsaid[index]})",
                index,
            )
            continue
        # Sent before with this key, it may have made its run: never a plain failure.
        error = result.errors.get(index)
        reason = error.message if error else f"{adapter.name}: {unsaid[index]}"
        failed[index] = unconfirmed_error(index, tokens[index], reason)
    made = {i: run for i, run in result.runs.items() if i in mine}
    await record_chunk(creator, requests, made, failed, tokens, runs, errors)


async def settled(creator: Creator, entry: JournalEntry) -> bool:
    """Whether the settle window after the create's last send (before this one) passed."""
    sends = Sends(journal_sent_at=entry.sent_at, provider_sent_at=entry.provider_sent_at)
    return await creator.settler.left(sends) <= 0


def unconfirmed_error(index: int, token: str, reason: str) -> BulkError:
    message = (
        f"the outcome of this create is unknown ({reason}); it may have made its run: "
        f"resume the batch or resolve {token!r}"
    )
    return BulkError(message, index, token=token)


async def resolve_chunk(creator: Creator, entry: JournalEntry, request: RunRequest) -> Run | None:
    """Settle one create of a bulk chunk by sending its chunk again with its key, when
    the chunk's requests were all ``request`` (the provider groups only equal ones);
    ``None`` when the answer, after the settle window, still leaves it out."""
    assert entry.batch is not None and entry.chunk is not None and entry.index is not None
    journal = creator.journal
    members = {
        i: e
        for i, e in (await journal.batch(creator.adapter.name, entry.batch)).items()
        if e.chunk == entry.chunk
    }
    if any(e.fingerprint != fingerprint(request) for e in members.values()):
        raise InvalidRequest(
            "this create went out in one bulk request with others: settle it with "
            "create_many(<the same requests>, resume=True)",
            field="request",
            provider=creator.adapter.name,
            operation="resolve",
        )
    claims = await journal.claim(list(members.values()), lease=creator.lease)
    held = [c.entry for c in claims if c.outcome == "held"]
    if held:
        raise creator.unconfirmed(
            entry.token, None, reason=f"another process ({held[0].holder}) holds its bulk request"
        )
    mine = {c.entry.index: c.entry for c in claims if c.outcome == "taken"}
    runs: dict[int, Run] = {}
    errors: dict[int, BulkError] = {}
    await resend_chunk(
        creator,
        entry.chunk,
        {i: e for i, e in mine.items() if i is not None},
        dict.fromkeys(members, request),
        runs,
        errors,
    )
    if entry.index in runs:
        return runs[entry.index]
    if entry.index in errors and errors[entry.index].token is None:
        return None  # certainly not made
    raise creator.unconfirmed(
        entry.token, None, reason="its bulk request's answer says nothing of it"
    )
