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
from collections.abc import Mapping
from typing import Any

from .._journal import JournalEntry, fingerprint
from .._model._capabilities import Support
from .._model._errors import InvalidRequest
from .._model._run import BulkError, BulkResult, Run, RunRequest
from .._model._run_errors import CreateUnconfirmed
from .._wire._bulk import BulkPlan, Chunk, ChunkResult, send_chunks
from ._chunks import (
    bulk_item,
    in_doubt,
    record_chunk,
    resend_chunk,
    send_claimed,
)
from ._create import ChunkSettle, Creator, new_token


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
            placed = bulk_item(creator, call, requests[index], chosen[index])
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
        result = await send_claimed(creator, secrets, Chunk(chunk.group, items, chunk.key), tokens)
        return in_doubt(result, [i for i, _ in items], tokens, adapter.name)

    outcome = await send_chunks(
        chunks, claim_and_send, concurrency=concurrency, provider=adapter.name
    )
    for index in deferred:  # claimed by another process, or settled: followed one by one
        outcome.errors.pop(index, None)
    await record_chunk(creator, requests, outcome.runs, outcome.errors, tokens, runs, errors)
    for index in outcome.singles:
        await creator.journal.abandon(tokens[index])  # declined before anything was made
    return plan.singles + outcome.singles + deferred, outcome.notes


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
