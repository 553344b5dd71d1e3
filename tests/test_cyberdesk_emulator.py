"""Fidelity of the Cyberdesk emulator, checked with plain HTTP requests."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from runbridge_cyberdesk.emulator import CyberdeskEmulator

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


@pytest.mark.parametrize("path", ["/v1/health", "/v1/health/db"])
async def test_health_needs_no_token(api: Api, path: str) -> None:
    status, _, _ = await api("GET", path, auth=False)
    assert status == 200


async def test_the_log_masks_the_token_and_sensitive_inputs(
    api: Api, emulator: CyberdeskEmulator
) -> None:
    secret = "pw-0123456789"
    await api.create(sensitive_input_values={"password": secret}, input_values={"a": 1})
    await api("GET", "/v1/runs", params=[("fields", "error"), ("fields", "ended_at")])
    create, listing = emulator.log
    assert (create.method, create.path) == ("POST", "/v1/runs")
    assert create.header("Authorization") == "***"
    assert create.body["sensitive_input_values"] == {"password": "***"}
    assert create.body["input_values"] == {"a": 1}
    assert listing.params("fields") == ["error", "ended_at"]
    assert emulator.token not in repr(emulator.log) and secret not in repr(emulator.log)
    assert emulator.requests == [("POST", "/v1/runs"), ("GET", "/v1/runs")]


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
    assert secret not in repr(emulator.log)


async def test_files_become_input_attachments(api: Api, emulator: CyberdeskEmulator) -> None:
    content = base64.b64encode(b"%PDF-1.4").decode()
    files = [
        {"filename": "a.pdf", "content": content},
        {
            "filename": "b.csv",
            "content": content,
            "target_path": "C:/in",
            "cleanup_imports_after_run": True,
        },
    ]
    run = await api.create(file_inputs=files)
    first, second = (emulator.attachments[i] for i in run["input_attachment_ids"])
    assert first.content == b"%PDF-1.4"
    assert (first.target_path, first.cleanup_imports_after_run) == (None, False)
    assert (second.filename, second.target_path, second.cleanup_imports_after_run) == (
        "b.csv",
        "C:/in",
        True,
    )
