"""``create_many``: many creates, each exactly once, resumable from the journal.

A batch is identified by its requests and numbered by the journal: ``resume=True``
continues the latest batch of the same requests, a plain call starts the next.
Every request is claimed in the journal by its slot (batch and index) right
before it is sent, alone or in a bulk chunk, so two processes resuming one batch
never both send a request: one sends, the other waits for it (at most a lease)
or reports it. ``resume=True`` settles what a killed process left: runs made are
read back, a chunk whose answer was lost is sent again with its idempotency key,
a tagged create is looked for (and sent again only once the settle window after
its last send has passed), and only what was never sent is created anew.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Mapping
from typing import Any

import attrs

from .._journal import JournalEntry, fingerprint
from .._model._capabilities import Support
from .._model._errors import InvalidRequest, RunbridgeError, UnsupportedOperation
from .._model._run import BulkError, BulkResult, Run, RunRequest
from .._model._run_errors import CreateUnconfirmed
from .._wire._bulk import BulkPlan, Chunk, ChunkResult, send_chunks
from ._create import ChunkSettle, Creator, ambiguous, new_token
from ._settling import Sends


async def create_many(
    creator: Creator,
    requests: Mapping[int, RunRequest],
    *,
    concurrency: int,
    support: Support,
    refused: dict[int, BulkError],
    resume: bool,
    batch: str,
) -> BulkResult:
    """Create every request not ``refused`` as slot ``index`` of ``batch`` (an id from
    ``Journal.start_batch``); each outcome is reported by its index. ``resume`` first
    settles what the journal holds of these slots."""
    runs: dict[int, Run] = {}
    errors = dict(refused)
    gate = asyncio.Semaphore(concurrency)

    chunks_taken: dict[str, dict[int, JournalEntry]] = {}

    async def one(index: int, entry: JournalEntry | None = None) -> None:
        async with gate:
            try:
                if entry is None:
                    run = await creator.create(requests[index], batch=batch, index=index)
                else:
                    run = await creator.settle_taken(entry, requests[index])
            except ChunkSettle as taken:  # settled with the rest of its chunk, below
                chunks_taken.setdefault(taken.chunk, {})[index] = taken.entry
                return
            except CreateUnconfirmed as exc:
                errors[index] = BulkError(str(exc), index, exc, token=exc.token)
            except Exception as exc:  # reported by index; cancellation propagates
                errors[index] = BulkError(str(exc), index, exc)
            else:
                runs[index] = run

    settled: set[int] = set()
    if resume:
        settled = await _settle(creator, batch, requests, runs, errors, one)
    todo = [i for i in requests if i not in errors and i not in settled]
    notes: list[BulkError] = []
    singles = todo
    if support is Support.NATIVE and todo:
        singles, notes = await _in_chunks(creator, requests, todo, batch, concurrency, runs, errors)
    await asyncio.gather(*(one(i) for i in sorted(singles)))
    await asyncio.gather(
        *(
            resend_chunk(creator, key, entries, requests, runs, errors)
            for key, entries in chunks_taken.items()
        )
    )
    return BulkResult(
        tuple(runs[i] for i in sorted(runs)),
        tuple(errors[i] for i in sorted(errors)) + tuple(notes),
        len(requests),
        tuple(sorted(runs)),
    )


async def _in_chunks(
    creator: Creator,
    requests: Mapping[int, RunRequest],
    todo: list[int],
    batch: str,
    concurrency: int,
    runs: dict[int, Run],
    errors: dict[int, BulkError],
) -> tuple[list[int], list[BulkError]]:
    adapter = creator.adapter
    secrets = [v for i in todo for v in requests[i].secrets.values()]
    call = creator.channel.call("create_many", secrets=secrets)
    chosen = {index: new_token() for index in todo}
    plan = BulkPlan()
    for index in todo:
        try:
            placed = _item(creator, call, requests[index], chosen[index])
        except InvalidRequest as exc:
            errors[index] = BulkError(str(exc), index, exc)
            continue
        if placed is None:
            plan.singles.append(index)
        else:
            plan.groups.setdefault(placed[0], []).append((index, placed[1]))
    max_batch = adapter.instance_capabilities().max_batch or len(requests)
    chunks = plan.chunks(max_batch, lambda n: call.idempotency_key_for(f"chunk-{n}"))
    tokens: dict[int, str] = {}
    deferred: list[int] = []

    async def claim_and_send(chunk: Chunk) -> ChunkResult:
        # Claimed right before it is sent: a claim's lease starts with its send.
        entries = [
            creator.entry(requests[i], chosen[i], batch=batch, index=i, chunk=chunk.key)[0]
            for i in chunk.indexes
        ]
        claims = await creator.journal.claim(entries, lease=creator.lease)
        mine = {c.entry.index for c in claims if c.outcome == "new"}
        for claim in claims:
            index = claim.entry.index
            assert index is not None
            if claim.outcome == "new":
                tokens[index] = claim.entry.token
            else:
                deferred.append(index)
        if not mine:
            return ChunkResult()
        items = tuple(item for item in chunk.items if item[0] in mine)
        result = await _send(creator, secrets, Chunk(chunk.group, items, chunk.key), tokens)
        return _in_doubt(result, [i for i, _ in items], tokens, adapter.name)

    outcome = await send_chunks(
        chunks, claim_and_send, concurrency=concurrency, provider=adapter.name
    )
    for index in deferred:  # claimed by another process, or settled: followed one by one
        outcome.errors.pop(index, None)
    await _record(creator, requests, outcome.runs, outcome.errors, tokens, runs, errors)
    for index in outcome.singles:
        await creator.journal.abandon(tokens[index])  # declined before anything was made
    return plan.singles + outcome.singles + deferred, outcome.notes


def _item(
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


async def _send(
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


def _unsaid(result: ChunkResult, indexes: list[int]) -> dict[int, str]:
    """The indexes an answered chunk leaves in doubt, with the provider's words."""
    return {
        index: result.unconfirmed.get(index, "the bulk answer does not report a run for it")
        for index in indexes
        if index not in result.runs and index not in result.errors
    }


