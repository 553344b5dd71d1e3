"""Payloads shaped exactly as Cyberdesk documents them, and what runbridge makes of them.

Every example in the provider facts and docs excerpts is a fixture under
``tests/data/documented/cyberdesk/`` (see the README there). Each test states the
canonical result through the public API: parsed directly with ``parse_run``, and
served over HTTP by the emulator (``inject``) to ``get``, ``list_page`` and
``create_many``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from runbridge import (
    Failure,
    InvalidRequest,
    NotFound,
    Run,
    RunClient,
    RunRequest,
    RunStatus,
)
from runbridge_cyberdesk.emulator import CyberdeskEmulator

DOCUMENTED = Path(__file__).parent / "data" / "documented" / "cyberdesk"
SEED_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
"""The one id the docs' examples use for every uuid field."""


def load(name: str) -> Any:
    return json.loads((DOCUMENTED / name).read_text(encoding="utf-8"))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# Tests read through ``once``, a client that never retries, so each served payload
# is read exactly once.
@pytest.fixture
def provider() -> str:
    return "cyberdesk"


def assert_aware_utc(*stamps: datetime | None) -> None:
    for stamp in stamps:
        assert stamp is None or (stamp.utcoffset() is not None and stamp.tzinfo is UTC)


def assert_seed_run(run: Run) -> None:
    """The docs' run example: scheduling, with placeholders everywhere."""
    assert run.id == SEED_ID and run.provider == "cyberdesk"
    assert run.target == SEED_ID
    assert run.status is RunStatus.PENDING and run.native_status == "scheduling"
    # ``error`` holds a placeholder, but a scheduling run has not failed.
    assert run.failure is None
    assert run.created_at == utc(2023, 11, 7, 5, 31, 56)
    assert run.started_at is None and run.finished_at is None  # absent from the older page
    assert_aware_utc(run.created_at)
    assert run.inputs == {} and run.outputs == {}
    assert run.cost is None and run.progress is None and run.name is None


@pytest.mark.parametrize("name", ["update-run.response.json", "retry-run.response.json"])
async def test_the_run_examples(once: RunClient, emulator: CyberdeskEmulator, name: str) -> None:
    payload = load(name)
    assert_seed_run(once.parse_run(payload))
    emulator.inject(200, body=payload)
    served = await once.get(SEED_ID)
    assert_seed_run(served)
    assert served.raw == payload


async def test_the_bulk_create_example(once: RunClient, emulator: CyberdeskEmulator) -> None:
    payload = load("bulk-create-runs.response.json")
    emulator.inject(201, body=payload)
    result = await once.create_many([RunRequest(target=SEED_ID)])
    (run,) = result.runs
    assert_seed_run(run)
    assert result.requested == 1
    # The run was created, yet the answer lists an error with failed_count 0: it is
    # reported (without an index, as no request is missing), never dropped.
    (error,) = result.errors
    assert error.index is None and "<string>" in error.message
    assert not result.ok
    (sent,) = [e for e in emulator.log if e.path == "/v1/runs/bulk"]
    assert sent.body == {"workflow_id": SEED_ID, "count": 1}


def assert_full_run(run: Run) -> None:
    """Every field of ``RunResponse`` (SDK 2.2.69), for a run that succeeded."""
    assert run.id == "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
    assert run.target == SEED_ID
    assert run.status is RunStatus.SUCCEEDED and run.native_status == "success"
    assert run.failure is None
    assert run.inputs == {"invoice": "INV-42"}
    assert run.outputs == {"invoice_total": 1250.5}
    assert run.created_at == utc(2025, 1, 2, 3, 4, 0)
    assert run.started_at == datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert run.finished_at == utc(2025, 1, 2, 3, 9, 5)
    assert_aware_utc(run.created_at, run.started_at, run.finished_at)
    assert run.duration == pytest.approx(299.876544)
    assert run.cost is None  # usage_metadata is documented as free-form: no cost in {}
    assert run.progress is None and run.name is None


