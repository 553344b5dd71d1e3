"""``create_many`` on Cyberdesk: identical requests share one ``POST /v1/runs/bulk`` body.

The core groups the requests by what ``bulk_item`` says, cuts each group into
chunks of at most ``MAX_BATCH``, keys and sends them; this module builds the
item and reads one chunk's answer back onto the chunk's positions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from runbridge import Run, RunRequest
from runbridge.adapter import Call, Chunk, ChunkResult

from ._bodies import create_body
from ._options import BULK_FIELDS
from ._wire import WireBulk, strings

MAX_BATCH = 1000
"""Most runs one ``POST /v1/runs/bulk`` creates (``count`` is 1..1000)."""

ToRun = Callable[[Call, Any, Any], Run]


def bulk_item(call: Call, request: RunRequest) -> tuple[bytes, dict[str, Any]] | None:
    """``(signature, body)`` of ``request``; ``None`` if only ``POST /v1/runs`` takes it.

    Requests whose bodies are equal share a group, so one bulk body with a
    ``count`` creates them all.
    """
    body = create_body(call, request)
    if not body.keys() <= BULK_FIELDS:
        return None  # options only RunCreate takes (main_prompt, session_alias, ...)
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS), body


async def send_chunk(call: Call, chunk: Chunk, to_run: ToRun) -> ChunkResult:
    """One ``POST /v1/runs/bulk`` for the chunk's shared body, ``count`` its size."""
    _, body = chunk.items[0]
    response = await call.request(
        "POST",
        "/v1/runs/bulk",
        json={**body, "count": len(chunk.items)},
        headers={"Idempotency-Key": chunk.key},
        expect=(201,),
        idempotent=True,
        into=WireBulk,
    )
    wire: WireBulk = response.data
    raw = response.raw
    created = [
        to_run(call, item, raw("created_runs", n)) for n, item in enumerate(wire.created_runs)
    ]
    messages = [call.redactor.text(m)[:500] for m in strings(wire.errors)]
    return _placed(chunk.indexes, created, wire.failed_count, messages)


def _placed(
    indexes: Sequence[int], created: list[Run], failed_count: int, messages: list[str]
) -> ChunkResult:
    # The runs of one chunk are interchangeable (same body): they fill the
    # chunk's positions in order. The positions left over are in doubt, not failed:
    # an answer with fewer runs than asked for may hide runs that exist, so the core
    # reports them unconfirmed, with their tokens (the provider's messages say why).
    # Its count and messages are reported too, but never believed beyond the chunk.
    runs = dict(zip(indexes, created, strict=False))
    missing = indexes[len(created) :]
    summary = (
        f"cyberdesk created {len(created)} of {len(indexes)} runs (failed_count={failed_count})"
    )
    doubt = {
        index: f"{summary}: {messages[k]}" if k < len(messages) else summary
        for k, index in enumerate(missing)
    }
    notes: list[str] = []
    if failed_count > len(missing) or len(messages) > len(missing):
        extra = "; ".join(messages[len(missing) : len(missing) + 5])
        notes.append(
            f"cyberdesk reported failed_count={failed_count} for a chunk of {len(indexes)} "
            f"with {len(created)} runs created" + (f": {extra}" if extra else "")
        )
    if len(created) > len(indexes):
        surplus = created[len(indexes) :]
        shown = ", ".join(str(run.ref) for run in surplus[:5])
        notes.append(
            f"cyberdesk created {len(created)} runs for a chunk of {len(indexes)}; "
            f"the {len(surplus)} beyond it were not asked for: {shown}"
        )
    return ChunkResult(runs, notes=tuple(notes), unconfirmed=doubt)
