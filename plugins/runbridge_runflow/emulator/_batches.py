"""Batches in the Runflow emulator: creation with ``Idempotency-Key`` replay, and items."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from runbridge.emulation import IdempotencyCache, json_response

from ._base import RunflowBase
from ._facts import SUCCEEDED
from ._query import Invalid
from ._records import Batch, EmuTarget
from ._validation import as_object, check_input, optional_text


async def create_batch(emu: RunflowBase, request: web.Request, ref: str) -> web.StreamResponse:
    """``POST /v1/models/{ref}/batches`` with ``Idempotency-Key`` replay: the same key and
    body replay the 201; the same key with another body is 409 (both documented)."""
    target = emu.routed("models", ref)
    if target is None:
        return emu.error(404, f"no model {ref!r}", code="MODEL_NOT_FOUND")
    try:
        body = await emu.body(request)
    except Invalid as exc:
        return emu.invalid(exc)
    key = request.headers.get("Idempotency-Key")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return await emu.runs.once(
        f"{emu.org_of(request)}:{key}" if key else None,
        IdempotencyCache.fingerprint("POST", request.path, canonical),
        lambda: _new_batch(emu, request, target, body),
        conflict=lambda: emu.error(
            409, "Idempotency-Key was already used with a different request"
        ),
    )


async def _new_batch(
    emu: RunflowBase, request: web.Request, target: EmuTarget, body: Any
) -> web.Response:
    if not target.template_backed:  # documented: only template-backed models batch
        message = f"model {target.owner}/{target.slug} is not template-backed"
        return emu.invalid(Invalid(message, ["path", "model"]))
    try:
        items, callback_url = _checked_items(emu, as_object(body, ["body"]), target)
    except Invalid as exc:
        return emu.invalid(exc)
    org = emu.org_of(request)
    batch = Batch(str(uuid.uuid4()), emu.next_seq(), org, target, emu.now(), callback_url, [], [])
    for item in items:
        batch.runs.append(emu.new_run(target, org, item, batch_id=batch.id))
        batch.item_ids.append(str(uuid.uuid4()))
    emu.batches[batch.id] = batch
    answer = {"id": batch.id, "status_code": "queued", "items_total": len(items)}
    return json_response(answer, status=201)


def _checked_items(
    emu: RunflowBase, body: Mapping[str, Any], target: EmuTarget
) -> tuple[list[dict[str, Any]], str | None]:
    items = body.get("items")
    most = emu.max_batch_items
    if not isinstance(items, list) or not items or (most is not None and len(items) > most):
        limit = f"1 to {most}" if most is not None else "at least 1"
        raise Invalid(f"must be a list of {limit} items", ["body", "items"])
    callback_url = optional_text(body, "callback_url", ["body"], min_len=1)
    checked = []
    for n, item in enumerate(items):
        loc: list[str | int] = ["body", "items", n]
        data = as_object(item, loc)
        checked.append(
            {
                "input": check_input(data.get("input"), target.required, loc),
                "client_ref": optional_text(data, "client_ref", loc, min_len=1),
                "callback_url": callback_url,
            }
        )
    return checked, callback_url


def batch_json(emu: RunflowBase, batch: Batch) -> dict[str, Any]:
    """A batch: the create answer's fields and the documented ``cancelled`` count.

    ASSUMPTION: the detail's status rolls the runs up (``partial_succeeded`` when
    some but not all succeeded, as the docs describe for batches).
    """
    now = emu.now()
    statuses = [emu.native_status(run.timeline, now) for run in batch.runs]
    terminal = emu.statuses.terminal
    if any(s not in terminal for s in statuses):
        status = "queued" if all(s == "queued" for s in statuses) else "running"
    elif all(s in SUCCEEDED for s in statuses):
        status = "succeeded"
    elif len(set(statuses)) == 1:
        status = statuses[0]
    else:
        status = "partial_succeeded" if any(s in SUCCEEDED for s in statuses) else "failed"
    return {
        "id": batch.id,
        "status_code": status,
        "items_total": len(statuses),
        "cancelled": sum(s == "canceled" for s in statuses),
    }


def item_json(emu: RunflowBase, batch: Batch, index: int) -> dict[str, Any]:
    """One batch item (its documented fields), with its run embedded."""
    run = emu.run_json(batch.runs[index])
    failed = run["status_code"] == "failed"
    return {
        "id": batch.item_ids[index],
        "batch_id": batch.id,
        "sequence_index": index,  # ASSUMPTION: 0-based
        "run_id": run["id"],
        "client_ref": run["client_ref"],
        "status_code": run["status_code"],
        "input": run["input"],
        "cost": run["cost"],
        "output": run["output"],
        "error": (
            {"code": run["failure_code"], "message": run["failure_message"]} if failed else None
        ),
        "started_at": run["started_at"],
        "completed_at": run["completed_at"],
        "run": run,
    }