def _in_doubt(
    result: ChunkResult, indexes: list[int], tokens: Mapping[int, str], provider: str
) -> ChunkResult:
    """``result`` with each index it leaves in doubt reported unconfirmed, with its token:
    a bulk answer with fewer runs than asked for may hide runs that exist."""
    doubt = _unsaid(result, indexes)
    if not doubt:
        return result
    errors = dict(result.errors)
    for index, reason in doubt.items():
        errors[index] = _unconfirmed(index, tokens[index], f"{provider}: {reason}")
    return attrs.evolve(result, errors=errors, unconfirmed={})


async def _record(
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


async def _settle(
    creator: Creator,
    batch: str,
    requests: Mapping[int, RunRequest],
    runs: dict[int, Run],
    errors: dict[int, BulkError],
    one: Any,
) -> set[int]:
    """Settle what the journal says of this batch; the indexes now accounted for."""
    journal, provider = creator.journal, creator.adapter.name
    known = {  # a batch spread over processes: each settles its own slots
        index: entry
        for index, entry in (await journal.batch(provider, batch)).items()
        if index in requests
    }
    for index, entry in known.items():
        if fingerprint(requests[index]) != entry.fingerprint:
            raise InvalidRequest(
                f"request {index} differs from the one the journal recorded for this batch",
                field="requests",
                provider=provider,
                operation="create_many",
            )
    live = {i: e for i, e in known.items() if e.state != "abandoned"}
    pending = [e for e in live.values() if e.state == "pending"]
    claims = await journal.claim(pending, lease=creator.lease) if pending else []
    taken = {
        c.entry.index: c.entry for c in claims if c.outcome == "taken" and c.entry.index is not None
    }
    chunked: dict[str, dict[int, JournalEntry]] = {}
    for position, entry in taken.items():
        if entry.chunk is not None:
            chunked.setdefault(entry.chunk, {})[position] = entry
    alone = [i for i, e in taken.items() if e.chunk is None]
    # Runs made are read back and held claims waited for through the slot's claim.
    others = [i for i in live if i not in taken]
    await asyncio.gather(
        *(one(i) for i in others),
        *(one(i, taken[i]) for i in alone),
        *(
            resend_chunk(creator, key, entries, requests, runs, errors)
            for key, entries in chunked.items()
        ),
    )
    return set(live)


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
            errors[index] = _unconfirmed(
                index, tokens[index], "another process took this create over"
            )
    if not mine:
        return
    call = creator.channel.call("create_many")
    items: list[tuple[int, Any]] = []
    group: Hashable = None
    for index in sorted(members):
        placed = _item(creator, call, requests[index], members[index].token)
        if placed is not None:
            group = placed[0]
            items.append((index, placed[1]))
    try:
        secrets = [v for i in mine for v in requests[i].secrets.values()]
        result = await _send(creator, secrets, Chunk(group, tuple(items), key), tokens)
    except RunbridgeError as exc:  # refused now, but the first send may have made them
        result = ChunkResult(errors={i: _unconfirmed(i, tokens[i], str(exc)) for i in mine})
    unsaid = _unsaid(result, mine)
    failed: dict[int, BulkError] = {}
    for index in mine:
        if index in result.runs:
            continue
        if index in unsaid and await _settled(creator, entries[index]):
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
        failed[index] = _unconfirmed(index, tokens[index], reason)
    made = {i: run for i, run in result.runs.items() if i in mine}
    await _record(creator, requests, made, failed, tokens, runs, errors)


async def _settled(creator: Creator, entry: JournalEntry) -> bool:
    """Whether the settle window after the create's last send (before this one) passed."""
    sends = Sends(journal_sent_at=entry.sent_at, provider_sent_at=entry.provider_sent_at)
    return await creator.settler.left(sends) <= 0


def _unconfirmed(index: int, token: str, reason: str) -> BulkError:
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
