"""The Runflow emulator speaks the API described in runflow.md, checked over raw HTTP.

By default it serves the documented shapes and nothing more; the fields it may
serve are taken from the documented reference payload, not restated here.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from runbridge import RunStatus
from runbridge.emulation import MASK, Plan
from runbridge.testing import RawClient, raw_client
from runbridge_runflow.emulator import RunflowEmulator

SEED = json.loads(
    (
        Path(__file__).parent / "data" / "documented" / "runflow" / "patch-run.response.json"
    ).read_text()
)
NEWER_FIELDS = {
    "cost_breakdown",
    "resolved_template_id",
    "batch_id",
    "client_ref",
    "failure_code",
    "failure_message",
    "failure_stage_code",
    "feedback_is_positive",
    "feedback_reason",
    "source_chat_message_id",
    "current_evaluation_summary",
}
RUN_FIELDS = set(SEED) | NEWER_FIELDS
"""Every documented field of a run: the reference payload's and the newer pages' (facts §4)."""
MODEL_KEYS = set(SEED["model"])
NODE_RUN_KEYS = set(SEED["node_runs"][0])
LOG_KEYS = set(SEED["logs"][0])

MODEL_RUNS = "/v1/models/acme/echo/v1/runs"


@pytest.fixture
def provider() -> str:
    return "runflow"


async def create_run(api: RawClient, **body: Any) -> dict[str, Any]:
    """Create a run of the default model with ``body``; its JSON."""
    status, run = await api("POST", MODEL_RUNS, json=body)
    assert status == 201, run
    return dict(run)


async def get_run(api: RawClient, run_id: str) -> dict[str, Any]:
    """The JSON of run ``run_id``."""
    status, run = await api("GET", f"/v1/runs/{run_id}")
    assert status == 200, run
    return dict(run)


def assert_error(body: Any, code: str) -> None:
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    assert body["message"]


# -- auth and errors ----------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", "Basic {token}", "Bearer"])
async def test_requests_without_a_valid_key_are_unauthorized(
    api: RawClient, emulator: RunflowEmulator, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header.format(token=emulator.token)}
    answer = await api("GET", "/v1/runs", headers=headers, auth=False)
    assert answer.status == 401
    assert answer.headers["Content-Type"].startswith("application/json")
    assert_error(answer.body, "UNAUTHORIZED")


async def test_unknown_runs_ids_and_other_orgs_runs_are_refused(api: RawClient) -> None:
    run = await create_run(api)
    status, body = await api("GET", f"/v1/runs/{uuid.uuid4()}")
    assert (status, body["code"]) == (404, "RUN_NOT_FOUND")
    other_org = {"X-Organization-Id": str(uuid.uuid4())}
    status, body = await api("GET", f"/v1/runs/{run['id']}", headers=other_org)
    assert (status, body["code"]) == (404, "RUN_NOT_FOUND")
    status, body = await api("GET", "/v1/runs/not-a-uuid")
    assert (status, body["errors"][0]["loc"]) == (422, ["path", "id"])


async def test_there_is_no_delete(api: RawClient) -> None:
    run = await create_run(api)
    status, body = await api("DELETE", f"/v1/runs/{run['id']}")
    assert status == 405
    assert_error(body, "METHOD_NOT_ALLOWED")


async def test_injected_faults_use_the_documented_error_body(
    api: RawClient, emulator: RunflowEmulator
) -> None:
    emulator.inject(429)
    status, body = await api("GET", "/v1/runs")
    assert status == 429
    assert_error(body, "RATE_LIMITED")


# -- create and lifecycle -----------------------------------------------------------------


async def test_create_returns_the_full_run_queued(
    api: RawClient, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(queued=0, running=0)  # even a run that starts at once
    run = await create_run(
        api,
        input={"prompt": "hi"},
        metadata={"k": "v"},
        callback_url="https://example.invalid/hook",
        client_ref="ref-1",
    )
    assert set(run) == RUN_FIELDS
    assert run["status_code"] == "queued"
    assert uuid.UUID(run["id"]).version == 7
    assert run["created_at"].endswith("+00:00")
    assert (run["started_at"], run["completed_at"], run["cost"]) == (None, None, None)
    assert (run["input"], run["metadata"]) == ({"prompt": "hi"}, {"k": "v"})
    assert (run["callback_url"], run["client_ref"]) == ("https://example.invalid/hook", "ref-1")
    assert run["target_type"] == "model"
    assert run["model_id"] == run["model"]["id"] == emulator.default_target.split("/")[1]
    assert set(run["model"]) <= MODEL_KEYS and "owner" not in run["model"]
    assert (run["comfyui_workflow_id"], run["flow_id"], run["flow"]) == (None, None, None)
    assert run["org_id"] == emulator.organization_id


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"input": "text"}, ["body", "input"]),
        ({"input": {"prompt": "p"}, "client_ref": 5}, ["body", "client_ref"]),
        ({"input": {"a": 1}}, ["body", "input", "prompt"]),
    ],
)
async def test_create_validates_its_body(
    api: RawClient, emulator: RunflowEmulator, body: dict[str, Any], loc: list[str]
) -> None:
    emulator.add_model("acme/strict", required=("prompt",))
    status, answer = await api("POST", "/v1/models/acme/strict/runs", json=body)
    assert status == 422
    assert answer["code"] == "VALIDATION_ERROR"
    assert answer["errors"][0]["loc"] == loc


async def test_unknown_models_are_not_found(api: RawClient) -> None:
    status, body = await api("POST", "/v1/models/acme/missing/runs", json={"input": {}})
    assert (status, body["code"]) == (404, "MODEL_NOT_FOUND")


async def test_a_run_goes_through_every_phase_on_the_clock(
    api: RawClient, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(queued=2, running=4)
    run_id = (await create_run(api))["id"]
    seen = []
    for step in (0, 1.5, 1, 1, 10):
        emulator.advance(step)
        seen.append(await get_run(api, run_id))
    assert [r["status_code"] for r in seen] == [
        "queued",
        "dispatching",
        "running",
        "running",
        "succeeded",
    ]
    assert seen[1]["started_at"] is None and seen[2]["started_at"] is not None
    assert seen[2]["nodes_completed"] < seen[3]["nodes_completed"] < seen[4]["nodes_completed"]
    done = seen[-1]
    assert done["nodes_completed"] == done["nodes_total"] == 3
    assert done["duration_ms"] == 4000
    assert done["cost"] == "0.04"
    assert done["completed_at"].endswith("+00:00")
    assert [log["message"] for log in done["logs"]][-1] == "Run succeeded"
    assert {node["state_code"] for node in done["node_runs"]} == {"succeeded"}


@pytest.mark.parametrize(
    ("plan", "status", "failure", "cost"),
    [
        (Plan(), "succeeded", (None, None), "0.04"),
        (Plan(outcome=RunStatus.FAILED), "failed", ("MODEL_ERROR", "execution"), "0"),
        (
            Plan(outcome=RunStatus.FAILED, failure="system"),
            "failed",
            ("DISPATCH_FAILED", "dispatch"),
            "0",
        ),
        (
            Plan(outcome=RunStatus.FAILED, failure="timeout"),
            "failed",
            ("TIMEOUT", "execution"),
            "0",
        ),
        (Plan(outcome=RunStatus.CANCELLED), "canceled", (None, None), None),
        (Plan(native="partial_succeeded"), "partial_succeeded", (None, None), "0.04"),
        # An undocumented status a test asks for is served verbatim, and nothing more.
        (Plan(native="errored"), "errored", (None, None), None),
    ],
)
async def test_plans_end_in_their_native_outcome(
    api: RawClient,
    emulator: RunflowEmulator,
    plan: Plan,
    status: str,
    failure: tuple[str | None, str | None],
    cost: str | None,
) -> None:
    emulator.plan_next(plan)
    run_id = (await create_run(api))["id"]
    emulator.advance(60)
    run = await get_run(api, run_id)
    assert run["status_code"] == status
    assert (run["failure_code"], run["failure_stage_code"]) == failure
    assert (run["failure_message"] is not None) == (failure[0] is not None)
    assert run["cost"] == cost


async def test_workflow_runs_name_their_workflow(api: RawClient, emulator: RunflowEmulator) -> None:
    emulator.add_workflow("acme/upscale")
    status, run = await api("POST", "/v1/comfyui-workflows/acme/upscale/runs", json={})
    assert status == 201
    assert run["target_type"] == "comfyui_workflow"
    assert run["comfyui_workflow_id"] == emulator.targets["comfyui-workflows/acme/upscale"].id
    assert run["model"] is None and "comfyui_workflow" not in run
    status, page = await api("GET", "/v1/comfyui-workflows/acme/upscale/runs")
    assert [r["id"] for r in page["items"]] == [run["id"]]


# -- listing ------------------------------------------------------------------------------


async def test_list_pages_with_cursors_both_ways(api: RawClient) -> None:
    ids = [(await create_run(api, input={"i": i}))["id"] for i in range(5)]
    pages, params = [], {"limit": "2"}
    while True:
        status, page = await api("GET", "/v1/runs", params=params)
        assert status == 200 and set(page) == {"items", "first", "next", "previous"}
        pages.append(page)
        if page["next"] is None:
            break
        params = {"limit": "2", "pq": page["next"]}
    assert [[r["id"] for r in p["items"]] for p in pages] == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    assert pages[0]["previous"] is None
    back = {"limit": "2", "pq": pages[1]["previous"], "from_prev": "true"}
    _, page = await api("GET", "/v1/runs", params=back)
    assert page["items"] == pages[0]["items"]
    _, oldest_first = await api("GET", "/v1/runs", params={"sort_by": "created_at:asc"})
    assert [r["id"] for r in oldest_first["items"]] == ids


@pytest.mark.parametrize(
    ("style", "key", "shape"),
    [
        ("token", "next", lambda v, base: "/" not in v),
        ("path", "next", lambda v, base: v.startswith("/v1/runs?") and "pq=" in v),
        ("url", "next", lambda v, base: v.startswith(base + "/v1/runs?")),
        ("pq", "next_pq", lambda v, base: "/" not in v),
    ],
)
async def test_cursor_styles(emulator: RunflowEmulator, style: str, key: str, shape: Any) -> None:
    emulator.cursor_style = style  # type: ignore[assignment]
    async with raw_client(emulator) as api:
        base_url = api.base_url
        for _ in range(3):
            await create_run(api)
        status, page = await api("GET", "/v1/runs", params={"limit": "2"})
    assert status == 200
    assert shape(page[key], base_url)


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": "0"}, ["query", "limit"]),
        ({"limit": "501"}, ["query", "limit"]),
        ({"limit": "many"}, ["query", "limit"]),
        ({"pq": "garbage"}, ["query", "pq"]),
        ({"q": "colour:red"}, ["query", "q"]),
        ({"q": "(status_code:queued)"}, ["query", "q"]),
        ({"q": "status_code"}, ["query", "q"]),
        ({"sort_by": "cost:asc"}, ["query", "sort_by"]),
        ({"from_prev": "maybe"}, ["query", "from_prev"]),
    ],
)
async def test_list_rejects_bad_parameters(
    api: RawClient, params: dict[str, str], loc: list[str]
) -> None:
    status, body = await api("GET", "/v1/runs", params=params)
    assert status == 422
    assert body["code"] == "VALIDATION_ERROR"
    assert body["errors"][0]["loc"] == loc


async def test_q_filters_on_status_with_or_and_not(
    api: RawClient, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(queued=0, running=1)
    done = (await create_run(api))["id"]
    emulator.advance(5)
    emulator.plan_next(queued=100)
    waiting = (await create_run(api, client_ref="w"))["id"]

    async def ids(q: str) -> set[str]:
        status, page = await api("GET", "/v1/runs", params={"q": q})
        assert status == 200, page
        return {r["id"] for r in page["items"]}

    assert await ids("status_code:succeeded") == {done}
    assert await ids("status_code:queued OR status_code:succeeded") == {done, waiting}
    assert await ids("NOT status_code:succeeded") == {waiting}
    assert await ids('status_code:queued AND client_ref="w"') == {waiting}
    assert await ids("status_code=running") == set()


async def test_statuses_lists_the_documented_enum(api: RawClient) -> None:
    status, rows = await api("GET", "/v1/runs/statuses")
    assert status == 200
    assert [row["code"] for row in rows] == [
        "queued",
        "dispatching",
        "running",
        "succeeded",
        "failed",
        "canceled",
        "partial_succeeded",
    ]


# -- patch and cancellation ---------------------------------------------------------------


async def test_patch_merges_only_the_fields_given(
    api: RawClient, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(queued=100)
    run = await create_run(api, input={"a": 1})
    body = {"status_code": "running", "cost": 1.5, "nodes_completed": 2, "colour": "red"}
    status, patched = await api("PATCH", f"/v1/runs/{run['id']}", json=body)
    assert status == 200
    assert (patched["status_code"], patched["cost"], patched["nodes_completed"]) == (
        "running",
        "1.5",
        2,
    )
    assert patched["started_at"] is not None and "colour" not in patched
    assert patched["input"] == {"a": 1} and patched["nodes_total"] == 3
    emulator.advance(1000)  # a patched status is no longer moved by the clock
    assert (await get_run(api, run["id"]))["status_code"] == "running"
    finish = {"status_code": "succeeded", "completed_at": "2030-01-01T00:00:00Z", "cost": "2.50"}
    _, finished = await api("PATCH", f"/v1/runs/{run['id']}", json=finish)
    assert finished["completed_at"] == "2030-01-01T00:00:00+00:00"
    assert (finished["status_code"], finished["cost"]) == ("succeeded", "2.50")


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"cost": "cheap"}, ["body", "cost"]),
        ({"nodes_total": -1}, ["body", "nodes_total"]),
        ({"started_at": "yesterday"}, ["body", "started_at"]),
        ({"output": [1]}, ["body", "output"]),
        ({"status_code": 3}, ["body", "status_code"]),
    ],
)
async def test_patch_validates_fields(api: RawClient, body: dict[str, Any], loc: list[str]) -> None:
    run = await create_run(api)
    status, answer = await api("PATCH", f"/v1/runs/{run['id']}", json=body)
    assert status == 422
    assert answer["errors"][0]["loc"] == loc


async def test_admin_cancellation(api: RawClient, emulator: RunflowEmulator) -> None:
    emulator.plan_next(queued=100)
    run = await create_run(api)
    path = f"/v1/admin/runs/{run['id']}/cancellation"
    status, body = await api("POST", path)
    assert (status, body["code"]) == (403, "PERMISSION_DENIED")
    status, cancelled = await api("POST", path, token=emulator.admin_token, json={"reason": "why"})
    assert (status, cancelled["status_code"]) == (201, "canceled")
    assert cancelled["completed_at"] is not None and cancelled["started_at"] is None
    status, again = await api("POST", path, token=emulator.admin_token)
    assert (status, again) == (200, cancelled)
    status, body = await api("POST", path, token=emulator.admin_token, json={"reason": "x"})
    assert (status, body["errors"][0]["loc"]) == (422, ["body", "reason"])


async def test_admin_cancellation_leaves_finished_runs_unchanged(
    api: RawClient, emulator: RunflowEmulator
) -> None:
    run = await create_run(api)
    emulator.advance(60)
    finished = await get_run(api, run["id"])
    path = f"/v1/admin/runs/{run['id']}/cancellation"
    status, body = await api("POST", path, token=emulator.admin_token)
    assert (status, body) == (200, finished)
    assert body["status_code"] == "succeeded"


# -- batches ------------------------------------------------------------------------------

BATCHES = "/v1/models/acme/echo/v1/batches"


async def test_batches_create_runs_and_replay_by_idempotency_key(
    api: RawClient, emulator: RunflowEmulator
) -> None:
    body = {"items": [{"input": {"i": 0}, "client_ref": "a"}, {"input": {"i": 1}}]}
    key = {"Idempotency-Key": "k-1"}
    status, batch = await api("POST", BATCHES, json=body, headers=key)
    assert status == 201
    assert set(batch) == {"id", "status_code", "items_total"}
    assert (batch["status_code"], batch["items_total"]) == ("queued", 2)
    status, replay = await api("POST", BATCHES, json=body, headers=key)
    assert (status, replay) == (201, batch)
    assert len(emulator.runs) == 2
    status, clash = await api("POST", BATCHES, json={"items": [{"input": {}}]}, headers=key)
    assert (status, clash["code"]) == (409, "CONFLICT")
    status, other = await api("POST", BATCHES, json=body, headers={"Idempotency-Key": "k-2"})
    assert status == 201 and other["id"] != batch["id"]
    assert len(emulator.runs) == 4


async def test_batch_items_embed_their_runs(api: RawClient, emulator: RunflowEmulator) -> None:
    body = {"items": [{"input": {"i": i}, "client_ref": f"r{i}"} for i in range(3)]}
    _, batch = await api("POST", BATCHES, json=body)
    status, page = await api("GET", f"/v1/batches/{batch['id']}/items", params={"limit": "2"})
    assert status == 200
    _, rest = await api(
        "GET", f"/v1/batches/{batch['id']}/items", params={"limit": "2", "pq": page["next"]}
    )
    items = page["items"] + rest["items"]
    assert [i["sequence_index"] for i in items] == [0, 1, 2]
    assert [i["client_ref"] for i in items] == ["r0", "r1", "r2"]
    assert all(i["run"]["id"] == i["run_id"] == emulator.runs[i["run_id"]].id for i in items)
    assert all(i["run"]["batch_id"] == batch["id"] for i in items)
    status, one = await api("GET", f"/v1/batches/{batch['id']}/items/{items[1]['id']}")
    assert (status, one["run_id"]) == (200, items[1]["run_id"])
    emulator.advance(60)
    _, detail = await api("GET", f"/v1/batches/{batch['id']}")
    assert detail == {
        "id": batch["id"],
        "status_code": "succeeded",
        "items_total": 3,
        "cancelled": 0,
    }


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/v1/models/acme/plain/batches", {"items": [{"input": {}}]}, (422, "VALIDATION_ERROR")),
        ("/v1/models/acme/none/batches", {"items": [{"input": {}}]}, (404, "MODEL_NOT_FOUND")),
        ("/v1/comfyui-workflows/acme/flow/batches", {"items": []}, (404, "NOT_FOUND")),
        (BATCHES, {"items": []}, (422, "VALIDATION_ERROR")),
        (BATCHES, {"items": [{"input": 1}]}, (422, "VALIDATION_ERROR")),
    ],
)
async def test_batches_refuse_what_they_cannot_take(
    api: RawClient, emulator: RunflowEmulator, path: str, body: Any, expected: tuple[int, str]
) -> None:
    emulator.add_model("acme/plain", template_backed=False)
    emulator.add_workflow("acme/flow")
    status, answer = await api("POST", path, json=body)
    assert (status, answer["code"]) == expected
    assert emulator.runs == {}


async def test_batches_take_any_number_of_items_unless_limited(emulator: RunflowEmulator) -> None:
    limited = RunflowEmulator(max_batch_items=2)
    for served, expected in ((emulator, 201), (limited, 422)):
        async with raw_client(served) as api:
            status, body = await api("POST", BATCHES, json={"items": [{"input": {}}] * 3})
        assert status == expected, body
    with pytest.raises(ValueError, match="max_batch_items"):
        RunflowEmulator(max_batch_items=0)


# -- the documented shape, and what only extras add -----------------------------------------


async def test_nested_records_carry_only_documented_keys(
    api: RawClient, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(outcome=RunStatus.FAILED, failure="system")
    run_id = (await create_run(api))["id"]
    emulator.advance(60)
    run = await get_run(api, run_id)
    assert set(run) == RUN_FIELDS
    assert run["node_runs"] and all(set(n) == NODE_RUN_KEYS for n in run["node_runs"])
    assert run["logs"] and all(set(entry) == LOG_KEYS for entry in run["logs"])
    assert run["links"] == {}
    assert run["created_at"].endswith("+00:00") and run["completed_at"].endswith("+00:00")


async def test_extras_add_owners_only_when_asked() -> None:
    with pytest.raises(ValueError, match="no extra 'owner'"):
        RunflowEmulator(extras={"owner"})
    emulator = RunflowEmulator(extras={"model_owner", "comfyui_workflow"})
    emulator.add_workflow("acme/upscale")
    async with raw_client(emulator) as api:
        model_run = await create_run(api)
        status, workflow_run = await api("POST", "/v1/comfyui-workflows/acme/upscale/runs")
    assert status == 201
    assert set(model_run) == RUN_FIELDS | {"comfyui_workflow"}
    assert (model_run["model"]["owner"], model_run["model"]["slug"]) == ("acme", "echo/v1")
    assert model_run["comfyui_workflow"] is None
    workflow = workflow_run["comfyui_workflow"]
    assert (workflow["owner"], workflow["slug"]) == ("acme", "upscale")
    assert workflow["id"] == workflow_run["comfyui_workflow_id"]


@pytest.mark.parametrize("kind", ["models", "comfyui-workflows"])
async def test_targets_are_accepted_by_id_as_assumed(
    api: RawClient, emulator: RunflowEmulator, kind: str
) -> None:
    target = emulator.default_target if kind == "models" else emulator.add_workflow("acme/up")
    ident = target.split("/")[1]
    status, run = await api("POST", f"/v1/{kind}/{ident.upper()}/runs", json={"input": {}})
    assert status == 201
    assert run["model_id" if kind == "models" else "comfyui_workflow_id"] == ident
    assert emulator.path_of(target) == (
        "models/acme/echo/v1" if kind == "models" else "comfyui-workflows/acme/up"
    )
    status, body = await api("POST", f"/v1/{kind}/{uuid.uuid4()}/runs", json={"input": {}})
    assert (status, body["code"]) == (404, "MODEL_NOT_FOUND")


async def test_batches_are_accepted_by_model_id(api: RawClient, emulator: RunflowEmulator) -> None:
    path = f"/v1/{emulator.default_target}/batches"
    status, batch = await api("POST", path, json={"items": [{"input": {}}]})
    assert (status, batch["items_total"]) == (201, 1)


async def test_query_fields_narrow_what_q_may_filter_on() -> None:
    emulator = RunflowEmulator(query_fields={"status_code", "model_id"})
    async with raw_client(emulator) as api:
        await create_run(api, client_ref="r1")
        status, body = await api("GET", "/v1/runs", params={"q": 'client_ref:"r1"'})
        assert (status, body["errors"][0]["loc"]) == (422, ["query", "q"])
        assert "client_ref" in body["errors"][0]["msg"]
        status, page = await api("GET", "/v1/runs", params={"q": "status_code:queued"})
        assert (status, len(page["items"])) == (200, 1)


async def test_every_documented_status_can_be_forced(
    api: RawClient, emulator: RunflowEmulator
) -> None:
    run_id = (await create_run(api))["id"]
    for native in emulator.statuses.documented:
        emulator.force_status(run_id, native)
        assert (await get_run(api, run_id))["status_code"] == native
    with pytest.raises(ValueError, match="not a documented runflow status"):
        emulator.force_status(run_id, "cancelled")
    emulator.force_status(run_id, "errored", undocumented=True)
    assert (await get_run(api, run_id))["status_code"] == "errored"


async def test_the_log_masks_both_keys(api: RawClient, emulator: RunflowEmulator) -> None:
    await create_run(api, input={"prompt": "p"})
    await api("GET", "/v1/runs", token=emulator.admin_token, headers={"X-Organization-Id": "o"})
    create, listing = emulator.log
    assert (create.method, create.path, create.body) == (
        "POST",
        MODEL_RUNS,
        {"input": {"prompt": "p"}},
    )
    assert create.header("authorization") == listing.header("authorization") == MASK
    assert listing.header("x-organization-id") == "o"
    assert emulator.requests == [("POST", MODEL_RUNS), ("GET", "/v1/runs")]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "UNAUTHORIZED"),
        (402, "INSUFFICIENT_CREDIT"),
        (403, "PERMISSION_DENIED"),
        (404, "RUN_NOT_FOUND"),
        (409, "CONFLICT"),
        (422, "VALIDATION_ERROR"),
        (429, "RATE_LIMITED"),
        (500, "INTERNAL_ERROR"),
        (503, "SERVICE_UNAVAILABLE"),
    ],
)
async def test_injected_errors_carry_a_code_for_their_status(
    api: RawClient, emulator: RunflowEmulator, status: int, code: str
) -> None:
    emulator.inject(status)
    answer, body = await api("GET", "/v1/runs")
    assert answer == status
    assert_error(body, code)


async def test_unrouted_paths_and_unavailable_models(
    api: RawClient, emulator: RunflowEmulator
) -> None:
    status, body = await api("GET", "/v1/nothing-here")
    assert status == 404
    assert_error(body, "NOT_FOUND")
    emulator.add_model("acme/down", available=False)
    status, body = await api("POST", "/v1/models/acme/down/runs", json={})
    assert status == 503
    assert_error(body, "MODEL_UNAVAILABLE")
    assert emulator.runs == {}
