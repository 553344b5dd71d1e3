"""``POST /v1/runs/chain``: several workflows run one after another in one session.

Restated from the provider facts (SDK 2.2.69 ``WorkflowChainCreate``): ``steps`` (at
least one), each ``{workflow_id, session_alias?, inputs?, sensitive_inputs?}``, and the
shared ``is_priority``, ``shared_inputs``, ``shared_sensitive_inputs``,
``shared_file_inputs``, ``keep_session_after_completion``, ``machine_id``, ``pool_ids``
and ``session_id``; the answer is 201 ``{"session_id", "run_ids"}``.

ASSUMPTIONS (the docs say no more): one run per step, in order, all in the session
given or in a new one; a step's ``inputs`` override the shared ones key by key (and its
``sensitive_inputs`` the shared sensitive ones); the last run releases the session
unless ``keep_session_after_completion``; a step naming an unknown workflow is 404
``Workflow not found`` and creates nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from runbridge.emulation import json_response
from runbridge.emulation.fastapi import Check, Issue, check_model, check_str, issue, nullable

from . import _schemas as s
from ._writes import RunWrites

_STEP = check_model(
    {
        "workflow_id": s.RUN_CREATE["workflow_id"],
        "session_alias": nullable(check_str),
        "inputs": s.RUN_CREATE["input_values"],
        "sensitive_inputs": s.RUN_CREATE["sensitive_input_values"],
    },
    frozenset({"workflow_id"}),
    "ChainStep",
)


def _steps(value: Any, loc: tuple[str | int, ...]) -> list[Issue]:
    if not isinstance(value, list):
        return [issue("list_type", loc, "Input should be a valid list", value)]
    if not value:
        msg = "List should have at least 1 item after validation, not 0"
        return [issue("too_short", loc, msg, value, {"field_type": "List", "min_length": 1})]
    return [found for i, step in enumerate(value) for found in _STEP(step, (*loc, i))]


CHAIN: dict[str, Check] = {
    "steps": _steps,
    "is_priority": s.RUN_CREATE["is_priority"],
    "shared_inputs": s.RUN_CREATE["input_values"],
    "shared_sensitive_inputs": s.RUN_CREATE["sensitive_input_values"],
    "shared_file_inputs": s.RUN_CREATE["file_inputs"],
    "keep_session_after_completion": s.RUN_CREATE["release_session_after"],
    "machine_id": s.RUN_CREATE["machine_id"],
    "pool_ids": s.RUN_CREATE["pool_ids"],
    "session_id": s.RUN_CREATE["session_id"],
}
"""``WorkflowChainCreate``, checked the way pydantic v2 would."""


async def create_chain(emu: RunWrites, request: web.Request) -> web.Response:
    """``POST /v1/runs/chain`` → 201 ``{"session_id", "run_ids"}``."""
    body, issues = await emu.body(request, CHAIN, frozenset({"steps"}))
    if issues:
        return emu.invalid(issues)
    files, issues = s.decode_files({"file_inputs": body.get("shared_file_inputs")})
    if issues:
        for entry in issues:
            entry["loc"][1] = "shared_file_inputs"
        return emu.invalid(issues)
    steps: list[dict[str, Any]] = body["steps"]
    if any(s.uid(step["workflow_id"]) not in emu.workflows for step in steps):
        return emu.error(404, "Workflow not found")
    session = s.uid(body.get("session_id")) or str(uuid.uuid4())
    keep = bool(body.get("keep_session_after_completion"))
    run_ids = []
    for n, step in enumerate(steps):
        inputs = {**(body.get("shared_inputs") or {}), **(step.get("inputs") or {})}
        secrets = {
            **(body.get("shared_sensitive_inputs") or {}),
            **(step.get("sensitive_inputs") or {}),
        }
        run = emu.new_run(
            {
                "workflow_id": step["workflow_id"],
                "input_values": inputs or None,
                "sensitive_input_values": secrets or None,
                "machine_id": body.get("machine_id"),
                "pool_ids": body.get("pool_ids"),
                "is_priority": body.get("is_priority"),
                "session_alias": step.get("session_alias"),
                "release_session_after": not keep and n == len(steps) - 1,
            },
            files,
            session,
        )
        run_ids.append(run.id)
    return json_response({"session_id": session, "run_ids": run_ids}, status=201)
