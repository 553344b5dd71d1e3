"""The Runflow emulator speaks the API described in runflow.md, checked over raw HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from runbridge import RunStatus
from runbridge.emulation import Plan
from runbridge_runflow import RunflowEmulator

RUN_FIELDS = {
    "id",
    "flow_id",
    "model_id",
    "comfyui_workflow_id",
    "org_id",
    "flow_version_id",
    "created_by",
    "target_type",
    "target_version",
    "status_code",
    "source_code",
    "jurisdiction_code",
    "request_id",
    "callback_url",
    "input",
    "output",
    "context",
    "metadata",
    "links",
    "duration_ms",
    "nodes_total",
    "nodes_completed",
    "cost",
    "created_at",
    "started_at",
    "completed_at",
    "has_logs",
    "has_node_runs",
    "node_runs",
    "logs",
    "flow",
    "model",
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
"""Every documented field of a run (runflow.md section 4)."""

MODEL_RUNS = "/v1/models/acme/echo/v1/runs"


class Api:
    """A raw HTTP client of the served emulator."""

    def __init__(self, session: aiohttp.ClientSession, emulator: RunflowEmulator) -> None:
        self.session = session
        self.emulator = emulator

    async def __call__(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        sent = {"Authorization": f"Bearer {token or self.emulator.token}", **(headers or {})}
        async with self.session.request(method, path, headers=sent, **kwargs) as response:
            return response.status, await response.json()

    async def create(self, **body: Any) -> dict[str, Any]:
        status, run = await self("POST", MODEL_RUNS, json=body)
        assert status == 201, run
        return dict(run)

    async def run(self, run_id: str) -> dict[str, Any]:
        status, run = await self("GET", f"/v1/runs/{run_id}")
        assert status == 200, run
        return dict(run)


@pytest.fixture
def emulator() -> RunflowEmulator:
    return RunflowEmulator()


@pytest.fixture
async def api(emulator: RunflowEmulator) -> AsyncIterator[Api]:
    async with emulator.serve() as base_url, aiohttp.ClientSession(base_url) as session:
        yield Api(session, emulator)


def assert_error(body: Any, code: str) -> None:
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    assert body["message"]


# -- auth and errors ----------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", "Basic {token}", "Bearer"])
async def test_requests_without_a_valid_key_are_unauthorized(
    api: Api, emulator: RunflowEmulator, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header.format(token=emulator.token)}
    async with api.session.get("/v1/runs", headers=headers) as response:
        assert response.status == 401
        assert_error(await response.json(), "UNAUTHORIZED")


async def test_unknown_runs_ids_and_other_orgs_runs_are_refused(api: Api) -> None:
    run = await api.create()
    status, body = await api("GET", f"/v1/runs/{uuid.uuid4()}")
    assert (status, body["code"]) == (404, "RUN_NOT_FOUND")
    other_org = {"X-Organization-Id": str(uuid.uuid4())}
    status, body = await api("GET", f"/v1/runs/{run['id']}", headers=other_org)
    assert (status, body["code"]) == (404, "RUN_NOT_FOUND")
    status, body = await api("GET", "/v1/runs/not-a-uuid")
    assert (status, body["errors"][0]["loc"]) == (422, ["path", "id"])


async def test_there_is_no_delete(api: Api) -> None:
    run = await api.create()
    status, body = await api("DELETE", f"/v1/runs/{run['id']}")
    assert status == 405
    assert_error(body, "METHOD_NOT_ALLOWED")


async def test_injected_faults_use_the_documented_error_body(
    api: Api, emulator: RunflowEmulator
) -> None:
    emulator.inject(429)
    status, body = await api("GET", "/v1/runs")
    assert status == 429
    assert_error(body, "RATE_LIMITED")


# -- create and lifecycle -----------------------------------------------------------------


async def test_create_returns_the_full_run_queued(api: Api, emulator: RunflowEmulator) -> None:
    emulator.plan_next(queued=0, running=0)  # even a run that starts at once
    run = await api.create(
        input={"prompt": "hi"},
        metadata={"k": "v"},
        callback_url="https://example.invalid/hook",
        client_ref="ref-1",
    )
    assert set(run) >= RUN_FIELDS
    assert run["status_code"] == "queued"
    assert uuid.UUID(run["id"]).version == 7
    assert run["created_at"].endswith("+00:00")
    assert (run["started_at"], run["completed_at"], run["cost"]) == (None, None, None)
    assert (run["input"], run["metadata"]) == ({"prompt": "hi"}, {"k": "v"})
    assert (run["callback_url"], run["client_ref"]) == ("https://example.invalid/hook", "ref-1")
    assert run["target_type"] == "model"
    assert (run["model"]["owner"], run["model"]["slug"]) == ("acme", "echo/v1")
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
    api: Api, emulator: RunflowEmulator, body: dict[str, Any], loc: list[str]
) -> None:
    emulator.add_model("acme/strict", required=("prompt",))
    status, answer = await api("POST", "/v1/models/acme/strict/runs", json=body)
    assert status == 422
    assert answer["code"] == "VALIDATION_ERROR"
    assert answer["errors"][0]["loc"] == loc


async def test_unknown_models_are_not_found(api: Api) -> None:
    status, body = await api("POST", "/v1/models/acme/missing/runs", json={"input": {}})
    assert (status, body["code"]) == (404, "MODEL_NOT_FOUND")


async def test_a_run_goes_through_every_phase_on_the_clock(
    api: Api, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(queued=2, running=4)
    run_id = (await api.create())["id"]
    seen = []
    for step in (0, 1.5, 1, 1, 10):
        emulator.advance(step)
        seen.append(await api.run(run_id))
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
        (Plan(native="errored"), "errored", ("MODEL_ERROR", "execution"), "0"),
    ],
)
async def test_plans_end_in_their_native_outcome(
    api: Api,
    emulator: RunflowEmulator,
    plan: Plan,
    status: str,
    failure: tuple[str | None, str | None],
    cost: str | None,
) -> None:
    emulator.plan_next(plan)
    run_id = (await api.create())["id"]
    emulator.advance(60)
    run = await api.run(run_id)
    assert run["status_code"] == status
    assert (run["failure_code"], run["failure_stage_code"]) == failure
    assert (run["failure_message"] is not None) == (failure[0] is not None)
    assert run["cost"] == cost


async def test_workflow_runs_name_their_workflow(api: Api, emulator: RunflowEmulator) -> None:
    emulator.add_workflow("acme/upscale")
    status, run = await api("POST", "/v1/comfyui-workflows/acme/upscale/runs", json={})
    assert status == 201
    assert run["target_type"] == "comfyui_workflow"
    assert run["comfyui_workflow"]["slug"] == "upscale" and run["model"] is None
    status, page = await api("GET", "/v1/comfyui-workflows/acme/upscale/runs")
    assert [r["id"] for r in page["items"]] == [run["id"]]


# -- listing ------------------------------------------------------------------------------


async def test_list_pages_with_cursors_both_ways(api: Api) -> None:
    ids = [(await api.create(input={"i": i}))["id"] for i in range(5)]
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
    async with emulator.serve() as base_url, aiohttp.ClientSession(base_url) as session:
        api = Api(session, emulator)
        for _ in range(3):
            await api.create()
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
    api: Api, params: dict[str, str], loc: list[str]
) -> None:
    status, body = await api("GET", "/v1/runs", params=params)
    assert status == 422
    assert body["code"] == "VALIDATION_ERROR"
    assert body["errors"][0]["loc"] == loc


async def test_q_filters_on_status_with_or_and_not(api: Api, emulator: RunflowEmulator) -> None:
    emulator.plan_next(queued=0, running=1)
    done = (await api.create())["id"]
    emulator.advance(5)
    emulator.plan_next(queued=100)
    waiting = (await api.create(client_ref="w"))["id"]

    async def ids(q: str) -> set[str]:
        status, page = await api("GET", "/v1/runs", params={"q": q})
        assert status == 200, page
        return {r["id"] for r in page["items"]}

    assert await ids("status_code:succeeded") == {done}
    assert await ids("status_code:queued OR status_code:succeeded") == {done, waiting}
    assert await ids("NOT status_code:succeeded") == {waiting}
    assert await ids('status_code:queued AND client_ref="w"') == {waiting}
    assert await ids("status_code=running") == set()


async def test_statuses_lists_the_documented_enum(api: Api) -> None:
    status, rows = await api("GET", "/v1/runs/statuses")
    assert status == 200
    terminal = {row["code"] for row in rows if row["is_terminal"]}
    assert terminal == {"succeeded", "failed", "canceled", "partial_succeeded"}


# -- patch and cancellation ---------------------------------------------------------------


async def test_patch_merges_only_the_fields_given(api: Api, emulator: RunflowEmulator) -> None:
    emulator.plan_next(queued=100)
    run = await api.create(input={"a": 1})
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
    assert (await api.run(run["id"]))["status_code"] == "running"
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
async def test_patch_validates_fields(api: Api, body: dict[str, Any], loc: list[str]) -> None:
    run = await api.create()
    status, answer = await api("PATCH", f"/v1/runs/{run['id']}", json=body)
    assert status == 422
    assert answer["errors"][0]["loc"] == loc


async def test_admin_cancellation(api: Api, emulator: RunflowEmulator) -> None:
    emulator.plan_next(queued=100)
    run = await api.create()
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
    api: Api, emulator: RunflowEmulator
) -> None:
    run = await api.create()
    emulator.advance(60)
    finished = await api.run(run["id"])
    path = f"/v1/admin/runs/{run['id']}/cancellation"
    status, body = await api("POST", path, token=emulator.admin_token)
    assert (status, body) == (200, finished)
    assert body["status_code"] == "succeeded"


# -- batches ------------------------------------------------------------------------------

BATCHES = "/v1/models/acme/echo/v1/batches"


async def test_batches_create_runs_and_replay_by_idempotency_key(
    api: Api, emulator: RunflowEmulator
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


async def test_batch_items_embed_their_runs(api: Api, emulator: RunflowEmulator) -> None:
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
    assert (detail["status_code"], detail["succeeded"], detail["items_total"]) == (
        "succeeded",
        3,
        3,
    )


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/v1/models/acme/plain/batches", {"items": [{"input": {}}]}, (422, "VALIDATION_ERROR")),
        ("/v1/models/acme/none/batches", {"items": [{"input": {}}]}, (404, "MODEL_NOT_FOUND")),
        ("/v1/comfyui-workflows/acme/flow/batches", {"items": []}, (404, "NOT_FOUND")),
        (BATCHES, {"items": []}, (422, "VALIDATION_ERROR")),
        (BATCHES, {"items": [{"input": {}}] * 101}, (422, "VALIDATION_ERROR")),
        (BATCHES, {"items": [{"input": 1}]}, (422, "VALIDATION_ERROR")),
    ],
)
async def test_batches_refuse_what_they_cannot_take(
    api: Api, emulator: RunflowEmulator, path: str, body: Any, expected: tuple[int, str]
) -> None:
    emulator.add_model("acme/plain", template_backed=False)
    emulator.add_workflow("acme/flow")
    status, answer = await api("POST", path, json=body)
    assert (status, answer["code"]) == expected
    assert emulator.runs == {}
