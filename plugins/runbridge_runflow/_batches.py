"""``create_many`` through Runflow batches, with single creates where batches cannot go.

Requests are grouped by model and ``callback_url`` and sent as batches of at most
``MAX_BATCH`` items, each with its own ``Idempotency-Key`` so a retried batch is
never created twice. Workflows (which have no batches), requests with
``metadata`` (which batch items cannot carry) and batches the API refuses as
invalid (a model that is not template-backed) go through single creates. When
the first batch is refused before anything was created, the whole request is
declined with ``UnsupportedOperation`` so that the core creates the runs with
the caller's own concurrency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import attrs

import runbridge
from runbridge import BulkError, BulkResult, Run, RunbridgeError, RunRequest
from runbridge.adapter import Call

from ._listing import next_cursor
from ._requests import create_body
from ._target import Target, parse_target
from ._wire import WireBatch, WireBatchItem, WirePage, converter

if TYPE_CHECKING:
    from ._adapter import RunflowAdapter

MAX_BATCH = 100
"""Items per ``POST .../batches`` request; longer groups are split. Runflow documents
no limit: this is the adapter's own choice, to keep each request small."""

SINGLE_CONCURRENCY = 8
"""Single creates in flight at once when a batch cannot be used."""

_BATCH_KEYS = frozenset({"input", "client_ref", "callback_url"})


@attrs.define
class _Chunk:
    target: Target
    segments: tuple[str, ...]
    callback_url: str | None
    entries: list[tuple[int, dict[str, Any]]] = attrs.field(factory=list)


@attrs.define
class _Outcome:
    runs: dict[int, Run] = attrs.field(factory=dict)
    errors: dict[int, BulkError] = attrs.field(factory=dict)

    def fail(self, index: int, error: BaseException, message: str | None = None) -> None:
        self.errors[index] = BulkError(message or str(error), index, error)


def _plan(
    adapter: RunflowAdapter, call: Call, requests: Sequence[RunRequest], outcome: _Outcome
) -> tuple[list[_Chunk], list[int]]:
    groups: dict[tuple[str, str | None], _Chunk] = {}
    singles: list[int] = []
    for index, request in enumerate(requests):
        try:
            given = adapter.target(call, request.target)
            body = create_body(call, request)
        except RunbridgeError as exc:
            outcome.fail(index, exc)
            continue
        if not given.has_batches or not set(body) <= _BATCH_KEYS:
            singles.append(index)
            continue
        # The path and the id form of one model go into one group.
        target = parse_target(adapter.canonical_target(str(given))) or given
        callback_url = body.pop("callback_url", None)
        key = (str(target), callback_url)
        if key not in groups:
            groups[key] = _Chunk(target, adapter.route(call, target), callback_url)
        groups[key].entries.append((index, body))
    chunks = [
        _Chunk(c.target, c.segments, c.callback_url, c.entries[i : i + MAX_BATCH])
        for c in groups.values()
        for i in range(0, len(c.entries), MAX_BATCH)
    ]
    return chunks, singles


async def create_in_batches(
    adapter: RunflowAdapter, call: Call, requests: Sequence[RunRequest]
) -> BulkResult:
    """Create every request, reporting each failure with the caller's index."""
    outcome = _Outcome()
    chunks, singles = _plan(adapter, call, requests, outcome)
    if not chunks:
        raise _decline("none of these requests can go into a Runflow batch")
    for number, chunk in enumerate(chunks):
        try:
            batch_id = await _post_batch(call, chunk, call.idempotency_key_for(number))
        except runbridge.InvalidRequest as exc:
            if number == 0:
                # Nothing exists yet: let the core create them one by one instead.
                raise _decline(f"Runflow refused the batch: {exc.message}") from exc
            singles.extend(index for index, _ in chunk.entries)
            continue
        except RunbridgeError as exc:
            for index, _ in chunk.entries:
                outcome.fail(index, exc)
            continue
        await _collect(adapter, call, batch_id, chunk, outcome)
    await _create_singly(adapter, call, requests, sorted(singles), outcome)
    runs = tuple(outcome.runs[i] for i in sorted(outcome.runs))
    errors = tuple(outcome.errors[i] for i in sorted(outcome.errors))
    return BulkResult(runs, errors, len(requests))


