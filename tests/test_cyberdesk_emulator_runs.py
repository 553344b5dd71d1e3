"""Runs in the Cyberdesk emulator: lifecycle, writes, listing, replays and rate limits."""

from __future__ import annotations

from typing import Any

import pytest

from runbridge import RunStatus
from runbridge.emulation import ManualClock, iso
from runbridge.testing import RawClient, raw_client
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from support import CYBERDESK_RUN_FIELDS, cyberdesk_create


@pytest.fixture
def provider() -> str:
    return "cyberdesk"


# -- lifecycle --------------------------------------------------------------------------


async def test_lifecycle_follows_the_clock(api: RawClient, emulator: CyberdeskEmulator) -> None:
    emulator.checks_seconds = 5
    emulator.plan_next(queued=10, running=20, outputs={"total": 3})
    run = await cyberdesk_create(api)
    path = f"/v1/runs/{run['id']}"
    seen = []
    for step in (0, 10, 16, 10):
        emulator.advance(step)
        seen.append((await api("GET", path)).body)
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
    api: RawClient, emulator: CyberdeskEmulator, plan: dict[str, Any], native: str, error: bool
) -> None:
    emulator.plan_next(**plan)
    run = await cyberdesk_create(api)
    emulator.advance(3600)
    _, got = await api("GET", f"/v1/runs/{run['id']}")
    assert got["status"] == native
    assert (got["error"] is not None) == error
    if error:
        assert isinstance(got["error"], list) and all(isinstance(e, str) for e in got["error"])


