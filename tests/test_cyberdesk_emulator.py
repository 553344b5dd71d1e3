"""Fidelity of the Cyberdesk emulator, checked with plain HTTP requests."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from runbridge import RunStatus
from runbridge.emulation import ManualClock, iso
from runbridge_cyberdesk import CyberdeskEmulator

RUN_FIELDS = {
    "workflow_id",
    "machine_id",
    "id",
    "user_id",
    "organization_id",
    "status",
    "is_priority",
    "error",
    "output_data",
    "input_attachment_ids",
    "output_attachment_ids",
    "run_message_history",
    "input_values",
    "main_prompt",
    "model_metadata",
    "pool_ids",
    "sensitive_input_aliases",
    "usage_metadata",
    "post_run_checks",
    "session_id",
    "session_alias",
    "release_session_after",
    "started_at",
    "ended_at",
    "created_at",
}
"""Every field of ``RunResponse`` in SDK 2.2.69."""


class Api:
    """A thin JSON client for the served emulator."""

    def __init__(self, session: aiohttp.ClientSession, emulator: CyberdeskEmulator) -> None:
        self.session = session
        self.emulator = emulator

    async def __call__(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, Any, Any]:
        sent = dict(headers or {})
        if auth:
            sent["Authorization"] = f"Bearer {self.emulator.token}"
        async with self.session.request(
            method,
            path,
            json=json,
            data=data,
            params=params,
            headers=sent,
            allow_redirects=False,
        ) as resp:
            raw = await resp.read()
            return resp.status, orjson.loads(raw) if raw else None, resp.headers

    async def create(self, **body: Any) -> dict[str, Any]:
        status, run, _ = await self(
            "POST", "/v1/runs", json={"workflow_id": self.emulator.default_target, **body}
        )
        assert status == 201, run
        return dict(run)


@pytest.fixture
def emulator() -> CyberdeskEmulator:
    return CyberdeskEmulator()


@pytest.fixture
async def api(emulator: CyberdeskEmulator) -> AsyncIterator[Api]:
    async with emulator.serve() as base_url, aiohttp.ClientSession(base_url=base_url) as session:
        yield Api(session, emulator)


# -- auth and routing -------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc"])
async def test_requests_need_the_bearer_token(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    status, body, resp_headers = await api("GET", "/v1/runs", headers=headers, auth=False)
    assert status == 401
    assert isinstance(body["detail"], str)
    assert resp_headers["WWW-Authenticate"] == "Bearer"


async def test_health_needs_no_token(api: Api) -> None:
    status, _, _ = await api("GET", "/v1/health", auth=False)
    assert status == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/runs/", 404), ("GET", "/v1/run", 404), ("PUT", "/v1/runs", 405)],
)
async def test_unknown_routes_answer_like_fastapi_without_redirects(
    api: Api, method: str, path: str, status: int
) -> None:
    got, body, _ = await api(method, path)
    assert got == status
    assert isinstance(body["detail"], str)


async def test_injected_faults_use_the_detail_shape(api: Api, emulator: CyberdeskEmulator) -> None:
    emulator.inject(503)
    assert (await api("GET", "/v1/runs"))[:2] == (503, {"detail": "injected fault"})


# -- validation -------------------------------------------------------------------------


async def test_limit_zero_is_the_documented_422(api: Api) -> None:
    status, body, _ = await api("GET", "/v1/runs", params={"limit": "0"})
    assert status == 422
    assert body == {
        "detail": [
            {
                "type": "greater_than_equal",
                "loc": ["query", "limit"],
                "msg": "Input should be greater than or equal to 1",
                "input": "0",
                "ctx": {"ge": 1},
            }
        ]
    }


WF = "3c90c3cc-0d44-4b50-8888-8dd25736052a"

VALIDATION_CASES = [
    ("GET", "/v1/runs", {"limit": "1001"}, None, "less_than_equal", ["query", "limit"]),
    ("GET", "/v1/runs", {"skip": "-1"}, None, "greater_than_equal", ["query", "skip"]),
    ("GET", "/v1/runs", {"skip": "abc"}, None, "int_parsing", ["query", "skip"]),
    ("GET", "/v1/runs", {"status": "completed"}, None, "enum", ["query", "status"]),
    ("GET", "/v1/runs", {"sort_mode": "random"}, None, "enum", ["query", "sort_mode"]),
    ("GET", "/v1/runs", {"workflow_id": "xyz"}, None, "uuid_parsing", ["query", "workflow_id"]),
    ("GET", "/v1/runs", {"fields": "colour"}, None, "enum", ["query", "fields", 0]),
    (
        "GET",
        "/v1/runs",
        {"created_at_from": "yesterday"},
        None,
        "datetime_from_date_parsing",
        ["query", "created_at_from"],
    ),
    ("GET", "/v1/runs/not-a-uuid", None, None, "uuid_parsing", ["path", "run_id"]),
    ("DELETE", "/v1/runs/123", None, None, "uuid_parsing", ["path", "run_id"]),
    ("POST", "/v1/runs", None, {}, "missing", ["body", "workflow_id"]),
    ("POST", "/v1/runs", None, {"workflow_id": "x"}, "uuid_parsing", ["body", "workflow_id"]),
    (
        "POST",
        "/v1/runs",
        None,
        {"workflow_id": WF, "is_priority": "maybe"},
        "bool_parsing",
        ["body", "is_priority"],
    ),
    (
        "POST",
        "/v1/runs",
        None,
        {"workflow_id": WF, "input_values": [1]},
        "dict_type",
        ["body", "input_values"],
    ),
    (
        "POST",
        "/v1/runs",
        None,
        {"workflow_id": WF, "pool_ids": ["p"]},
        "uuid_parsing",
        ["body", "pool_ids", 0],
    ),
    (
        "POST",
        "/v1/runs",
        None,
        {"workflow_id": WF, "file_inputs": [{"filename": "a"}]},
        "missing",
        ["body", "file_inputs", 0, "content"],
    ),
    (
        "POST",
        "/v1/runs",
        None,
        {"workflow_id": WF, "file_inputs": [{"filename": "a", "content": "%%%"}]},
        "value_error",
        ["body", "file_inputs", 0, "content"],
    ),
    ("POST", "/v1/runs/bulk", None, {"workflow_id": WF}, "missing", ["body", "count"]),
    (
        "POST",
        "/v1/runs/bulk",
        None,
        {"workflow_id": WF, "count": 0},
        "greater_than",
        ["body", "count"],
    ),
    (
        "POST",
        "/v1/runs/bulk",
        None,
        {"workflow_id": WF, "count": 1001},
        "less_than_equal",
        ["body", "count"],
    ),
    ("PATCH", f"/v1/runs/{WF}", None, {"status": "completed"}, "enum", ["body", "status"]),
    ("PATCH", f"/v1/runs/{WF}", None, {"error": "oops"}, "list_type", ["body", "error"]),
    (
        "POST",
        f"/v1/runs/{WF}/retry",
        None,
        {"machine_id": "m"},
        "uuid_parsing",
        ["body", "machine_id"],
    ),
]


@pytest.mark.parametrize(("method", "path", "params", "json", "kind", "loc"), VALIDATION_CASES)
async def test_validation_errors_are_fastapi_shaped(
    api: Api,
    method: str,
    path: str,
    params: dict[str, str] | None,
    json: Any,
    kind: str,
    loc: list[Any],
) -> None:
    status, body, _ = await api(method, path, params=params, json=json)
    assert status == 422
    (entry,) = body["detail"]
    assert entry["type"] == kind and entry["loc"] == loc
    assert isinstance(entry["msg"], str) and "input" in entry


async def test_malformed_json_is_a_422(api: Api) -> None:
    status, body, _ = await api(
        "POST", "/v1/runs", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert status == 422
    assert body["detail"][0]["type"] == "json_invalid"


# -- shapes and status codes ------------------------------------------------------------


async def test_create_get_list_shapes(api: Api, emulator: CyberdeskEmulator) -> None:
    run = await api.create(input_values={"x": "y"})
    assert set(run) == RUN_FIELDS
    assert run["status"] == "scheduling" and run["workflow_id"] == emulator.default_target
    assert run["started_at"] is None and run["ended_at"] is None and run["machine_id"] is None
    assert run["created_at"].endswith("Z")
    status, got, _ = await api("GET", f"/v1/runs/{run['id']}")
    assert status == 200 and set(got) == RUN_FIELDS | {"included"}
    status, page, _ = await api("GET", "/v1/runs")
    assert status == 200
    assert set(page) == {"items", "total", "skip", "limit", "included"}
    assert (page["total"], page["skip"], page["limit"]) == (1, 0, 100)
    assert set(page["items"][0]) == RUN_FIELDS


async def test_unknown_ids_and_workflows_are_404(api: Api, emulator: CyberdeskEmulator) -> None:
    missing = emulator.unknown_id()
    for method, path, body in [
        ("GET", f"/v1/runs/{missing}", None),
        ("PATCH", f"/v1/runs/{missing}", {}),
        ("DELETE", f"/v1/runs/{missing}", None),
        ("POST", f"/v1/runs/{missing}/retry", {}),
    ]:
        assert (await api(method, path, json=body))[:2] == (404, {"detail": "Run not found"})
    status, body, _ = await api("POST", "/v1/runs", json={"workflow_id": missing})
    assert (status, body) == (404, {"detail": "Workflow not found"})
    status, body, _ = await api("POST", "/v1/runs/bulk", json={"workflow_id": missing, "count": 1})
    assert (status, body) == (404, {"detail": "Workflow not found"})


async def test_delete_is_204_with_no_body(api: Api, emulator: CyberdeskEmulator) -> None:
    run = await api.create()
    assert (await api("DELETE", f"/v1/runs/{run['id']}"))[:2] == (204, None)
    assert run["id"] not in emulator.runs


async def test_secrets_are_vaulted_not_echoed(api: Api, emulator: CyberdeskEmulator) -> None:
    secret = "s3cr3t-value-123"
    run = await api.create(sensitive_input_values={"password": secret})
    assert set(run["sensitive_input_aliases"]) == {"password"}
    _, page, _ = await api("GET", "/v1/runs")
    _, got, _ = await api("GET", f"/v1/runs/{run['id']}")
    for body in (run, page, got):
        assert secret not in orjson.dumps(body).decode()
    assert emulator.vault[run["id"]] == {"password": secret}
    assert secret not in repr(emulator.seen)


async def test_files_become_input_attachments(api: Api, emulator: CyberdeskEmulator) -> None:
    content = base64.b64encode(b"%PDF-1.4").decode()
    run = await api.create(file_inputs=[{"filename": "a.pdf", "content": content}])
    (attachment_id,) = run["input_attachment_ids"]
    assert emulator.attachments[attachment_id].content == b"%PDF-1.4"


# -- lifecycle --------------------------------------------------------------------------


async def test_lifecycle_follows_the_clock(api: Api, emulator: CyberdeskEmulator) -> None:
    emulator.checks_seconds = 5
    emulator.plan_next(queued=10, running=20, outputs={"total": 3})
    run = await api.create()
    path = f"/v1/runs/{run['id']}"
    seen = []
    for step in (0, 10, 16, 10):
        emulator.advance(step)
        seen.append((await api("GET", path))[1])
    assert [r["status"] for r in seen] == ["scheduling", "running", "running_checks", "success"]
    assert seen[0]["started_at"] is None and seen[0]["machine_id"] is None
    assert seen[1]["started_at"] == iso(emulator.runs[run["id"]].timeline.starts)
    assert seen[1]["machine_id"] == emulator.machine_id and seen[1]["ended_at"] is None
    assert seen[3]["ended_at"] is not None and seen[3]["output_data"] == {"total": 3}


@pytest.mark.parametrize(
    ("plan", "native", "error"),
    [
        ({"outcome": RunStatus.SUCCEEDED}, "success", False),
        ({"outcome": RunStatus.FAILED, "failure": "task"}, "task_failed", True),
        ({"outcome": RunStatus.FAILED, "failure": "system"}, "error", True),
        ({"outcome": RunStatus.FAILED, "failure": "timeout"}, "error", True),
        ({"outcome": RunStatus.CANCELLED}, "cancelled", False),
        ({"native": "paused"}, "paused", False),
    ],
)
async def test_plans_choose_the_outcome(
    api: Api, emulator: CyberdeskEmulator, plan: dict[str, Any], native: str, error: bool
) -> None:
    emulator.plan_next(**plan)
    run = await api.create()
    emulator.advance(3600)
    _, got, _ = await api("GET", f"/v1/runs/{run['id']}")
    assert got["status"] == native
    assert (got["error"] is not None) == error
    if error:
        assert isinstance(got["error"], list) and all(isinstance(e, str) for e in got["error"])


async def test_patch_is_partial_and_pins_the_status(api: Api, emulator: CyberdeskEmulator) -> None:
    emulator.plan_next(queued=100)
    run = await api.create(input_values={"a": 1})
    path = f"/v1/runs/{run['id']}"
    status, got, _ = await api("PATCH", path, json={"status": "running", "output_data": {"o": 1}})
    assert status == 200
    assert got["status"] == "running" and got["started_at"] is not None
    assert got["input_values"] == {"a": 1} and got["output_data"] == {"o": 1}
    emulator.advance(10_000)  # a patched status is no longer moved by the clock
    _, got, _ = await api("PATCH", path, json={"output_data": None})
    assert got["status"] == "running" and got["output_data"] is None
    _, got, _ = await api("PATCH", path, json={"status": "cancelled"})
    assert got["status"] == "cancelled" and got["ended_at"] is not None


async def test_retry_is_in_place_and_only_for_terminal_runs(
    api: Api, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(queued=0, running=10)
    run = await api.create(input_values={"n": 1})
    path = f"/v1/runs/{run['id']}/retry"
    status, body, _ = await api("POST", path, json={})
    assert status == 409 and "terminal" in body["detail"]
    emulator.advance(20)
    emulator.plan_next(queued=5)
    status, got, _ = await api("POST", path, json={"input_values": {"n": 2}})
    assert status == 200
    assert got["id"] == run["id"] and got["status"] == "scheduling"
    assert got["output_data"] is None and got["ended_at"] is None and got["started_at"] is None
    assert got["input_values"] == {"n": 2}
    assert len(emulator.runs) == 1


async def test_bulk_creates_count_runs_with_one_session(
    api: Api, emulator: CyberdeskEmulator
) -> None:
    body = {"workflow_id": emulator.default_target, "count": 3, "start_session": True}
    status, result, _ = await api("POST", "/v1/runs/bulk", json=body)
    assert status == 201
    assert result["failed_count"] == 0 and result["errors"] == []
    runs = result["created_runs"]
    assert len(runs) == 3 and len({r["session_id"] for r in runs}) == 1
    assert all(set(r) == RUN_FIELDS for r in runs)


async def test_bulk_failures_can_be_planned(api: Api, emulator: CyberdeskEmulator) -> None:
    emulator.fail_bulk(2, message="pool exhausted")
    body = {"workflow_id": emulator.default_target, "count": 5}
    _, result, _ = await api("POST", "/v1/runs/bulk", json=body)
    assert len(result["created_runs"]) == 3
    assert result["failed_count"] == 2 and result["errors"] == ["pool exhausted"] * 2


# -- listing ----------------------------------------------------------------------------


async def test_list_filters_and_sorting(api: Api, emulator: CyberdeskEmulator) -> None:
    other = emulator.add_workflow()
    emulator.plan_next(queued=1000)
    waiting = await api.create(input_values={"name": "Alpha"})
    emulator.advance(50)
    emulator.plan_next(queued=0, running=1)
    done = (await api("POST", "/v1/runs", json={"workflow_id": other}))[1]
    emulator.advance(50)
    emulator.plan_next(queued=0, running=1)
    latest = await api.create()
    emulator.advance(5)

    async def ids(**params: str) -> list[str]:
        status, page, _ = await api("GET", "/v1/runs", params=params)
        assert status == 200
        return [r["id"] for r in page["items"]]

    newest_first = [latest["id"], done["id"], waiting["id"]]
    assert await ids(sort_mode="created_at_desc") == newest_first
    assert await ids() == [waiting["id"], latest["id"], done["id"]]  # activity: active first
    assert await ids(workflow_id=other) == [done["id"]]
    assert await ids(status="success", sort_mode="created_at_desc") == newest_first[:2]
    assert await ids(status="scheduling") == [waiting["id"]]
    assert await ids(search="alpha") == [waiting["id"]]
    assert await ids(created_at_to=waiting["created_at"]) == [waiting["id"]]
    after = await ids(created_at_from=done["created_at"], sort_mode="created_at_desc")
    assert after == newest_first[:2]
    assert await ids(skip="1", limit="1", sort_mode="created_at_desc") == [done["id"]]


async def test_fields_projection_keeps_the_base_fields(api: Api) -> None:
    await api.create(input_values={"a": 1})
    params = [("fields", "input_values"), ("fields", "started_at"), ("include", "workflow")]
    _, page, _ = await api("GET", "/v1/runs", params=params)
    (item,) = page["items"]
    assert set(item) == {
        "id",
        "workflow_id",
        "machine_id",
        "status",
        "created_at",
        "input_values",
        "started_at",
    }
    assert page["included"][0]["type"] == "workflow"


# -- idempotency and rate limits --------------------------------------------------------


async def test_idempotency_key_replays_the_first_response(
    api: Api, emulator: CyberdeskEmulator
) -> None:
    key = {"Idempotency-Key": "550e8400-e29b-41d4-a716-446655440000"}
    body = {"workflow_id": emulator.default_target, "input_values": {"x": 1}}
    first = await api("POST", "/v1/runs", json=body, headers=key)
    emulator.advance(100)
    second = await api("POST", "/v1/runs", json=body, headers=key)
    assert first[0] == second[0] == 201 and first[1] == second[1]
    assert len(emulator.runs) == 1
    clash = await api("POST", "/v1/runs", json={**body, "input_values": {"x": 2}}, headers=key)
    assert clash[0] == 409
    third = await api("POST", "/v1/runs", json=body)
    assert third[1]["id"] != first[1]["id"] and len(emulator.runs) == 2


async def test_idempotent_delete_replays_204(api: Api, emulator: CyberdeskEmulator) -> None:
    run = await api.create()
    key = {"Idempotency-Key": "6c1a1bde-6a6f-4c36-a1a4-5f4a3c1f0b9e"}
    path = f"/v1/runs/{run['id']}"
    assert (await api("DELETE", path, headers=key))[0] == 204
    assert (await api("DELETE", path, headers=key))[0] == 204
    assert (await api("DELETE", path))[0] == 404


async def test_rate_limit_answers_429_with_headers() -> None:
    emulator = CyberdeskEmulator(rate_limit=2, rate_window=60, clock=ManualClock(start=600.0))
    async with emulator.serve() as base_url, aiohttp.ClientSession(base_url=base_url) as session:
        api = Api(session, emulator)
        emulator.advance(15)
        statuses = []
        for _ in range(3):
            status, _, headers = await api("GET", "/v1/runs")
            statuses.append((status, headers["X-RateLimit-Remaining"]))
        assert statuses == [(200, "1"), (200, "0"), (429, "0")]
        assert headers["Retry-After"] == "45"
        assert headers["X-RateLimit-Limit"] == "2" and headers["X-RateLimit-Reset"] == "660"
        assert (await api("GET", "/v1/health"))[0] == 200
        emulator.advance(45)
        assert (await api("GET", "/v1/runs"))[0] == 200