def _decline(message: str) -> runbridge.UnsupportedOperation:
    return runbridge.UnsupportedOperation(message, provider="runflow", operation="create_many")


async def _post_batch(call: Call, chunk: _Chunk, key: str) -> str:
    body: dict[str, Any] = {"items": [item for _, item in chunk.entries]}
    if chunk.callback_url is not None:
        body["callback_url"] = chunk.callback_url
    template = "/v1/models/" + "/".join("{}" for _ in chunk.segments) + "/batches"
    response = await call.request(
        "POST",
        call.path(template, *chunk.segments),
        json=body,
        headers={"Idempotency-Key": key},
        expect=(200, 201),
        idempotent=True,
    )
    return call.structure(converter, response.data, WireBatch).id


async def _items(call: Call, batch_id: str) -> list[Mapping[str, Any]]:
    """Every item of a batch, across pages."""
    found: list[Mapping[str, Any]] = []
    params: dict[str, str] = {"limit": "500"}
    path = call.path("/v1/batches/{}/items", batch_id)
    seen: set[str] = set()
    while True:
        response = await call.request("GET", path, params=params)
        page = call.structure(converter, response.data, WirePage)
        found.extend(item for item in page.items if isinstance(item, Mapping))
        link = page.next if page.next is not None else page.next_pq
        if not link or link in seen:
            return found
        seen.add(link)
        params = {"limit": "500", **dict(parse_qsl(next_cursor(call, link)))}


def _positions(items: list[Mapping[str, Any]], call: Call) -> dict[int, Mapping[str, Any]]:
    rows = [call.structure(converter, item, WireBatchItem) for item in items]
    indexes = [row.sequence_index for row in rows]
    if any(i is None for i in indexes):
        return dict(enumerate(items))  # no sequence numbers: the listing order
    numbers = [i for i in indexes if i is not None]
    offset = 1 if sorted(numbers) == list(range(1, len(numbers) + 1)) else 0
    return {number - offset: item for number, item in zip(numbers, items, strict=True)}


async def _collect(
    adapter: RunflowAdapter, call: Call, batch_id: str, chunk: _Chunk, outcome: _Outcome
) -> None:
    try:
        by_position = _positions(await _items(call, batch_id), call)
    except RunbridgeError as exc:
        message = call.redactor.text(
            f"batch {batch_id} was created but its items could not be read: {exc}"
        )
        for index, _ in chunk.entries:
            outcome.fail(index, exc, message)
        return
    for position, (index, _) in enumerate(chunk.entries):
        item = by_position.get(position)
        try:
            run = await _run_of(adapter, call, chunk.target, batch_id, position, item)
            outcome.runs[index] = run
        except RunbridgeError as exc:
            outcome.fail(index, exc)


async def _run_of(
    adapter: RunflowAdapter,
    call: Call,
    target: Target,
    batch_id: str,
    position: int,
    item: Mapping[str, Any] | None,
) -> Run:
    if item is None:
        raise call.bad_response(f"batch {batch_id} lists no item {position}")
    embedded = item.get("run")
    if isinstance(embedded, Mapping) and embedded.get("id"):
        return adapter.created(adapter.to_run(call, embedded), target)
    run_id = call.structure(converter, item, WireBatchItem).run_id
    if run_id is None or adapter.id_format.normalize(run_id) is None:
        raise call.bad_response(f"batch {batch_id} item {position} has no run yet", body=dict(item))
    return adapter.created(await adapter.get(call, run_id.lower()), target)


async def _create_singly(
    adapter: RunflowAdapter,
    call: Call,
    requests: Sequence[RunRequest],
    indexes: list[int],
    outcome: _Outcome,
) -> None:
    gate = asyncio.Semaphore(SINGLE_CONCURRENCY)

    async def one(index: int) -> None:
        async with gate:
            try:
                outcome.runs[index] = await adapter.create(call, requests[index])
            except RunbridgeError as exc:
                outcome.fail(index, exc)

    await asyncio.gather(*(one(i) for i in indexes))
