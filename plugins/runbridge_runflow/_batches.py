"""Runflow batches: which requests may share one, and sending one chunk of them.

Requests go into a batch by model and ``callback_url``. Workflows (which have no
batches) and requests with ``metadata`` (which batch items cannot carry) are
left to the core's single creates, and so is a chunk Runflow refuses as invalid
(a model that is not template-backed): nothing of it was created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast
from urllib.parse import parse_qsl

import attrs
import msgspec

import runbridge
from runbridge import BulkError, Run, RunbridgeError, RunRequest
from runbridge.adapter import Call, Chunk, ChunkResult, IdFormat

from ._listing import next_cursor
from ._requests import create_body
from ._target import Target, parse_target
from ._wire import WireBatch, WireBatchItem, WireItems, count_of, decoded, link_of


class Batching(Protocol):
    """What a batch needs of the adapter (which imports this module)."""

    @property
    def name(self) -> str:
        """The provider's name."""
        ...

    @property
    def id_format(self) -> IdFormat:
        """The shape of its run ids."""
        ...

    def target(self, call: Call, text: str) -> Target:
        """The parsed target, or ``InvalidRequest``."""
        ...

    def canonical_target(self, target: str) -> str:
        """The canonical spelling of a target."""
        ...

    def route(self, call: Call, target: Target) -> tuple[str, ...]:
        """The path segments that start runs of ``target``."""
        ...

    def created(self, run: Run, target: Target) -> Run:
        """``run``, created on ``target``."""
        ...

    def to_run(self, call: Call, payload: Any, raw: Mapping[str, Any] | None = None) -> Run:
        """The canonical run of one run payload."""
        ...

    async def get(self, call: Call, run_id: str) -> Run:
        """Read one run."""
        ...


MAX_BATCH = 100
"""Items per ``POST .../batches`` request; longer groups are split. Runflow documents
no limit: this is the adapter's own choice, to keep each request small."""

_BATCH_KEYS = frozenset({"input", "client_ref", "callback_url"})


@attrs.frozen
class Batch:
    """What the requests of one batch share: the model and the ``callback_url``."""

    target: Target
    callback_url: str | None


def bulk_item(
    adapter: Batching, call: Call, request: RunRequest
) -> tuple[Batch, dict[str, Any]] | None:
    """The batch ``request`` goes into and its item there; ``None`` when it cannot go."""
    given = adapter.target(call, request.target)
    body = create_body(call, request)
    if not given.has_batches or not set(body) <= _BATCH_KEYS:
        return None
    # The path and the id form of one model go into one batch.
    target = parse_target(adapter.canonical_target(str(given))) or given
    callback_url = body.pop("callback_url", None)
    return Batch(target, callback_url), body


async def send_chunk(adapter: Batching, call: Call, chunk: Chunk) -> ChunkResult:
    """Create ``chunk`` as one batch and read its runs back, by the caller's index."""
    batch = cast(Batch, chunk.group)
    segments = adapter.route(call, batch.target)
    body: dict[str, Any] = {"items": [item for _, item in chunk.items]}
    if batch.callback_url is not None:
        body["callback_url"] = batch.callback_url
    template = "/v1/models/" + "/".join("{}" for _ in segments) + "/batches"
    try:
        response = await call.request(
            "POST",
            call.path(template, *segments),
            json=body,
            headers={"Idempotency-Key": chunk.key},
            expect=(200, 201),
            idempotent=True,
            into=WireBatch,
        )
    except runbridge.InvalidRequest as exc:
        # Refused as a whole, so nothing exists yet: the core creates them singly.
        raise runbridge.UnsupportedOperation(
            f"Runflow refused the batch: {exc.message}",
            provider=adapter.name,
            operation="create_many",
        ) from exc
    batch_id = decoded(call, response, WireBatch).id
    return await _collect(adapter, call, batch_id, batch.target, chunk)


async def _items(call: Call, batch_id: str) -> list[WireBatchItem]:
    """Every item of a batch, across pages."""
    found: list[WireBatchItem] = []
    params: dict[str, str] = {"limit": "500"}
    path = call.path("/v1/batches/{}/items", batch_id)
    seen: set[str] = set()
    while True:
        response = await call.request("GET", path, params=params, into=WireItems)
        page = decoded(call, response, WireItems)
        found.extend(page.items)
        link = link_of(page)
        if not link or link in seen:
            return found
        seen.add(link)
        params = {"limit": "500", **dict(parse_qsl(next_cursor(call, link)))}


def _positions(items: list[WireBatchItem], call: Call) -> dict[int, WireBatchItem]:
    try:
        indexes = [count_of(item.sequence_index) for item in items]
    except ValueError:
        indexes = None
    if indexes is None:  # raised outside the handler, which quotes the value
        raise call.bad_response("a batch item's sequence_index is not a number")
    if any(i is None for i in indexes):
        return dict(enumerate(items))  # no sequence numbers: the listing order
    numbers = [i for i in indexes if i is not None]
    offset = 1 if sorted(numbers) == list(range(1, len(numbers) + 1)) else 0
    return {number - offset: item for number, item in zip(numbers, items, strict=True)}


async def _collect(
    adapter: Batching, call: Call, batch_id: str, target: Target, chunk: Chunk
) -> ChunkResult:
    runs: dict[int, Run] = {}
    errors: dict[int, BulkError] = {}
    try:
        by_position = _positions(await _items(call, batch_id), call)
    except RunbridgeError as exc:
        message = call.redactor.text(
            f"batch {batch_id} was created but its items could not be read: {exc}"
        )
        return ChunkResult(errors={i: BulkError(message, i, exc) for i in chunk.indexes})
    for position, index in enumerate(chunk.indexes):
        item = by_position.get(position)
        try:
            runs[index] = await _run_of(adapter, call, target, batch_id, position, item)
        except RunbridgeError as exc:
            errors[index] = BulkError(str(exc), index, exc)
    return ChunkResult(runs, errors)


async def _run_of(
    adapter: Batching,
    call: Call,
    target: Target,
    batch_id: str,
    position: int,
    item: WireBatchItem | None,
) -> Run:
    if item is None:
        raise call.bad_response(f"batch {batch_id} lists no item {position}")
    embedded = item.run
    if isinstance(embedded, Mapping) and embedded.get("id"):
        return adapter.created(adapter.to_run(call, embedded), target)
    run_id = item.run_id if isinstance(item.run_id, str) else None
    if run_id is None or adapter.id_format.normalize(run_id) is None:
        raise call.bad_response(
            f"batch {batch_id} item {position} has no run yet", body=msgspec.to_builtins(item)
        )
    return adapter.created(await adapter.get(call, run_id.lower()), target)