async def test_patch_is_partial_and_pins_the_status(
    api: RawClient, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(queued=100)
    run = await cyberdesk_create(api, input_values={"a": 1})
    path = f"/v1/runs/{run['id']}"
    status, got = await api("PATCH", path, json={"status": "running", "output_data": {"o": 1}})
    assert status == 200
    assert got["status"] == "running" and got["started_at"] is not None
    assert got["input_values"] == {"a": 1} and got["output_data"] == {"o": 1}
    emulator.advance(10_000)  # a patched status is no longer moved by the clock
    _, got = await api("PATCH", path, json={"output_data": None})
    assert got["status"] == "running" and got["output_data"] is None
    _, got = await api("PATCH", path, json={"status": "cancelled"})
    assert got["status"] == "cancelled" and got["ended_at"] is not None


async def test_patch_back_to_scheduling_forgets_the_start(
    api: RawClient, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(queued=0, running=100)
    run = await cyberdesk_create(api)
    emulator.advance(10)
    path = f"/v1/runs/{run['id']}"
    assert (await api("GET", path)).body["started_at"] is not None
    _, got = await api("PATCH", path, json={"status": "scheduling"})
    assert got["status"] == "scheduling"
    assert got["started_at"] is None and got["machine_id"] is None and got["ended_at"] is None


DOCUMENTED_STATUSES = (
    "scheduling",
    "running",
    "running_checks",
    "success",
    "task_failed",
    "error",
    "cancelled",
)


def test_the_documented_statuses_are_declared() -> None:
    statuses = CyberdeskEmulator.statuses
    assert set(statuses.documented) == set(DOCUMENTED_STATUSES)
    assert statuses.terminal == {"success", "task_failed", "error", "cancelled"}


@pytest.mark.parametrize("native", DOCUMENTED_STATUSES)
async def test_force_status_serves_any_documented_status(
    api: RawClient, emulator: CyberdeskEmulator, native: str
) -> None:
    emulator.plan_next(queued=0, running=100)
    run = await cyberdesk_create(api)
    emulator.advance(1)  # running: a forced terminal status keeps its start
    emulator.force_status(run["id"], native)
    emulator.advance(10_000)  # a forced status holds whatever the clock does
    _, got = await api("GET", f"/v1/runs/{run['id']}")
    assert got["status"] == native
    assert (got["started_at"] is None) == (native == "scheduling")
    assert (got["ended_at"] is not None) == (native in emulator.statuses.terminal)
    _, page = await api("GET", "/v1/runs", params={"status": native})
    assert [item["id"] for item in page["items"]] == [run["id"]]


def test_force_status_refuses_undocumented_values(emulator: CyberdeskEmulator) -> None:
    emulator.runs.clear()
    with pytest.raises(ValueError, match="not a documented cyberdesk status"):
        emulator.force_status(emulator.unknown_id(), "completed")


async def test_retry_is_in_place_and_only_for_terminal_runs(
    api: RawClient, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(queued=0, running=10)
    run = await cyberdesk_create(api, input_values={"n": 1})
    path = f"/v1/runs/{run['id']}/retry"
    status, body = await api("POST", path, json={})
    assert status == 409 and "terminal" in body["detail"]
    emulator.advance(20)
    emulator.plan_next(queued=5)
    status, got = await api("POST", path, json={"input_values": {"n": 2}})
    assert status == 200
    assert got["id"] == run["id"] and got["status"] == "scheduling"
    assert got["output_data"] is None and got["ended_at"] is None and got["started_at"] is None
    assert got["input_values"] == {"n": 2}
    assert len(emulator.runs) == 1


async def test_bulk_creates_count_runs_with_one_session(
    api: RawClient, emulator: CyberdeskEmulator
) -> None:
    body = {"workflow_id": emulator.default_target, "count": 3, "start_session": True}
    status, result = await api("POST", "/v1/runs/bulk", json=body)
    assert status == 201
    assert result["failed_count"] == 0 and result["errors"] == []
    runs = result["created_runs"]
    assert len(runs) == 3 and len({r["session_id"] for r in runs}) == 1
    assert all(set(r) == CYBERDESK_RUN_FIELDS for r in runs)


async def test_bulk_failures_can_be_planned(api: RawClient, emulator: CyberdeskEmulator) -> None:
    emulator.fail_bulk(2, message="pool exhausted")
    body = {"workflow_id": emulator.default_target, "count": 5}
    _, result = await api("POST", "/v1/runs/bulk", json=body)
    assert len(result["created_runs"]) == 3
    assert result["failed_count"] == 2 and result["errors"] == ["pool exhausted"] * 2


# -- listing ----------------------------------------------------------------------------


async def test_list_filters_and_sorting(api: RawClient, emulator: CyberdeskEmulator) -> None:
    other = emulator.add_workflow()
    emulator.plan_next(queued=1000)
    waiting = await cyberdesk_create(api, input_values={"name": "Alpha"})
    emulator.advance(50)
    emulator.plan_next(queued=0, running=1)
    done = (await api("POST", "/v1/runs", json={"workflow_id": other})).body
    emulator.advance(50)
    emulator.plan_next(queued=0, running=1)
    latest = await cyberdesk_create(api)
    emulator.advance(5)

    async def ids(**params: str) -> list[str]:
        status, page = await api("GET", "/v1/runs", params=params)
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


async def test_included_resources_are_type_and_id(
    api: RawClient, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(queued=0)
    run = await cyberdesk_create(api)
    emulator.advance(1)
    _, got = await api("GET", f"/v1/runs/{run['id']}", params={"include": "workflow,machine"})
    assert got["included"] == [
        {"type": "workflow", "id": emulator.default_target},
        {"type": "machine", "id": emulator.machine_id},
    ]
    _, plain = await api("GET", f"/v1/runs/{run['id']}")
    assert plain["included"] is None


async def test_included_names_are_an_extra() -> None:
    emulator = CyberdeskEmulator(extras={"included_names"})
    async with raw_client(emulator) as api:
        await cyberdesk_create(api)
        _, page = await api("GET", "/v1/runs", params={"include": "workflow"})
    assert page["included"] == [
        {"type": "workflow", "id": emulator.default_target, "name": "Default workflow"}
    ]


def test_unknown_extras_are_refused() -> None:
    with pytest.raises(ValueError, match="no extra 'owner'"):
        CyberdeskEmulator(extras={"owner"})


async def test_fields_projection_keeps_the_base_fields(api: RawClient) -> None:
    await cyberdesk_create(api, input_values={"a": 1})
    params = [("fields", "input_values"), ("fields", "started_at"), ("include", "workflow")]
    _, page = await api("GET", "/v1/runs", params=params)
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
    api: RawClient, emulator: CyberdeskEmulator
) -> None:
    key = {"Idempotency-Key": "550e8400-e29b-41d4-a716-446655440000"}
    body = {"workflow_id": emulator.default_target, "input_values": {"x": 1}}
    first = await api("POST", "/v1/runs", json=body, headers=key)
    emulator.advance(100)
    second = await api("POST", "/v1/runs", json=body, headers=key)
    assert first.status == second.status == 201 and first.body == second.body
    assert len(emulator.runs) == 1
    clash = await api("POST", "/v1/runs", json={**body, "input_values": {"x": 2}}, headers=key)
    assert clash.status == 409
    third = await api("POST", "/v1/runs", json=body)
    assert third.body["id"] != first.body["id"] and len(emulator.runs) == 2


async def test_idempotent_delete_replays_204(api: RawClient, emulator: CyberdeskEmulator) -> None:
    run = await cyberdesk_create(api)
    key = {"Idempotency-Key": "6c1a1bde-6a6f-4c36-a1a4-5f4a3c1f0b9e"}
    path = f"/v1/runs/{run['id']}"
    assert (await api("DELETE", path, headers=key)).status == 204
    assert (await api("DELETE", path, headers=key)).status == 204
    assert (await api("DELETE", path)).status == 404


async def test_rate_limit_answers_429_with_headers() -> None:
    emulator = CyberdeskEmulator(rate_limit=2, rate_window=60, clock=ManualClock(start=600.0))
    async with raw_client(emulator) as api:
        emulator.advance(15)
        statuses = []
        for _ in range(3):
            answer = await api("GET", "/v1/runs")
            headers = answer.headers
            statuses.append((answer.status, headers["X-RateLimit-Remaining"]))
        assert statuses == [(200, "1"), (200, "0"), (429, "0")]
        assert headers["Retry-After"] == "45"
        assert headers["X-RateLimit-Limit"] == "2" and headers["X-RateLimit-Reset"] == "660"
        assert (await api("GET", "/v1/health")).status == 200
        emulator.advance(45)
        assert (await api("GET", "/v1/runs")).status == 200
