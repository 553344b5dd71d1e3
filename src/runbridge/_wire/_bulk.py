"""The bulk engine: requests grouped, chunked to the batch limit, sent concurrently.

An adapter with a native bulk endpoint says where each request goes
(``Adapter.bulk_item``) and how to send one chunk (``Adapter.send_chunk``); the
core plans the chunks, gives each an idempotency key, bounds how many are in
flight, and reports every request's outcome by its index in the caller's list.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any

import attrs

from .._model._errors import RunbridgeError, UnsupportedOperation
from .._model._run import BulkError, Run

log = logging.getLogger("runbridge.create")


@attrs.frozen
class Chunk:
    """Requests sent in one bulk request: items of one group, at most the batch limit."""

    group: Hashable
    """What the adapter grouped the items by."""
    items: tuple[tuple[int, Any], ...]
    """``(index, item)``: the request's index in the caller's list, and the adapter's item."""
    key: str
    """The chunk's idempotency key, stable across the retries of the bulk create."""

    @property
    def indexes(self) -> tuple[int, ...]:
        """The caller's indexes of the chunk's requests, in order."""
        return tuple(index for index, _ in self.items)


@attrs.frozen
class ChunkResult:
    """What one chunk produced: runs and failures by the caller's index.

    ``unconfirmed`` names, with the provider's words, indexes the answer leaves in
    doubt (a bulk answer with fewer runs than asked for: the missing ones may exist).
    An index of the chunk in none of the mappings is in doubt too: the core reports
    both unconfirmed, with their tokens. ``notes`` holds failure messages the
    provider gave without saying for which item.
    """

    runs: Mapping[int, Run] = attrs.field(factory=dict)
    errors: Mapping[int, BulkError] = attrs.field(factory=dict)
    notes: tuple[str, ...] = ()
    unconfirmed: Mapping[int, str] = attrs.field(factory=dict)


@attrs.define
class BulkPlan:
    """Where each request of a bulk create goes: a group, singly, or nowhere (invalid)."""

    groups: dict[Hashable, list[tuple[int, Any]]] = attrs.field(factory=dict)
    singles: list[int] = attrs.field(factory=list)
    errors: dict[int, BulkError] = attrs.field(factory=dict)

    def chunks(self, max_batch: int, key: Callable[[int], str]) -> list[Chunk]:
        """Every group cut into chunks of at most ``max_batch`` items, numbered in order."""
        out: list[Chunk] = []
        for group, items in self.groups.items():
            for start in range(0, len(items), max_batch):
                part = tuple(items[start : start + max_batch])
                out.append(Chunk(group, part, key(len(out))))
        return out


@attrs.define
class BulkOutcome:
    """Runs and errors by index, and the indexes left to create singly."""

    runs: dict[int, Run] = attrs.field(factory=dict)
    errors: dict[int, BulkError] = attrs.field(factory=dict)
    notes: list[BulkError] = attrs.field(factory=list)
    singles: list[int] = attrs.field(factory=list)


async def send_chunks(
    chunks: list[Chunk],
    send: Callable[[Chunk], Awaitable[ChunkResult]],
    *,
    concurrency: int,
    provider: str,
) -> BulkOutcome:
    """Send ``chunks`` with at most ``concurrency`` in flight; nothing is lost.

    A chunk refused with ``UnsupportedOperation`` goes to ``singles``; a chunk
    that fails otherwise fails each of its requests with that error.
    """
    outcome = BulkOutcome()
    gate = asyncio.Semaphore(concurrency)

    async def one(chunk: Chunk) -> None:
        async with gate:
            try:
                result = await send(chunk)
            except UnsupportedOperation as exc:
                log.info("%s: a bulk chunk goes singly: %s", provider, exc)
                outcome.singles.extend(chunk.indexes)
                return
            except RunbridgeError as exc:
                for index in chunk.indexes:
                    outcome.errors[index] = BulkError(str(exc), index, exc)
                return
        for index in chunk.indexes:
            if index in result.runs:
                outcome.runs[index] = result.runs[index]
            elif index in result.errors:
                outcome.errors[index] = result.errors[index]
            else:
                message = f"{provider} did not report a run for this request"
                outcome.errors[index] = BulkError(message, index)
        outcome.notes.extend(BulkError(note) for note in result.notes)

    await asyncio.gather(*(one(chunk) for chunk in chunks))
    return outcome
