"""``create_many``: identical requests share one ``POST /v1/runs/bulk`` body, in chunks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import orjson

from runbridge import BulkError, BulkResult, Run, RunbridgeError, RunRequest
from runbridge.adapter import Call

from ._bodies import create_body, file_problem
from ._wire import BULK_FIELDS, WireBulk, converter

MAX_BATCH = 1000
"""Most runs one ``POST /v1/runs/bulk`` creates (``count`` is 1..1000)."""

BULK_CONCURRENCY = 8
"""Bulk and single create requests one ``create_many`` keeps in flight at once."""

ToRun = Callable[[Call, Any], Run]


@attrs.define
class _Job:
    """Requests that share one request body, and their positions in the caller's list."""

    body: dict[str, Any]
    indices: list[int]
    bulk: bool


def check_files(call: Call, requests: Sequence[RunRequest]) -> None:
    """Refuse the whole batch, before any request, when a file carries a bad option."""
    for index, request in enumerate(requests):
        problem = file_problem(request.files)
        if problem is not None and problem[1].startswith("files.options."):
            raise call.invalid(f"request {index}: {problem[0]}", field=problem[1])


def _jobs(call: Call, requests: Sequence[RunRequest], errors: list[BulkError]) -> list[_Job]:
    jobs: list[_Job] = []
    groups: dict[bytes, _Job] = {}
    for index, request in enumerate(requests):
        try:
            body = create_body(call, request)
        except RunbridgeError as exc:
            errors.append(BulkError(str(exc), index, exc))
            continue
        if not body.keys() <= BULK_FIELDS:
            # Options only RunCreate takes (main_prompt, session_alias, ...).
            jobs.append(_Job(body, [index], bulk=False))
            continue
        signature = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        if signature in groups:
            groups[signature].indices.append(index)
        else:
            groups[signature] = job = _Job(body, [index], bulk=True)
            jobs.append(job)
    return [
        attrs.evolve(job, indices=job.indices[start : start + MAX_BATCH])
        for job in jobs
        for start in range(0, len(job.indices), MAX_BATCH)
    ]


async def create_many(call: Call, requests: Sequence[RunRequest], to_run: ToRun) -> BulkResult:
    """Create ``requests`` in as few calls as possible; failures are reported per index."""
    check_files(call, requests)
    runs: list[tuple[int, Run]] = []
    errors: list[BulkError] = []
    chunks = _jobs(call, requests, errors)
    gate = asyncio.Semaphore(BULK_CONCURRENCY)

    async def send(number: int, chunk: _Job) -> None:
        # Each chunk is its own write with its own key, stable across retries.
        key = call.idempotency_key_for(f"chunk-{number}")
        async with gate:
            try:
                if chunk.bulk:
                    created, failed = await _bulk(call, chunk, key, to_run)
                else:
                    created, failed = await _single(call, chunk, key, to_run)
            except RunbridgeError as exc:
                errors.extend(BulkError(str(exc), index, exc) for index in chunk.indices)
                return
        runs.extend(created)
        errors.extend(failed)

    await asyncio.gather(*(send(n, chunk) for n, chunk in enumerate(chunks)))
    runs.sort(key=lambda pair: pair[0])
    errors.sort(key=lambda e: (e.index is None, e.index or 0))
    return BulkResult(tuple(run for _, run in runs), tuple(errors), len(requests))


async def _single(
    call: Call, chunk: _Job, key: str, to_run: ToRun
) -> tuple[list[tuple[int, Run]], list[BulkError]]:
    response = await call.request(
        "POST",
        "/v1/runs",
        json=chunk.body,
        headers={"Idempotency-Key": key},
        expect=(201,),
        idempotent=True,
    )
    return [(chunk.indices[0], to_run(call, response.data))], []


async def _bulk(
    call: Call, chunk: _Job, key: str, to_run: ToRun
) -> tuple[list[tuple[int, Run]], list[BulkError]]:
    response = await call.request(
        "POST",
        "/v1/runs/bulk",
        json={**chunk.body, "count": len(chunk.indices)},
        headers={"Idempotency-Key": key},
        expect=(201,),
        idempotent=True,
    )
    if not isinstance(response.data, Mapping):
        raise call.bad_response("expected a bulk create result", body=response.data)
    wire = call.structure(converter, response.data, WireBulk)
    created = [to_run(call, item) for item in wire.created_runs]
    # The runs of one chunk are interchangeable (same body): they fill the
    # chunk's positions in order, and whatever is left over failed.
    indices = chunk.indices
    runs = [(indices[i] if i < len(indices) else indices[-1], run) for i, run in enumerate(created)]
    messages = [call.redactor.text(str(m))[:500] for m in (wire.errors or ())]
    # Positions the provider did not fill failed; its own count and messages are
    # reported too, but never believed beyond the size of the chunk.
    missing = max(len(indices) - len(created), 0)
    errors = [
        BulkError(
            messages[k]
            if k < len(messages)
            else f"cyberdesk created {len(created)} of {len(indices)} runs "
            f"(failed_count={wire.failed_count})",
            indices[len(created) + k],
        )
        for k in range(missing)
    ]
    if wire.failed_count > missing or len(messages) > missing:
        extra = "; ".join(messages[missing : missing + 5])
        errors.append(
            BulkError(
                f"cyberdesk reported failed_count={wire.failed_count} for a chunk of "
                f"{len(indices)} with {len(created)} runs created" + (f": {extra}" if extra else "")
            )
        )
    return runs, errors
