"""Documented Runflow payloads give their canonical result, parsed and served over HTTP.

Each fixture under ``tests/data/documented/runflow/`` is a payload from the
provider docs (see the README there); each test states what runbridge must make
of it. The emulator only replays the fixture (``inject``), so these tests hold
the adapter to the docs, not to the emulator.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from runbridge import (
    AuthError,
    Conflict,
    Failure,
    InvalidRequest,
    NotFound,
    Progress,
    ProviderUnavailable,
    RateLimited,
    Run,
    RunbridgeError,
    RunClient,
    RunRequest,
    RunStatus,
)
from runbridge_runflow.emulator import RunflowEmulator

DATA = Path(__file__).parent / "data" / "documented" / "runflow"
SEED_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
MODEL_ID = "5b0c6f1e-2d3a-4c5b-8e9f-0a1b2c3d4e5f"
WORKFLOW_ID = "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"
FLOW_ID = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@attrs.frozen
class Expected:
    """The canonical reading of one documented run record."""

    id: str
    target: str
    status: RunStatus
    native: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    failure: Failure | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cost: Decimal | None
    progress: Progress | None
    name: str | None = None


VIDEO = {"outputs": [{"type": "video", "url": "https://cdn.example.com/runs/1/0.mp4"}]}
IMAGE = {"outputs": [{"type": "image", "url": "https://cdn.example.com/out/0.png"}]}
PROMPT = {"prompt": "a lighthouse at dawn"}
SEED_TIME = datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)

RUNS = {
    # target_type "<string>" names no kind, so the first id present says: model_id.
    "patch-run.response.json": Expected(
        SEED_ID, f"models/{SEED_ID}", RunStatus.UNKNOWN, "<string>", {}, {}, None,
        SEED_TIME, SEED_TIME, SEED_TIME, None, Progress(123, 123),
    ),
    "create-model-run.response.schema-instance.json": Expected(
        "0190f4d2-6b1e-7c3a-9f21-4d5e6f708192", f"models/{MODEL_ID}", RunStatus.PENDING,
        "queued", PROMPT, {}, None, at("2024-07-23T10:15:30Z"), None, None, None, None,
    ),
    "run.succeeded.schema-instance.json": Expected(
        "0190f4d2-6b1e-7c3a-9f21-4d5e6f708193", f"models/{MODEL_ID}", RunStatus.SUCCEEDED,
        "succeeded", PROMPT, VIDEO, None, at("2024-07-23T10:15:30Z"),
        at("2024-07-23T10:15:32Z"), at("2024-07-23T10:16:13.250Z"), Decimal("0.4000"),
        Progress(3, 3), "lighthouse",
    ),
    # Stage "dispatch" is Runflow's side: a system failure.
    "run.failed.schema-instance.json": Expected(
        "0190f4d2-6b1e-7c3a-9f21-4d5e6f708194", f"models/{MODEL_ID}", RunStatus.FAILED,
        "failed", PROMPT, None,
        Failure("system", "The execution provider did not accept the job", "PROVIDER_UNREACHABLE"),
        at("2024-07-23T10:15:30Z"), None, at("2024-07-23T10:15:31Z"), Decimal(0), None,
    ),
    # No completed_at: a terminal run ends at started_at + duration_ms.
    "run.workflow.schema-instance.json": Expected(
        "0190f4d2-6b1e-7c3a-9f21-4d5e6f708195", f"comfyui-workflows/{WORKFLOW_ID}",
        RunStatus.SUCCEEDED, "partial_succeeded", {"image_url": "https://cdn.example.com/in.png"},
        IMAGE, None, at("2024-07-23T11:00:00Z"), at("2024-07-23T11:00:01Z"),
        at("2024-07-23T11:00:10Z"), Decimal("0.02"), Progress(4, 5),
    ),
    "run.flow.schema-instance.json": Expected(
        "0190f4d2-6b1e-7c3a-9f21-4d5e6f708196", f"flows/{FLOW_ID}", RunStatus.CANCELLED,
        "canceled", {}, None, None, at("2024-07-23T12:00:00Z"), at("2024-07-23T12:00:02Z"),
        at("2024-07-23T12:00:05Z"), None, None,
    ),
}  # fmt: skip


def check(run: Run, expected: Expected, payload: Any) -> None:
    assert run.ref.provider == "runflow" and run.id == expected.id
    assert run.target == expected.target
    assert (run.status, run.native_status) == (expected.status, expected.native)
    assert dict(run.inputs) == expected.inputs
    assert run.outputs == expected.outputs
    assert run.failure == expected.failure
    for name in ("created_at", "started_at", "finished_at"):
        value = getattr(run, name)
        assert value == getattr(expected, name), name
        assert value is None or value.utcoffset() == timedelta(0), name
    assert (run.cost, run.progress, run.name) == (expected.cost, expected.progress, expected.name)
    assert run.raw == payload


# Tests read through ``once``, a client that never retries, so each served payload
# is read exactly once.
@pytest.fixture
def provider() -> str:
    return "runflow"


@pytest.mark.parametrize("name", sorted(RUNS))
async def test_documented_runs_parse(once: RunClient, name: str) -> None:
    payload = load(name)
    check(once.parse_run(payload), RUNS[name], payload)


@pytest.mark.parametrize("name", sorted(RUNS))
async def test_documented_runs_read_over_http(
    once: RunClient, emulator: RunflowEmulator, name: str
) -> None:
    payload = load(name)
    emulator.inject(200, body=payload)
    check(await once.get(RUNS[name].id), RUNS[name], payload)
    emulator.inject(200, body={"items": [payload], "first": None, "next": None, "previous": None})
    page = await once.list_page()
    assert page.next_cursor is None
    (listed,) = page.items
    check(listed, RUNS[name], payload)


@pytest.mark.parametrize(
    "name",
    [
        "patch-run.response.json",
        "create-model-run.response.schema-instance.json",
        "run.workflow.schema-instance.json",
    ],
)
async def test_a_documented_target_goes_back_to_create_list_and_retry(
    once: RunClient, emulator: RunflowEmulator, name: str
) -> None:
    payload = {**load(name), "status_code": "failed"}  # a finished run, to retry
    target = RUNS[name].target
    kind, _, ident = target.partition("/")
    if kind == "models":
        emulator.add_model("acme/documented", target_id=ident)
    else:
        emulator.add_workflow("acme/documented", target_id=ident)
    emulator.add_model("acme/other")
    run = await once.create(target, inputs={"n": 1})
    assert run.target == target
    assert emulator.log[-1].path == f"/v1/{target}/runs"  # the id form, as assumed
    await once.create(emulator.default_target)
    listed = [r.ref async for r in once.list(target=target)]
    assert listed == [run.ref]
    field = "model_id" if kind == "models" else "comfyui_workflow_id"
    assert emulator.log[-1].param("q") == f"{field}:{ident}"
    emulator.inject(200, body=payload)  # the core reads the run before retrying it
    retried = await once.retry(payload["id"])
    assert (retried.target, retried.status) == (target, RunStatus.PENDING)
    assert emulator.log[-1].path == f"/v1/{target}/runs"


async def test_a_flow_run_cannot_be_retried_and_says_why(
    once: RunClient, emulator: RunflowEmulator
) -> None:
    payload = load("run.flow.schema-instance.json")
    emulator.inject(200, body=payload)
    with pytest.raises(InvalidRequest) as caught:
        await once.retry(payload["id"])
    assert caught.value.field == "target" and "flow" in caught.value.message
    assert [r.method for r in emulator.log] == ["GET"]


# -- list envelopes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "token"),
    [
        ("search-runs.next-token.schema-instance.json", "next"),
        ("search-runs.next-pq.prose-instance.json", "next_pq"),
    ],
)
async def test_documented_envelopes_page_on(
    once: RunClient, emulator: RunflowEmulator, first: str, token: str
) -> None:
    page_one, last = load(first), load("search-runs.last-page.schema-instance.json")
    emulator.inject(200, body=page_one)
    emulator.inject(200, body=last)
    runs = [run async for run in once.list(page_size=2)]
    assert [r.id for r in runs] == [item["id"] for item in page_one["items"] + last["items"]]
    follow = emulator.log[-1]
    assert follow.param("pq") == page_one[token]
    assert (follow.param("limit"), follow.param("sort_by")) == ("2", "created_at:desc")


async def test_the_last_documented_page_has_no_cursor(
    once: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.inject(200, body=load("search-runs.last-page.schema-instance.json"))
    page = await once.list_page()
    assert page.next_cursor is None
    assert [r.target for r in page.items] == [f"comfyui-workflows/{WORKFLOW_ID}"]


# -- batches ------------------------------------------------------------------------------


async def test_the_documented_batch_answers_give_runs(
    once: RunClient, emulator: RunflowEmulator
) -> None:
    batch, item = (
        load("create-batch.response.prose-instance.json"),
        load("batch-item.schema-instance.json"),
    )
    second_run = {**item["run"], "id": "0190f4d2-6b1e-7c3a-9f21-4d5e6f7081a0"}
    second = {**item, "sequence_index": 1, "run_id": second_run["id"], "run": second_run}
    emulator.inject(201, body=batch)
    emulator.inject(200, body={"items": [item, second], "first": None, "next": None})
    target = f"models/{MODEL_ID}"
    result = await once.create_many([RunRequest(target=target, inputs=PROMPT)] * 2)
    assert result.ok
    assert [r.id for r in result.runs] == [item["run_id"], second_run["id"]]
    assert all(r.target == target and r.status is RunStatus.SUCCEEDED for r in result.runs)
    post, items = emulator.log
    assert post.path == f"/v1/{target}/batches" and post.header("idempotency-key")
    assert items.path == f"/v1/batches/{batch['id']}/items"


# -- error bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "error", "code", "field"),
    [
        ("error.permission-denied.json", 403, AuthError, "PERMISSION_DENIED", None),
        ("error.run-not-found.constructed.json", 404, NotFound, "RUN_NOT_FOUND", None),
        ("error.rate-limited.json", 429, RateLimited, "RATE_LIMITED", None),
        ("error.unauthorized.constructed.json", 401, AuthError, "UNAUTHORIZED", None),
        ("error.insufficient-credit.constructed.json", 402, AuthError, "INSUFFICIENT_CREDIT", None),
        ("error.conflict.constructed.json", 409, Conflict, "CONFLICT", None),
        ("error.model-unavailable.constructed.json", 503, ProviderUnavailable,
         "MODEL_UNAVAILABLE", None),
        ("error.validation-422.schema-instance.json", 422, InvalidRequest,
         "validation_error", "input.prompt"),
        ("error.sdk-tolerated.constructed.json", 404, NotFound, "RUN_NOT_FOUND", None),
    ],
)  # fmt: skip
async def test_documented_error_bodies(
    once: RunClient,
    emulator: RunflowEmulator,
    name: str,
    status: int,
    error: type[RunbridgeError],
    code: str,
    field: str | None,
) -> None:
    body = load(name)
    emulator.inject(status, body=body)
    with pytest.raises(error) as caught:
        await once.get(emulator.unknown_id())
    exc = caught.value
    assert (exc.provider, exc.operation, exc.status, exc.body) == ("runflow", "get", status, body)
    message = body.get("message") or body["error"]["message"]
    assert message in str(exc) and f"[{code}]" in str(exc)
    if isinstance(exc, InvalidRequest):
        assert exc.field == field
        assert "Field required" in exc.message
    if isinstance(exc, RateLimited):
        assert exc.retry_after is None  # Runflow sends no Retry-After
