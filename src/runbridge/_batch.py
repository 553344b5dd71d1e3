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
from collections.abc import Hashable, Sequence
from typing import Any

from ._bulk import BulkPlan, Chunk, ChunkResult, send_chunks
from ._capabilities import Support
from ._create import Creator, ambiguous, new_token
from ._errors import CreateUnconfirmed, InvalidRequest, UnsupportedOperation
from ._journal import JournalEntry, batch_key, fingerprint
from ._model import BulkError, BulkResult, Run, RunRequest


async def create_many(
    creator: Creator,
    requests: Sequence[RunRequest],
    *,
    concurrency: int,
    support: Support,
    refused: dict[int, BulkError],
    resume: bool,
) -> BulkResult:
    """Create every request not ``refused``; each outcome is reported by its index."""
    provider = creator.adapter.name
    batch = await creator.journal.start_batch(
        provider, batch_key(provider, requests), resume=resume
    )
    runs: dict[int, Run] = {}
    errors = dict(refused)
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int, entry: JournalEntry | None = None) -> None:
        async with gate:
            try:
                if entry is None:
                    run = await creator.create(requests[index], batch=batch, index=index)
                else:
                    run = await creator.settle_taken(entry, requests[index])
            except CreateUnconfirmed as exc:
                errors[index] = BulkError(str(exc), index, exc, token=exc.token)
            except Exception as exc:  # reported by index; cancellation propagates
                errors[index] = BulkError(str(exc), index, exc)
            else:
                runs[index] = run

    settled: set[int] = set()
    if resume:
        settled = await _settle(creator, batch, requests, runs, errors, one)
    todo = [i for i in range(len(requests)) if i not in errors and i not in settled]
    notes: list[BulkError] = []
    singles = todo
    if support is Support.NATIVE and todo:
        singles, notes = await _in_chunks(creator, requests, todo, batch, concurrency, runs, errors)
    await asyncio.gather(*(one(i) for i in sorted(singles)))
    return BulkResult(
        tuple(runs[i] for i in sorted(runs)),
        tuple(errors[i] for i in sorted(errors)) + tuple(notes),
        len(requests),
    )


async def _in_chunks(
    creator: Creator,
    requests: Sequence[RunRequest],
    todo: list[int],
    batch: str,
    concurrency: int,
    runs: dict[int, Run],
    errors: dict[int, BulkError],
) -> tuple[list[int], list[BulkError]]:
    adapter = creator.adapter
    secrets = [v for i in todo for v in requests[i].secrets.values()]
    call = creator.channel.call("create_many", secrets=secrets)
    plan = BulkPlan()
    for index in todo:
        try:
            placed = adapter.bulk_item(call, requests[index])
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
            creator.entry(requests[i], new_token(), batch=batch, index=i, chunk=chunk.key)[0]
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
        return await _send(creator, call, Chunk(chunk.group, items, chunk.key), tokens)

    outcome = await send_chunks(
        chunks, claim_and_send, concurrency=concurrency, provider=adapter.name
    )
    for index in deferred:  # claimed by another process, or settled: followed one by one
        outcome.errors.pop(index, None)
    await _record(creator, requests, outcome.runs, outcome.errors, tokens, runs, errors)
    for index in outcome.singles:
        await creator.journal.abandon(tokens[index])  # declined before anything was made
    return plan.singles + outcome.singles + deferred, outcome.notes


async def _send(creator: Creator, call: Any, chunk: Chunk, tokens: dict[int, str]) -> ChunkResult:
    try:
        return await creator.adapter.send_chunk(call, chunk)
    except UnsupportedOperation:
        raise
    except Exception as exc:
        if not ambiguous(exc):
            raise
        # The chunk may have been made: each request keeps its token, to be settled by
        # resolve() or a resumed create_many, which sends the chunk again with its key.
        return ChunkResult(
            errors={
                i: BulkError(
                    f"the bulk request's outcome is unknown ({exc}); it may have made "
                    f"this run: resume the batch or resolve {tokens[i]!r}",
                    i,
                    exc,
                    token=tokens[i],
                )
                for i in chunk.indexes
            }
        )


async def _record(
    creator: Creator,
    requests: Sequence[RunRequest],
    made: dict[int, Run],
    failed: dict[int, BulkError],
    tokens: dict[int, str],
    runs: dict[int, Run],
    errors: dict[int, BulkError],
) -> None:
    journal = creator.journal
    for index, run in made.items():
        await journal.finish(tokens[index], str(run.ref))
        runs[index] = creator.remember(run, requests[index])
    for index, error in failed.items():
        errors[index] = error
        token = tokens.get(index)
        if token is None:  # never claimed (the journal failed first): nothing was sent
            continue
        if error.token is None:
            await journal.abandon(token)
        else:
            await journal.release(token)  # unknown: another process may settle it


async def _settle(
    creator: Creator,
    batch: str,
    requests: Sequence[RunRequest],
    runs: dict[int, Run],
    errors: dict[int, BulkError],
    one: Any,
) -> set[int]:
    """Settle what the journal says of this batch; the indexes now accounted for."""
    journal, provider = creator.journal, creator.adapter.name
    known = await journal.batch(provider, batch)
    for index, entry in known.items():
        if index >= len(requests) or fingerprint(requests[index]) != entry.fingerprint:
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
    chunked: dict[str, list[int]] = {}
    for position, entry in taken.items():
        if entry.chunk is not None:
            chunked.setdefault(entry.chunk, []).append(position)
    alone = [i for i, e in taken.items() if e.chunk is None]
    # Runs made are read back and held claims waited for through the slot's claim.
    others = [i for i in live if i not in taken]
    await asyncio.gather(
        *(one(i) for i in others),
        *(one(i, taken[i]) for i in alone),
        *(
            _resend_chunk(creator, key, indexes, requests, taken, runs, errors)
            for key, indexes in chunked.items()
        ),
    )
    return set(live)


async def _resend_chunk(
    creator: Creator,
    key: str,
    indexes: list[int],
    requests: Sequence[RunRequest],
    entries: dict[int, JournalEntry],
    runs: dict[int, Run],
    errors: dict[int, BulkError],
) -> None:
    """Send a chunk whose answer was lost again, with its idempotency key: the provider
    answers with the runs the first send made."""
    adapter = creator.adapter
    call = creator.channel.call("create_many")
    items: list[tuple[int, Any]] = []
    group: Hashable = None
    tokens = {i: entries[i].token for i in indexes}
    for index in sorted(indexes):
        if not await creator.journal.resent(tokens[index], provider_at=None):
            errors[index] = BulkError(
                "another process took this create over", index, token=tokens[index]
            )
            continue
        placed = adapter.bulk_item(call, requests[index])
        if placed is None:  # pragma: no cover - it went into a chunk before
            continue
        group = placed[0]
        items.append((index, placed[1]))
    if not items:
        return
    result = await _send(creator, call, Chunk(group, tuple(items), key), tokens)
    failed = dict(result.errors)
    for index, _ in items:
        if index not in result.runs and index not in failed:
            failed[index] = BulkError(
                f"{adapter.name} did not report a run for this request", index
            )
    await _record(creator, requests, dict(result.runs), failed, tokens, runs, errors)
