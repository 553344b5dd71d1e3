"""``create_many``: many creates, each exactly once, resumable from the journal.

Every request is journaled (with its index in the batch) before it is sent,
alone or in a bulk chunk. ``resume=True`` finds the batch again by its requests
and settles what a killed process left: runs made are read back, creates whose
outcome is unknown are resolved (a chunk is sent again with its idempotency key,
a tagged create is looked up), and only what was never sent is created anew.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from typing import Any

from ._bulk import BulkPlan, Chunk, ChunkResult, send_chunks
from ._capabilities import Support
from ._create import Creator, ambiguous, new_token
from ._errors import CreateUnconfirmed, InvalidRequest, UnsupportedOperation
from ._journal import JournalEntry, batch_id, fingerprint
from ._lookup import find_created
from ._model import BulkError, BulkResult, Run, RunRef, RunRequest


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
    batch = batch_id(provider, requests)
    runs: dict[int, Run] = {}
    errors = dict(refused)
    gate = asyncio.Semaphore(concurrency)
    settled: set[int] = set()
    if resume:
        settled = await _settle(creator, batch, requests, runs, errors, gate)
    todo = [i for i in range(len(requests)) if i not in errors and i not in settled]
    notes: list[BulkError] = []
    singles = todo
    if support is Support.NATIVE and todo:
        singles, notes = await _in_chunks(creator, requests, todo, batch, concurrency, runs, errors)

    async def one(index: int) -> None:
        async with gate:
            try:
                runs[index] = await creator.create(requests[index], batch=batch, index=index)
            except CreateUnconfirmed as exc:
                errors[index] = BulkError(str(exc), index, exc, token=exc.token)
            except Exception as exc:  # reported by index; cancellation propagates
                errors[index] = BulkError(str(exc), index, exc)

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
    for chunk in chunks:
        entries = [
            creator.entry(requests[i], new_token(), batch=batch, index=i, chunk=chunk.key)[0]
            for i in chunk.indexes
        ]
        tokens.update((e.index, e.token) for e in entries if e.index is not None)
        creator.journal.begin(entries)
    outcome = await send_chunks(
        chunks,
        lambda chunk: _send(creator, call, chunk, tokens),
        concurrency=concurrency,
        provider=adapter.name,
    )
    _record(creator, requests, outcome.runs, outcome.errors, tokens, runs, errors)
    for index in outcome.singles:
        creator.journal.abandon(tokens[index])  # declined before anything was made
    return plan.singles + outcome.singles, outcome.notes


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


def _record(
    creator: Creator,
    requests: Sequence[RunRequest],
    made: dict[int, Run],
    failed: dict[int, BulkError],
    tokens: dict[int, str],
    runs: dict[int, Run],
    errors: dict[int, BulkError],
) -> None:
    for index, run in made.items():
        creator.journal.finish(tokens[index], str(run.ref))
        runs[index] = creator.remember(run, requests[index])
    for index, error in failed.items():
        if error.token is None:
            creator.journal.abandon(tokens[index])
        errors[index] = error


async def _settle(
    creator: Creator,
    batch: str,
    requests: Sequence[RunRequest],
    runs: dict[int, Run],
    errors: dict[int, BulkError],
    gate: asyncio.Semaphore,
) -> set[int]:
    """Settle what the journal says of this batch; the indexes now accounted for."""
    known = creator.journal.batch(creator.adapter.name, batch)
    entries: dict[int, JournalEntry] = {}
    for index, entry in known.items():
        if index >= len(requests) or fingerprint(requests[index]) != entry.fingerprint:
            raise InvalidRequest(
                f"request {index} differs from the one the journal recorded for this batch",
                field="requests",
                provider=creator.adapter.name,
                operation="create_many",
            )
        if entry.state != "abandoned":
            entries[index] = entry
    chunked: dict[str, list[int]] = {}
    for index, entry in entries.items():
        if entry.state == "pending" and entry.chunk is not None:
            chunked.setdefault(entry.chunk, []).append(index)

    async def one(index: int, entry: JournalEntry) -> None:
        async with gate:
            try:
                run = await _settle_one(creator, entry, requests[index])
            except CreateUnconfirmed as exc:
                errors[index] = BulkError(str(exc), index, exc, token=exc.token)
            except Exception as exc:
                errors[index] = BulkError(str(exc), index, exc)
            else:
                runs[index] = run

    await asyncio.gather(
        *(one(i, e) for i, e in entries.items() if e.state == "done" or e.chunk is None),
        *(
            _resend_chunk(creator, key, idx, requests, entries, runs, errors)
            for key, idx in chunked.items()
        ),
    )
    return set(entries)


async def _settle_one(creator: Creator, entry: JournalEntry, request: RunRequest) -> Run:
    adapter, journal = creator.adapter, creator.journal
    if entry.state == "done" and entry.ref is not None:
        ref = RunRef.parse(entry.ref)
        return creator.remember(await adapter.get(creator.channel.call("get"), ref.id), request)
    _, sent, tagged = creator.entry(request, entry.token)
    if tagged and not adapter.idempotent_create:
        call = creator.channel.call("create")
        found = await find_created(
            adapter, call, sent, entry.token, since=entry.since, exclude=creator.sent.keys()
        )
        if found is not None:
            journal.finish(entry.token, str(found.ref))
            return creator.remember(found, request)
    # Never sent, or sent with an idempotency key, or not found after the process died:
    # the same token again (the same key, the same tag).
    return await creator.send(entry, request, sent, tagged)


async def _resend_chunk(
    creator: Creator,
    key: str,
    indexes: list[int],
    requests: Sequence[RunRequest],
    entries: dict[int, JournalEntry],
    runs: dict[int, Run],
    errors: dict[int, BulkError],
) -> None:
    adapter = creator.adapter
    call = creator.channel.call("create_many")
    items: list[tuple[int, Any]] = []
    group: Hashable = None
    for index in sorted(indexes):
        placed = adapter.bulk_item(call, requests[index])
        if placed is None:  # pragma: no cover - it went into a chunk before
            continue
        group = placed[0]
        items.append((index, placed[1]))
    tokens = {i: entries[i].token for i in indexes}
    result = await _send(creator, call, Chunk(group, tuple(items), key), tokens)
    failed = dict(result.errors)
    for index in indexes:
        if index not in result.runs and index not in failed:
            failed[index] = BulkError(
                f"{adapter.name} did not report a run for this request", index
            )
    _record(creator, requests, dict(result.runs), failed, tokens, runs, errors)
