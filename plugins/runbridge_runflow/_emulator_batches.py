"""Batches in the Runflow emulator: creation with ``Idempotency-Key`` replay, and items."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from runbridge.emulation import IdempotencyCache, Stored, iso, json_response

from ._batches import MAX_BATCH
from ._emulator_data import (
    FAILED,
    ORG,
    SUCCEEDED,
    TERMINAL,
    Batch,
    EmuTarget,
    Invalid,
    as_object,
    check_input,
    optional_text,
)

if TYPE_CHECKING:
    from ._emulator import RunflowEmulator


async def create_batch(emu: RunflowEmulator, request: web.Request, name: str) -> web.Response:
    """``POST /v1/models/.../batches`` with ``Idempotency-Key`` replay."""
    target = emu.targets.get(name)
    if target is None or target.kind != "models":
        return emu.fail(404, "MODEL_NOT_FOUND", f"no model {name!r}")
    try:
        body = await emu.body(request)
    except Invalid as exc:
        return emu.invalid(exc)
    key = request.headers.get("Idempotency-Key")
    scoped = f"{request[ORG]}:{key}" if key else None
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    fingerprint = IdempotencyCache.fingerprint("POST", request.path, canonical)
    stored = emu.idempotency.lookup(scoped, fingerprint)
    if isinstance(stored, Stored):
        return json_response(stored.body, status=stored.status)
    if stored is False:
        return emu.fail(
            409, "CONFLICT", "Idempotency-Key was already used with a different request"
        )
    if not target.template_backed:
        message = f"model {target.owner}/{target.slug} is not template-backed"
        return emu.invalid(Invalid(message, ["path", "model"]))
    try:
        items, callback_url = _checked_items(as_object(body, ["body"]), target)
    except Invalid as exc:
        return emu.invalid(exc)
    now = emu.now()
    batch = Batch(
        str(uuid.uuid4()), emu.next_seq(), request[ORG], target, now, callback_url, [], []
    )
    for item in items:
        run = emu.new_run(target, request[ORG], item, batch_id=batch.id)
        batch.runs.append(run)
        batch.item_ids.append(str(uuid.uuid4()))
    emu.batches[batch.id] = batch
    answer = {"id": batch.id, "status_code": "queued", "items_total": len(items)}
    emu.idempotency.store(scoped, fingerprint, 201, answer)
    return json_response(answer, status=201)


def _checked_items(
    body: Mapping[str, Any], target: EmuTarget
) -> tuple[list[dict[str, Any]], str | None]:
    items = body.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise Invalid(f"must be a list of 1 to {MAX_BATCH} items", ["body", "items"])
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


def batch_json(emu: RunflowEmulator, batch: Batch) -> dict[str, Any]:
    """A batch with its status and counts derived from its runs."""
    now = emu.now()
    statuses = [emu.state(run, now).status for run in batch.runs]
    done = [s for s in statuses if s in TERMINAL]
    if len(done) < len(statuses):
        status = "queued" if all(s == "queued" for s in statuses) else "running"
    elif all(s in SUCCEEDED for s in done):
        status = "succeeded"
    elif all(s in FAILED for s in done):
        status = "failed"
    elif all(s in ("canceled", "cancelled") for s in done):
        status = "canceled"
    else:
        status = "partial_succeeded"
    return {
        "id": batch.id,
        "model_id": batch.target.id,
        "org_id": batch.org_id,
        "status_code": status,
        "items_total": len(statuses),
        "succeeded": sum(s in SUCCEEDED for s in statuses),
        "failed": sum(s in FAILED for s in statuses),
        "cancelled": sum(s in ("canceled", "cancelled") for s in statuses),
        "callback_url": batch.callback_url,
        "created_at": iso(batch.created, z=False),
    }


def item_json(emu: RunflowEmulator, batch: Batch, index: int) -> dict[str, Any]:
    """One batch item, with its run embedded."""
    run = emu.run_json(batch.runs[index])
    failed = run["status_code"] in FAILED
    return {
        "id": batch.item_ids[index],
        "batch_id": batch.id,
        "sequence_index": index,
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
