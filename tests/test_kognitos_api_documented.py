"""Kognitos API payloads built from the spec's schemas give their canonical result,
parsed and served over HTTP.

The spec has no examples; each fixture under ``tests/data/documented/kognitos-api/``
is an instance of a schema (see the README there). The emulator only replays the
fixture (``inject``), so these tests hold the adapter to the spec, not to the emulator.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runbridge import Hold, InvalidRequest, NotFound, RunClient, RunStatus
from runbridge_kognitos_api import Value
from runbridge_kognitos_api.emulator import KognitosApiEmulator

DATA = Path(__file__).parent / "data" / "documented" / "kognitos-api"
AUTOMATION = "organizations/acme-org/workspaces/finance/automations/V1StGXR8_Z5jdHi6B-myT"
NAME = f"{AUTOMATION}/runs/run-0001"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture
def provider() -> str:
    return "kognitos-api"


def test_a_completed_run_reads_every_value_kind(once: RunClient) -> None:
    payload = load("run-completed.schema.json")
    run = once.parse_run(payload)
    assert run.id == NAME and run.ref.provider == "kognitos-api"
    assert run.target == AUTOMATION
    assert (run.status, run.native_status, run.hold) == (RunStatus.SUCCEEDED, "completed", None)
    assert run.outputs == {
        "total": Decimal("123.45"),
        "status": "paid",
        "lines": ["A-1", True],
        "by_sku": {"A-1": 2},
        "receipt": Value({"file": {"remote": "organizations/acme-org/files/f-1"}}),
    }
    assert run.inputs == {
        "invoice": "INV-1",
        "amount": Decimal("-0.001"),
        "due": date(2025, 1, 31),
        "note": None,
    }
    assert run.created_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert run.finished_at == datetime(2025, 1, 1, 0, 5, tzinfo=UTC)
    assert run.started_at is None and run.name is None and run.failure is None
    assert run.raw == payload


def test_a_failed_run_gives_its_description_and_error_id(once: RunClient) -> None:
    run = once.parse_run(load("run-failed.schema.json"))
    assert run.status is RunStatus.FAILED and run.failure is not None
    assert (run.failure.kind, run.failure.message, run.failure.code) == (
        "task",
        "vendor portal down",
        "err-42",
    )
    assert run.target == f"{AUTOMATION}@draft"
    assert run.created_at == datetime(2025, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert run.inputs == {} and run.outputs is None


@pytest.mark.parametrize(
    ("name", "hold"),
    [
        ("run-awaiting-guidance.schema.json", Hold("person", "Which vendor is meant?")),
        ("run-stopped.schema.json", Hold("paused", "month-end freeze")),
    ],
)
def test_held_states_read_as_running_with_their_hold(
    once: RunClient, name: str, hold: Hold
) -> None:
    run = once.parse_run(load(name))
    assert run.status is RunStatus.RUNNING and run.hold == hold
    assert run.finished_at is None


def test_the_minimal_run_is_pending(once: RunClient) -> None:
    run = once.parse_run(load("run-pending.schema-minimal.json"))
    assert (run.status, run.native_status, run.target) == (RunStatus.PENDING, "pending", AUTOMATION)
    assert run.created_at is None and run.inputs == {}


async def test_an_invoke_answer_is_read_back_by_name(
    once: RunClient, emulator: KognitosApiEmulator
) -> None:
    emulator.inject(200, body=load("invoke.schema.json"))
    emulator.inject(200, body=load("run-pending.schema-minimal.json"))
    run = await once.create(AUTOMATION)
    assert run.id == NAME and run.status is RunStatus.PENDING
    invoke, get = emulator.log[-2:]
    assert (invoke.method, invoke.path) == ("POST", f"/api/v1/{AUTOMATION}:invoke")
    assert invoke.body == {"stage": "AUTOMATION_STAGE_PUBLISHED", "inputs": {}}
    assert (get.method, get.path) == ("GET", f"/api/v1/{NAME}")


async def test_an_invoke_whose_read_back_fails_still_returns_the_run(
    once: RunClient, emulator: KognitosApiEmulator
) -> None:
    emulator.inject(200, body=load("invoke.schema.json"))
    emulator.inject(404, body=load("error-not-found.schema.json"))  # not readable yet
    run = await once.create(AUTOMATION, inputs={"n": 1})
    assert run.id == NAME and run.status is RunStatus.PENDING and run.inputs == {"n": 1}


async def test_a_page_token_goes_back_with_the_query_it_belongs_to(
    once: RunClient, emulator: KognitosApiEmulator
) -> None:
    emulator.inject(200, body=load("list-with-token.schema.json"))
    after = datetime(2025, 1, 1, tzinfo=UTC)
    page = await once.list_page(target=AUTOMATION, page_size=5, created_after=after)
    (run,) = page.items
    assert run.id == NAME and run.status is RunStatus.RUNNING
    assert page.next_cursor is not None and "opaque-token-1" not in page.next_cursor
    first = emulator.log[-1]
    assert first.path == f"/api/v1/{AUTOMATION}/runs"
    assert (first.param("page_size"), first.param("page_token")) == ("5", None)
    assert first.param("filter") == 'create_time >= "2025-01-01T00:00:00Z"'
    emulator.inject(200, body=load("list-last-page.schema-minimal.json"))
    # resumed with another page size and no filter: the token's own query is sent
    last = await once.list_page(target=AUTOMATION, page_size=2, cursor=page.next_cursor)
    assert last.items == () and last.next_cursor is None
    second = emulator.log[-1]
    assert second.param("page_token") == "opaque-token-1"
    assert (second.param("page_size"), second.param("filter")) == (
        "5",
        'create_time >= "2025-01-01T00:00:00Z"',
    )


@pytest.mark.parametrize(
    ("name", "status", "error", "field"),
    [
        ("error-not-found.schema.json", 404, NotFound, None),
        ("error-invalid-argument.schema.json", 400, InvalidRequest, "created_after"),
    ],
)
async def test_rpc_status_bodies(
    once: RunClient,
    emulator: KognitosApiEmulator,
    name: str,
    status: int,
    error: type[Exception],
    field: str | None,
) -> None:
    body = load(name)
    emulator.inject(status, body=body)
    with pytest.raises(error) as caught:
        await once.get(NAME)
    code = {5: "NOT_FOUND", 3: "INVALID_ARGUMENT"}[body["code"]]
    assert caught.value.message == f"{body['message']} [{code}]"  # type: ignore[attr-defined]
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert getattr(caught.value, "field", None) == field
    assert caught.value.body == body  # type: ignore[attr-defined]
