"""The Runflow adapter through the public API, against its emulator over loopback HTTP.

Run records, create, listing, errors and auth; targets, writes and exactly-once
creates have files of their own. The emulator serves the documented shape.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import runbridge
from runbridge import (
    AuthError,
    Conflict,
    InvalidRequest,
    NotFound,
    Progress,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    RunClient,
    RunRequest,
    RunStatus,
    Support,
)
from runbridge.adapter import RUN_FIELDS
from runbridge.testing import emulated_client, testing_options
from runbridge_runflow import RunflowAdapter
from runbridge_runflow.emulator import RunflowEmulator
from support import SETTLE, sent

SEED = Path(__file__).parent / "data" / "documented" / "runflow" / "patch-run.response.json"


@pytest.fixture
def provider() -> str:
    return "runflow"


MODEL = "5b0c6f1e-2d3a-4c5b-8e9f-0a1b2c3d4e5f"
WORKFLOW = "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"
FLOW = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"


def test_the_plugin_registers_the_adapter() -> None:
    info = {p.name: p for p in runbridge.providers()}["runflow"]
    assert info.adapter is RunflowAdapter
    caps = info.capabilities
    assert caps.support("retry") is Support.EMULATED
    assert caps.support("delete") is Support.UNSUPPORTED
    assert (caps.max_page_size, caps.max_batch) == (500, 100)
    assert caps.filters == {"status", "target"}
    assert caps.newest_first
    # Documented run records carry no name (runbridge keeps one in metadata).
    assert caps.reports == RUN_FIELDS - {"name"}
    assert {"create", "list", "update", "cancel", "retry"} <= caps.notes.keys()


async def test_every_documented_status_can_be_forced_and_reads_right(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    expected = {
        "queued": RunStatus.PENDING,
        "dispatching": RunStatus.PENDING,
        "running": RunStatus.RUNNING,
        "succeeded": RunStatus.SUCCEEDED,
        "failed": RunStatus.FAILED,
        "canceled": RunStatus.CANCELLED,
        "partial_succeeded": RunStatus.SUCCEEDED,
    }
    assert set(emulator.statuses.documented) == expected.keys()
    run = await client.create(emulator.default_target)
    for native, status in expected.items():
        emulator.force_status(run.id, native)
        got = await client.get(run)
        assert (got.status, got.native_status) == (status, native)
        assert (got.failure is not None) == (status is RunStatus.FAILED)


# -- statuses, failures and the run record --------------------------------------------


@pytest.mark.parametrize(
    ("native", "planned", "status", "kind"),
    [
        ("queued", "task", RunStatus.PENDING, None),
        ("dispatching", "task", RunStatus.PENDING, None),
        ("running", "task", RunStatus.RUNNING, None),
        ("succeeded", "task", RunStatus.SUCCEEDED, None),
        ("partial_succeeded", "task", RunStatus.SUCCEEDED, None),
        ("failed", "task", RunStatus.FAILED, "task"),
        ("failed", "system", RunStatus.FAILED, "system"),
        ("failed", "timeout", RunStatus.FAILED, "timeout"),
        ("errored", "task", RunStatus.FAILED, "task"),
        ("canceled", "task", RunStatus.CANCELLED, None),
        ("cancelled", "task", RunStatus.CANCELLED, None),
        ("quantum_entangled", "task", RunStatus.UNKNOWN, None),
    ],
)
async def test_every_native_status_maps(
    client: RunClient,
    emulator: RunflowEmulator,
    native: str,
    planned: Any,
    status: RunStatus,
    kind: str | None,
) -> None:
    emulator.plan_next(native=native, failure=planned)
    run = await client.create(emulator.default_target)
    emulator.advance(SETTLE)
    got = await client.get(run)
    assert (got.status, got.native_status) == (status, native)
    assert (got.failure.kind if got.failure else None) == kind
    if kind is not None:
        assert got.failure is not None
        assert got.failure.message == got.raw["failure_message"]
        assert got.failure.code == got.raw["failure_code"]


async def test_a_run_reads_right_in_every_phase(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(queued=2, running=3)
    run = await client.create(emulator.default_target, inputs={"x": 1})
    assert (run.status, run.native_status, run.progress) == (
        RunStatus.PENDING,
        "queued",
        Progress(0, 3),
    )
    emulator.advance(1.5)
    assert (await client.get(run)).native_status == "dispatching"
    emulator.advance(1.5)
    running = await client.get(run)
    assert running.status is RunStatus.RUNNING and running.started_at is not None
    assert running.progress == Progress(1, 3)
    emulator.advance(10)
    done = await client.get(run)
    assert done.status is RunStatus.SUCCEEDED
    assert done.progress == Progress(3, 3)
    assert done.cost == Decimal("0.04")
    assert done.duration == 3.0
    assert done.outputs == done.raw["output"]
    assert done.inputs == {"x": 1}


@pytest.mark.parametrize(
    ("fields", "kind", "message", "code"),
    [
        ({"failure_stage_code": "dispatch", "failure_code": "X"}, "system", None, "X"),
        ({"failure_stage_code": "provider"}, "system", None, None),
        ({"failure_code": "RUN_TIMEOUT", "failure_stage_code": "dispatch"}, "timeout", None, None),
        ({"failure_code": "timed_out"}, "timeout", None, None),
        ({"failure_stage_code": "execution", "failure_message": "bad"}, "task", "bad", None),
        ({"error": {"code": "E1", "message": "sdk-style"}}, "task", "sdk-style", "E1"),
        ({}, "task", None, None),
    ],
)
async def test_failure_kind_code_and_message(
    client: RunClient,
    emulator: RunflowEmulator,
    fields: dict[str, Any],
    kind: str,
    message: str | None,
    code: str | None,
) -> None:
    run_id = str(uuid.uuid4())
    emulator.inject(200, body={"id": run_id, "status_code": "failed", **fields})
    failure = (await client.get(run_id)).failure
    assert failure is not None
    assert failure.kind == kind
    assert failure.message == message
    assert failure.code == (code if code is not None else fields.get("failure_code"))


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        ("0.25", Decimal("0.25")),
        ("+001.50", Decimal("1.50")),
        (0.25, Decimal("0.25")),
        (3, Decimal(3)),
        (None, None),
        ("<string>", None),
    ],
)
async def test_cost_reads_from_strings_and_numbers(
    client: RunClient, emulator: RunflowEmulator, cost: Any, expected: Decimal | None
) -> None:
    payload = {**json.loads(SEED.read_text()), "status_code": "succeeded", "cost": cost}
    emulator.inject(200, body=payload)
    run = await client.get(payload["id"])
    assert run.status is RunStatus.SUCCEEDED
    assert run.cost == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"id": "E8C4F5D1-1B2C-4D3E-8F90-0A1B2C3D4E5F"},
            {"id": "e8c4f5d1-1b2c-4d3e-8f90-0a1b2c3d4e5f"},
        ),
        (
            {"status_code": "queued", "started_at": "2024-01-01T00:00:00Z", "duration_ms": 5},
            {"status": RunStatus.PENDING, "finished_at": None},
        ),
        (
            {"status_code": "succeeded", "started_at": "2024-01-01T00:00:00Z", "duration_ms": 1500},
            {"finished_at": datetime(2024, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)},
        ),
        # Documented: targets by id, chosen by target_type, else by the first id present.
        ({"target_type": "model", "model_id": MODEL}, {"target": f"models/{MODEL}"}),
        ({"model_id": MODEL.upper()}, {"target": f"models/{MODEL}"}),
        (
            {"target_type": "<string>", "model_id": MODEL, "flow_id": FLOW},
            {"target": f"models/{MODEL}"},
        ),
        (
            {"comfyui_workflow_id": WORKFLOW, "flow_id": FLOW},
            {"target": f"comfyui-workflows/{WORKFLOW}"},
        ),
        (
            {"target_type": "comfyui_workflow", "comfyui_workflow_id": WORKFLOW},
            {"target": f"comfyui-workflows/{WORKFLOW}"},
        ),
        ({"flow_id": FLOW, "model_id": None}, {"target": f"flows/{FLOW}"}),
        ({"target_type": "flow", "flow_id": FLOW}, {"target": f"flows/{FLOW}"}),
        # target_type says model, and no model id: not another kind's id.
        ({"target_type": "model", "comfyui_workflow_id": WORKFLOW}, {"target": None}),
        ({"model_id": "not-a-uuid"}, {"target": None}),
        ({"model_id": 7}, {"target": None}),
        # Tolerated: an undocumented owner with the slug gives the path form ...
        (
            {"target_type": "model", "model": {"slug": "a/b", "owner": {"slug": "o"}}},
            {"target": "models/o/a/b"},
        ),
        ({"model": {"slug": "s", "owner": "o"}}, {"target": "models/o/s"}),
        ({"model": {"slug": "s", "owner_slug": "o"}}, {"target": "models/o/s"}),
        ({"comfyui_workflow": {"slug": "up", "owner": "o"}}, {"target": "comfyui-workflows/o/up"}),
        # ... but the id wins when both are there,
        ({"model_id": MODEL, "model": {"slug": "s", "owner": "o"}}, {"target": f"models/{MODEL}"}),
        # and a slug alone is not a path: where would the owner end?
        ({"target_type": "model", "model": {"slug": "acme/a/b"}}, {"target": None}),
        ({"target_type": "model", "model": {"slug": "solo"}}, {"target": None}),
        ({"target_type": "model", "model": "?"}, {"target": None}),
        ({"target_type": "flow", "flow": {"slug": "x", "owner": "o"}}, {"target": None}),
        (
            {"target_type": "comfyui_workflow", "flow": {"slug": "up", "owner": "o"}},
            {"target": None},
        ),
        ({"model": {"slug": "s/../../x", "owner": "o"}}, {"target": None}),
        ({"nodes_total": 4}, {"progress": Progress(0, 4)}),
        ({"node_runs": "not-a-list", "logs": 7, "flow": [1]}, {"status": RunStatus.UNKNOWN}),
    ],
)
async def test_payload_variants_read_tolerantly(
    client: RunClient, emulator: RunflowEmulator, payload: dict[str, Any], expected: dict[str, Any]
) -> None:
    run_id = str(uuid.uuid4())
    emulator.inject(200, body={"id": run_id, **payload})
    run = await client.get(run_id)
    for name, value in expected.items():
        assert getattr(run, name) == value


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "{id}", "created_at": "yesterday"},
        {"id": "{id}", "input": "text"},
        {"id": "{id}", "nodes_total": "many"},
        {"id": "{id}", "cost": {"amount": 1}},
        {"id": "not-a-uuid"},
        {"status_code": "queued"},
        ["not", "an", "object"],
    ],
)
async def test_malformed_payloads_are_response_errors(
    client: RunClient, emulator: RunflowEmulator, payload: Any
) -> None:
    run_id = str(uuid.uuid4())
    if isinstance(payload, dict) and payload.get("id") == "{id}":
        payload = {**payload, "id": run_id}
    emulator.inject(200, body=payload)
    with pytest.raises(ResponseError) as caught:
        await client.get(run_id)
    assert (caught.value.provider, caught.value.operation) == ("runflow", "get")


# -- targets and create -------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "models/acme/echo/v2",
        "models/bytedance/seedance/2.0/fast/text-to-video",
        "models/a_b/c.d",
        "comfyui-workflows/acme/upscale",
    ],
)
async def test_path_targets_route_and_come_back_by_id(
    client: RunClient, emulator: RunflowEmulator, target: str
) -> None:
    kind, _, name = target.partition("/")
    seeded = emulator.add_workflow(name) if kind.startswith("comfyui") else emulator.add_model(name)
    assert seeded.startswith(f"{kind}/") and seeded != target  # the id form
    run = await client.create(target)
    assert sent(emulator, "POST")[-1].path == f"/v1/{target}/runs"
    # Documented records name the target by id: that is the canonical target.
    assert run.target == seeded
    assert (await client.get(run)).target == seeded
    assert client.adapter.canonical_target(target) == seeded


@pytest.mark.parametrize(
    "target",
    [
        "",
        "models",
        "models/acme",
        "models/acme/",
        "models//echo",
        "models/acme/../echo",
        "models/acme/./echo",
        "models/acme/a%2Fb",
        "models/acme/a b",
        "models/acme/echo?x=1",
        "/models/acme/echo",
        "comfyui-workflows/acme/a/b",
        "comfyui-workflows/acme",
        "flows/acme/echo",
        f"flows/{FLOW}/x",
        f"widgets/{MODEL}",
        f"comfyui-workflows/{WORKFLOW}/x/y",
        "models/" + "a/" * 300 + "b",
    ],
)
async def test_malformed_targets_never_reach_the_wire(
    client: RunClient, emulator: RunflowEmulator, target: str
) -> None:
    seen = len(emulator.requests)
    for attempt in (lambda: client.create(target), lambda: client.list_page(target=target)):
        with pytest.raises(InvalidRequest) as caught:
            await attempt()
        assert caught.value.field == "target"
        if target:  # an empty target is refused by the core before the adapter sees it
            assert "models/<owner>/<slug>" in str(caught.value)
    assert len(emulator.requests) == seen


async def test_create_sends_input_and_options(client: RunClient, emulator: RunflowEmulator) -> None:
    run = await client.create(
        emulator.default_target,
        inputs={"prompt": "a cat"},
        metadata={"job": 7},
        callback_url="https://example.invalid/hook",
        client_ref="order-7",
    )
    body = sent(emulator, "POST")[-1].body
    # The caller's client_ref is kept; the exactly-once token goes into metadata.
    token = body["metadata"].pop("runbridge_token")
    assert re.fullmatch(r"[0-9a-f]{16}", token)
    assert body == {
        "input": {"prompt": "a cat"},
        "metadata": {"job": 7},
        "callback_url": "https://example.invalid/hook",
        "client_ref": "order-7",
    }
    assert (run.raw["metadata"]["job"], run.raw["client_ref"]) == (7, "order-7")
    assert run.inputs == {"prompt": "a cat"}


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"options": {"webhook": "x"}}, "options.webhook"),
        ({"options": {"metadata": "x"}}, "options.metadata"),
        ({"options": {"client_ref": 5}}, "options.client_ref"),
        ({"files": (runbridge.File("a.png", content=b"x"),)}, "files"),
    ],
)
async def test_what_runflow_cannot_take_is_refused_locally(
    client: RunClient, emulator: RunflowEmulator, request_fields: dict[str, Any], field: str
) -> None:
    seen = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        await client.create(RunRequest(target=emulator.default_target, **request_fields))
    assert caught.value.field == field
    assert len(emulator.requests) == seen


async def test_secrets_are_refused_because_runflow_has_no_vault(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    seen = len(emulator.requests)
    request = RunRequest(target=emulator.default_target, secrets={"password": "hunter2-secret"})
    with pytest.raises(InvalidRequest) as caught:
        await client.create(request)
    assert caught.value.field == "secrets"
    assert "hunter2-secret" not in str(caught.value)
    assert len(emulator.requests) == seen


async def test_the_run_name_travels_in_metadata(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    run = await client.create(
        emulator.default_target, name="invoice 42", metadata={"team": "billing"}
    )
    assert run.name == "invoice 42"
    assert run.raw["metadata"] == {"team": "billing", "name": "invoice 42"}
    assert (await client.get(run)).name == "invoice 42"
    with pytest.raises(InvalidRequest) as caught:
        await client.create(emulator.default_target, name="a", metadata={"name": "b"})
    assert caught.value.field == "name"


async def test_provider_validation_errors_name_the_field(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    target = emulator.add_model("acme/strict", required=("prompt",))
    with pytest.raises(InvalidRequest) as caught:
        await client.create(target, inputs={"negative": "x"})
    assert (caught.value.status, caught.value.field) == (422, "input.prompt")
    assert "Field required" in str(caught.value)


# -- listing ------------------------------------------------------------------------------


async def make_runs(client: RunClient, target: str, count: int) -> list[str]:
    return [(await client.create(target, inputs={"i": i})).id for i in range(count)]


@pytest.mark.parametrize(
    ("count", "size", "shape"),
    [(7, 3, [3, 3, 1]), (0, 3, [0]), (3, 3, [3]), (4, 500, [4])],
)
async def test_list_pages(
    client: RunClient, emulator: RunflowEmulator, count: int, size: int, shape: list[int]
) -> None:
    ids = await make_runs(client, emulator.default_target, count)
    pages = [page async for page in client.list(page_size=size).pages()]
    assert [len(p.items) for p in pages] == shape
    assert [r.id for p in pages for r in p.items] == ids[::-1]
    assert pages[-1].next_cursor is None
    first = sent(emulator, "GET", "/v1/runs")[0]
    assert (first.param("limit"), first.param("sort_by")) == (str(size), "created_at:desc")


@pytest.mark.parametrize("style", ["token", "path", "url", "pq"])
async def test_list_follows_every_cursor_style(style: Any) -> None:
    emulator = RunflowEmulator(cursor_style=style)
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        ids = await make_runs(client, emulator.default_target, 5)
        first = await client.list_page(page_size=2)
        rest = [r.id async for r in client.list(page_size=2, cursor=first.next_cursor)]
    assert [r.id for r in first.items] + rest == ids[::-1]
    cursors = [r.param("pq") for r in sent(emulator, "GET", "/v1/runs")]
    assert cursors[0] is None and all(cursors[1:]) and len(set(cursors)) == 3


@pytest.mark.parametrize(
    "answer",
    [
        {"items": [], "next": "/v1/runs?limit=2"},
        {"items": [], "next": "https://api.runflow.io/v1/runs"},
        {"items": 5, "next": None},
        {"next": None},
        {"items": [{"id": "not-a-uuid"}], "next": None},
    ],
)
async def test_unusable_pages_are_response_errors(
    client: RunClient, emulator: RunflowEmulator, answer: Any
) -> None:
    emulator.inject(200, body=answer)
    with pytest.raises(ResponseError) as caught:
        await client.list_page()
    assert caught.value.operation == "list"


@pytest.mark.parametrize(
    "link",
    [
        "/v1/runs?limit=9&q=x&pq=abc&from_prev=true",
        "https://elsewhere.invalid/v1/runs?pq=abc&from_prev=true&sort_by=id",
    ],
)
async def test_next_links_give_only_their_cursor(
    client: RunClient, emulator: RunflowEmulator, link: str
) -> None:
    emulator.inject(200, body={"items": [], "next": link})
    first = await client.list_page(page_size=2)
    emulator.inject(200, body={"items": [], "next": None})
    await client.list_page(page_size=2, cursor=first.next_cursor)
    follow = sent(emulator, "GET", "/v1/runs")[-1]
    assert dict(follow.query) == {
        "sort_by": "created_at:desc",
        "limit": "2",
        "pq": "abc",
        "from_prev": "true",
    }
    assert all(r.path.startswith("/v1/") for r in emulator.log)


async def test_a_cursor_that_does_not_move_is_an_error(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.inject(200, body={"items": [], "next": "same"})
    first = await client.list_page()
    emulator.inject(200, body={"items": [], "next": "same"})
    with pytest.raises(ResponseError):
        await client.list_page(cursor=first.next_cursor)


async def test_status_filters_go_to_the_server_as_q(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    target = emulator.default_target
    emulator.plan_next(queued=0, running=1)
    done = await client.create(target)
    emulator.advance(5)
    for _ in range(3):  # the newest runs do not match: only a server filter fills the page
        emulator.plan_next(queued=10_000)
        await client.create(target)
    page = await client.list_page(status="succeeded", page_size=1)
    assert [r.ref for r in page.items] == [done.ref]
    q = sent(emulator, "GET", "/v1/runs")[-1].param("q")
    assert q == "status_code:succeeded OR status_code:partial_succeeded"


async def test_pending_matches_queued_and_dispatching(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(queued=10)
    dispatching = await client.create(emulator.default_target)
    emulator.advance(6)
    emulator.plan_next(queued=10)
    queued = await client.create(emulator.default_target)
    natives = {r.native_status: r.ref async for r in client.list(status=RunStatus.PENDING)}
    assert natives == {"queued": queued.ref, "dispatching": dispatching.ref}
    q = sent(emulator, "GET", "/v1/runs")[-1].param("q")
    assert q == "status_code:queued OR status_code:dispatching"


async def test_an_unknown_status_filter_applies_client_side(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    other = emulator.add_model("acme/other")
    emulator.plan_next(native="mystery", queued=0, running=0)
    odd = await client.create(other)
    await client.create(emulator.default_target)
    emulator.advance(1)
    assert [r.ref async for r in client.list(status="unknown")] == [odd.ref]
    assert all(r.param("q") is None for r in sent(emulator, "GET", "/v1/runs"))


# -- errors and auth ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "checks"),
    [
        (401, {"code": "UNAUTHORIZED", "message": "no"}, {}, AuthError, {}),
        (403, {"code": "PERMISSION_DENIED", "message": "no"}, {}, AuthError, {}),
        (403, {"code": "EMAIL_NOT_VERIFIED", "message": "verify"}, {}, AuthError, {}),
        (402, {"code": "INSUFFICIENT_CREDIT", "message": "top up"}, {}, AuthError, {}),
        (404, {"code": "RUN_NOT_FOUND", "message": "gone", "errors": None}, {}, NotFound, {}),
        (409, {"code": "CONFLICT", "message": "race"}, {}, Conflict, {}),
        (
            422,
            {"code": "VALIDATION_ERROR", "message": "bad", "errors": [{"loc": ["query", "limit"]}]},
            {},
            InvalidRequest,
            {"field": "limit"},
        ),
        (
            422,
            {"code": "X", "message": "bad", "errors": [{"field": "input.seed", "message": "int"}]},
            {},
            InvalidRequest,
            {"field": "input.seed"},
        ),
        (
            422,
            {"message": "bad", "errors": [{"path": ["body", "items", 0, "input"]}]},
            {},
            InvalidRequest,
            {"field": "items.0.input"},
        ),
        (400, {"code": "BAD_REQUEST", "message": "shape"}, {}, InvalidRequest, {"field": None}),
        (
            429,
            {"code": "RATE_LIMITED", "message": "slow"},
            {"Retry-After": "3"},
            RateLimited,
            {"retry_after": 3.0},
        ),
        (429, {"code": "RATE_LIMITED", "message": "slow"}, {}, RateLimited, {"retry_after": None}),
        (400, {"code": "RATE_LIMITED", "message": "slow"}, {}, RateLimited, {}),
        (500, {"code": "INTERNAL_ERROR", "message": "oops"}, {}, ProviderUnavailable, {}),
        (503, {"code": "MODEL_UNAVAILABLE", "message": "later"}, {}, ProviderUnavailable, {}),
        (404, {"error": {"code": "RUN_NOT_FOUND", "message": "sdk"}}, {}, NotFound, {}),
        (418, {"error": "teapot"}, {}, ResponseError, {}),
    ],
)
async def test_errors_map_from_code_and_status(
    once: RunClient,
    emulator: RunflowEmulator,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
    error: type[Exception],
    checks: dict[str, Any],
) -> None:
    emulator.inject(status, body=body, headers=headers)
    with pytest.raises(error) as caught:
        await once.get(emulator.unknown_id())
    exc = caught.value
    assert isinstance(exc, runbridge.RunbridgeError)
    assert (exc.provider, exc.status) == ("runflow", status)
    message = body.get("message") or body["error"]
    assert (message if isinstance(message, str) else message["message"]) in str(exc)
    for name, value in checks.items():
        assert getattr(exc, name) == value


async def test_real_auth_and_not_found_answers(emulator: RunflowEmulator) -> None:
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        with pytest.raises(NotFound) as missing:
            await client.get(emulator.unknown_id())
    assert "RUN_NOT_FOUND" in str(missing.value)
    async with (
        emulator.serve() as base_url,
        runbridge.connect(
            "runflow", token="rf_live_wrong", base_url=base_url, options=testing_options()
        ) as client,
    ):
        with pytest.raises(AuthError) as refused:
            await client.get(emulator.unknown_id())
    assert refused.value.status == 401 and "UNAUTHORIZED" in str(refused.value)


async def test_organization_id_is_sent_and_scopes_runs(emulator: RunflowEmulator) -> None:
    org = str(uuid.uuid4())
    async with emulated_client("runflow", emulator=emulator, organization_id=org) as (client, _):
        run = await client.create(emulator.default_target)
        assert emulator.log[-1].header("x-organization-id") == org
        assert run.raw["org_id"] == org
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        with pytest.raises(NotFound):
            await client.get(run)
        assert emulator.log[-1].header("x-organization-id") is None
        assert [r async for r in client.list()] == []
