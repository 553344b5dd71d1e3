"""Fidelity of the Cyberdesk emulator, checked with plain HTTP requests."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from runbridge.testing import RawClient
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from support import CYBERDESK_RUN_FIELDS, cyberdesk_create


@pytest.fixture
def provider() -> str:
    return "cyberdesk"


# -- auth and routing -------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc"])
async def test_requests_need_the_bearer_token(api: RawClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    answer = await api("GET", "/v1/runs", headers=headers, auth=False)
    assert answer.status == 401
    assert isinstance(answer.body["detail"], str)
    assert answer.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/v1/health", "/v1/health/db"])
async def test_health_needs_no_token(api: RawClient, path: str) -> None:
    status, _ = await api("GET", path, auth=False)
    assert status == 200


async def test_the_log_masks_the_token_and_sensitive_inputs(
    api: RawClient, emulator: CyberdeskEmulator
) -> None:
    secret = "pw-0123456789"
    await cyberdesk_create(api, sensitive_input_values={"password": secret}, input_values={"a": 1})
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
    api: RawClient, method: str, path: str, status: int
) -> None:
    got, body = await api(method, path)
    assert got == status
    assert isinstance(body["detail"], str)


async def test_injected_faults_use_the_detail_shape(
    api: RawClient, emulator: CyberdeskEmulator
) -> None:
    emulator.inject(503)
    assert tuple(await api("GET", "/v1/runs")) == (503, {"detail": "injected fault"})


# -- validation -------------------------------------------------------------------------


async def test_limit_zero_is_the_documented_422(api: RawClient) -> None:
    status, body = await api("GET", "/v1/runs", params={"limit": "0"})
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
    api: RawClient,
    method: str,
    path: str,
    params: dict[str, str] | None,
    json: Any,
    kind: str,
    loc: list[Any],
) -> None:
    status, body = await api(method, path, params=params, json=json)
    assert status == 422
    (entry,) = body["detail"]
    assert entry["type"] == kind and entry["loc"] == loc
    assert isinstance(entry["msg"], str) and "input" in entry


async def test_malformed_json_is_a_422(api: RawClient) -> None:
    status, body = await api(
        "POST", "/v1/runs", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert status == 422
    assert body["detail"][0]["type"] == "json_invalid"


# -- shapes and status codes ------------------------------------------------------------


async def test_create_get_list_shapes(api: RawClient, emulator: CyberdeskEmulator) -> None:
    run = await cyberdesk_create(api, input_values={"x": "y"})
    assert set(run) == CYBERDESK_RUN_FIELDS
    assert run["status"] == "scheduling" and run["workflow_id"] == emulator.default_target
    assert run["started_at"] is None and run["ended_at"] is None and run["machine_id"] is None
    assert run["created_at"].endswith("Z")
    status, got = await api("GET", f"/v1/runs/{run['id']}")
    assert status == 200 and set(got) == CYBERDESK_RUN_FIELDS | {"included"}
    status, page = await api("GET", "/v1/runs")
    assert status == 200
    assert set(page) == {"items", "total", "skip", "limit", "included"}
    assert (page["total"], page["skip"], page["limit"]) == (1, 0, 100)
    assert set(page["items"][0]) == CYBERDESK_RUN_FIELDS


async def test_unknown_ids_and_workflows_are_404(
    api: RawClient, emulator: CyberdeskEmulator
) -> None:
    missing = emulator.unknown_id()
    for method, path, body in [
        ("GET", f"/v1/runs/{missing}", None),
        ("PATCH", f"/v1/runs/{missing}", {}),
        ("DELETE", f"/v1/runs/{missing}", None),
        ("POST", f"/v1/runs/{missing}/retry", {}),
    ]:
        assert tuple(await api(method, path, json=body)) == (404, {"detail": "Run not found"})
    status, body = await api("POST", "/v1/runs", json={"workflow_id": missing})
    assert (status, body) == (404, {"detail": "Workflow not found"})
    status, body = await api("POST", "/v1/runs/bulk", json={"workflow_id": missing, "count": 1})
    assert (status, body) == (404, {"detail": "Workflow not found"})


async def test_delete_is_204_with_no_body(api: RawClient, emulator: CyberdeskEmulator) -> None:
    run = await cyberdesk_create(api)
    answer = await api("DELETE", f"/v1/runs/{run['id']}")
    assert (answer.status, answer.content) == (204, b"")
    assert run["id"] not in emulator.runs


async def test_secrets_are_vaulted_not_echoed(api: RawClient, emulator: CyberdeskEmulator) -> None:
    secret = "s3cr3t-value-123"
    run = await cyberdesk_create(api, sensitive_input_values={"password": secret})
    assert set(run["sensitive_input_aliases"]) == {"password"}
    _, page = await api("GET", "/v1/runs")
    _, got = await api("GET", f"/v1/runs/{run['id']}")
    for body in (run, page, got):
        assert secret not in orjson.dumps(body).decode()
    assert emulator.vault[run["id"]] == {"password": secret}
    assert secret not in repr(emulator.log)


async def test_files_become_input_attachments(api: RawClient, emulator: CyberdeskEmulator) -> None:
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
    run = await cyberdesk_create(api, file_inputs=files)
    first, second = (emulator.attachments[i] for i in run["input_attachment_ids"])
    assert first.content == b"%PDF-1.4"
    assert (first.target_path, first.cleanup_imports_after_run) == (None, False)
    assert (second.filename, second.target_path, second.cleanup_imports_after_run) == (
        "b.csv",
        "C:/in",
        True,
    )