async def test_a_run_with_every_documented_field(
    once: RunClient, emulator: CyberdeskEmulator
) -> None:
    payload = load("run-response.schema-instance.json")
    assert_full_run(once.parse_run(payload))
    emulator.inject(200, body={**payload, "included": None})  # as GET /v1/runs/{id} has it
    assert_full_run(await once.get(payload["id"]))


async def test_the_list_envelope(once: RunClient, emulator: CyberdeskEmulator) -> None:
    envelope = load("list-runs.schema-instance.json")
    emulator.inject(200, body=envelope)
    page = await once.list_page(page_size=1)
    (run,) = page.items
    assert run.id == "7d5e2f0a-1b2c-4d3e-8f40-5a6b7c8d9e0f" and run.target == SEED_ID
    assert run.status is RunStatus.RUNNING and run.native_status == "running"
    assert run.failure is None and run.created_at == utc(2025, 1, 2, 3, 4, 0)
    assert run.started_at is None and run.finished_at is None  # not in a minimal item
    assert run.inputs == {} and run.outputs is None and run.cost is None
    query = emulator.log[-1]
    assert (query.param("skip"), query.param("limit")) == ("0", "1")
    # total 3 with one item read from offset 0: the next page starts at offset 1.
    assert page.next_cursor is not None
    emulator.inject(200, body={**envelope, "skip": 1})
    await once.list_page(page_size=1, cursor=page.next_cursor)
    assert emulator.log[-1].param("skip") == "1"


def test_the_run_complete_webhook(once: RunClient) -> None:
    event = load("webhook-run-complete.schema-instance.json")
    run = once.parse_run(event["run"])
    assert run.id == "2a3b4c5d-6e7f-4081-9203-a4b5c6d7e8f9" and run.target == SEED_ID
    assert run.status is RunStatus.FAILED and run.native_status == "task_failed"
    assert run.failure == Failure("task", "Invoice INV-42 was not found in the portal")
    assert run.outputs is None and run.inputs == {"invoice": "INV-42"}
    assert (run.started_at, run.finished_at) == (utc(2025, 1, 2, 3, 4, 5), utc(2025, 1, 2, 3, 9, 5))
    assert_aware_utc(run.created_at, run.started_at, run.finished_at)
    assert run.cost is None and run.progress is None


async def test_the_validation_error(once: RunClient, emulator: CyberdeskEmulator) -> None:
    emulator.inject(422, body=load("validation-error.limit-0.json"))
    with pytest.raises(InvalidRequest) as caught:
        await once.list_page()
    error = caught.value
    assert error.status == 422 and error.field == "limit"
    assert error.provider == "cyberdesk" and error.operation == "list"
    assert error.message == (
        "Input should be greater than or equal to 1 (at 'limit') [greater_than_equal]"
    )


async def test_the_emulator_answers_limit_zero_as_documented(
    once: RunClient, emulator: CyberdeskEmulator
) -> None:
    # Not through the client (it refuses page_size=0 itself): the emulator must
    # produce the documented body on its own.
    headers = {"Authorization": f"Bearer {emulator.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{once.base_url}/v1/runs?limit=0", headers=headers) as resp,
    ):
        assert resp.status == 422
        assert await resp.json() == load("validation-error.limit-0.json")


async def test_the_not_found_error(once: RunClient, emulator: CyberdeskEmulator) -> None:
    body = load("not-found.run.json")
    emulator.inject(404, body=body)
    with pytest.raises(NotFound) as caught:
        await once.get(SEED_ID)
    assert caught.value.status == 404 and caught.value.message == "Run not found"
    assert caught.value.operation == "get" and caught.value.body == body
    # The emulator's own answer for a missing run is that body too.
    with pytest.raises(NotFound) as again:
        await once.get(emulator.unknown_id())
    assert again.value.body == body


async def test_the_emulator_serves_exactly_the_documented_run_fields(
    once: RunClient, emulator: CyberdeskEmulator
) -> None:
    documented = set(load("run-response.schema-instance.json"))
    run = await once.create(emulator.default_target)
    assert set(run.raw) == documented
    got = await once.get(run)
    assert set(got.raw) == documented | {"included"}  # RunResponseWithIncludes
    (listed,) = (await once.list_page()).items
    assert set(listed.raw) == documented
