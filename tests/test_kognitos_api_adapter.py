"""The Kognitos API 1.0 adapter against its emulator over real HTTP: invoke and read,
typed values, pause and continue, held runs, rpcStatus errors, pages bound to their
query in either listing order, and exactly-once creates without a key or a name."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

import runbridge
import runbridge.adapter
from runbridge import (
    Conflict,
    CreateUnconfirmed,
    InvalidRequest,
    NotFound,
    RunClient,
    RunHeld,
    RunStatus,
)
from runbridge.emulation import ManualClock
from runbridge.testing import emulated_client, testing_options
from runbridge_kognitos_api import Value
from runbridge_kognitos_api.emulator import KognitosApiEmulator

PUBLISHED = "AUTOMATION_STAGE_PUBLISHED"


@pytest.fixture
def provider() -> str:
    return "kognitos-api"


@pytest.fixture
def emulator() -> KognitosApiEmulator:
    return KognitosApiEmulator(clock=ManualClock())


def invoked(emulator: KognitosApiEmulator) -> list[dict[str, Any]]:
    """The bodies of every ``:invoke`` the emulator received."""
    return [e.body for e in emulator.log if e.operation == "create"]


async def test_an_invoke_is_read_back_with_its_typed_inputs(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    inputs = {
        "customer": "ACME",
        "amount": Decimal("1234.50"),
        "count": 3,
        "rate": 0.1,
        "due": date(2026, 12, 31),
        "lines": [{"sku": "A-1", "qty": 2}],
        "note": None,
        "attachment": Value({"file": {"remote": "files/abc"}}),
    }
    run = await client.create(emulator.default_target, inputs=inputs)
    (body,) = invoked(emulator)
    assert body["stage"] == PUBLISHED
    assert body["inputs"]["amount"] == {
        "number": {"lo": 123450, "mid": 0, "hi": 0, "flags": 2 << 16}
    }
    assert body["inputs"]["attachment"] == {"file": {"remote": "files/abc"}}
    assert run.ref.provider == "kognitos-api" and run.id in emulator.runs
    assert run.target == emulator.default_target
    assert run.status is RunStatus.PENDING and run.native_status == "pending"
    got = await client.get(run)
    assert got.inputs == {**inputs, "rate": Decimal("0.1")}
    assert str(got.inputs["amount"]) == "1234.50"  # the scale survives the round trip


async def test_a_retry_sends_the_values_it_read_exactly(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(queued=0, running=0)
    run = await client.create(emulator.default_target, inputs={"x": Decimal("-0.000"), "n": 7})
    emulator.advance(5)
    fresh = await client.get(run)  # read as a stranger would: retried from its payload
    retried = await client.retry(fresh)
    first, second = invoked(emulator)
    assert first["inputs"] == second["inputs"]
    assert retried.id != run.id


async def test_a_draft_target_invokes_the_draft_stage(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    run = await client.create(f"{emulator.default_target}@DRAFT")
    assert invoked(emulator)[0]["stage"] == "AUTOMATION_STAGE_DRAFT"
    assert run.target == f"{emulator.default_target}@draft"


async def test_bad_requests_are_refused_before_the_wire(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    target = emulator.default_target
    cases = [
        ({"name": "a run name"}, "name"),
        ({"inputs": {"tiny": Decimal("1e-29")}}, "inputs"),
        ({"inputs": {"huge": 2**96}}, "inputs"),
        ({"inputs": {"d": {(1, 2): "tuple key"}}}, "inputs"),
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidRequest) as caught:
            await client.create(target, **kwargs)
        assert caught.value.field == field and caught.value.provider == "kognitos-api"
    for bad in ("automations/x", "organizations/o/workspaces/w", f"{target}@live", "a b"):
        with pytest.raises(InvalidRequest) as caught:
            await client.create(bad)
        assert caught.value.field == "target"
    assert emulator.log == []


async def test_short_targets_with_organization_and_workspace_settings(
    emulator: KognitosApiEmulator,
) -> None:
    organization, workspace, automation = emulator.default_target.split("/")[1::2]
    async with emulated_client(
        "kognitos-api", emulator=emulator, organization=organization, workspace=workspace
    ) as (client, _):
        run = await client.create(automation)
        assert run.target == emulator.default_target
        assert client.adapter.canonical_target(f"{automation}@draft") == (
            f"{emulator.default_target}@draft"
        )


def test_settings_are_checked() -> None:
    with pytest.raises(runbridge.ConfigError) as caught:
        runbridge.connect("kognitos-api", token="t", region="mars")
    assert caught.value.field == "region"
    with pytest.raises(runbridge.ConfigError) as caught:
        runbridge.connect("kognitos-api", token="t", organization="a/b")
    assert caught.value.field == "organization"


async def test_pause_then_continue(client: RunClient, emulator: KognitosApiEmulator) -> None:
    emulator.plan_next(queued=0, running=100)
    run = await client.create(emulator.default_target)
    emulator.advance(1)
    paused = await client.pause(run, reason="month-end freeze")
    assert [e.body for e in emulator.log if e.operation == "pause"] == [
        {"reason": "month-end freeze"}
    ]
    assert paused.native_status == "stopping" and paused.hold is None  # on its way
    emulator.advance(emulator.stop_seconds)
    with pytest.raises(RunHeld) as caught:
        await client.wait(run, timeout=5, poll_interval=0.01)
    held = caught.value.run
    assert (held.status, held.native_status) == (RunStatus.RUNNING, "stopped")
    assert held.hold == runbridge.Hold("paused", "month-end freeze")
    resumed = await client.resume(run)
    assert resumed.native_status == "executing" and resumed.hold is None
    emulator.advance(1000)
    assert (await client.get(run)).status is RunStatus.SUCCEEDED


async def test_a_pause_without_a_reason_sends_one(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(queued=0, running=100)
    run = await client.create(emulator.default_target)
    await client.pause(run)
    (entry,) = [e for e in emulator.log if e.operation == "pause"]
    assert entry.body["reason"]


async def test_a_pause_sent_again_after_a_lost_answer_is_not_an_error(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(queued=0, running=100)
    run = await client.create(emulator.default_target)
    emulator.inject_fault("slow")  # the read before the pause passes, slowly
    emulator.inject_fault("reset_after")  # paused, but the answer is lost
    paused = await client.pause(run, reason="again")
    assert emulator.calls["pause"] == 2  # the second answer: FAILED_PRECONDITION
    assert paused.native_status in ("stopping", "stopped")


async def test_continue_on_a_run_that_is_not_stopped_is_a_conflict(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(queued=0, running=100)
    run = await client.create(emulator.default_target)
    emulator.force_status(run.id, "awaiting_guidance")
    with pytest.raises(Conflict) as caught:
        await client.resume(run)
    assert caught.value.code == "FAILED_PRECONDITION"


async def test_a_run_awaiting_guidance_ends_a_wait_with_the_description(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    run = await client.create(emulator.default_target)
    emulator.force_status(run.id, "awaiting_guidance")
    with pytest.raises(RunHeld) as caught:
        await client.wait(run, timeout=5, poll_interval=0.01)
    hold = caught.value.hold
    assert hold is not None and hold.kind == "person"
    raw_state = caught.value.run.raw["state"]["awaiting_guidance"]
    assert hold.reason == raw_state["description"]


async def test_a_failed_run_reports_the_state_description_and_error_id(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(outcome=RunStatus.FAILED, message="vendor portal down", queued=0, running=0)
    run = await client.create(emulator.default_target)
    emulator.advance(5)
    done = await client.get(run)
    assert done.status is RunStatus.FAILED and done.failure is not None
    assert done.failure.message == done.raw["state"]["failed"]["description"]
    assert done.failure.code == done.raw["state"]["failed"]["id"]
    assert done.finished_at is not None and done.outputs is None


async def test_errors_follow_the_grpc_code_whatever_the_http_status(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    with pytest.raises(NotFound):
        await client.get(emulator.unknown_id())
    run = await client.create(emulator.default_target)
    body = {"code": 5, "message": "run is gone", "details": []}
    emulator.inject(400, body=body)  # a gateway that answers NOT_FOUND with 400
    with pytest.raises(NotFound, match="run is gone"):
        await client.get(run)
    emulator.inject(409, body={"code": "FAILED_PRECONDITION", "message": "no"})
    with pytest.raises(Conflict):
        await client.get(run)


async def test_an_unpublished_automation_refuses_a_published_invoke(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    draft_only = emulator.add_automation(stages=("AUTOMATION_STAGE_DRAFT",))
    with pytest.raises(Conflict) as caught:
        await client.create(draft_only)
    assert caught.value.code == "FAILED_PRECONDITION"
    assert (await client.create(f"{draft_only}@draft")).status is RunStatus.PENDING


@pytest.mark.parametrize("order", ["newest", "oldest"])
async def test_listings_page_through_every_run_once_in_either_order(order: str) -> None:
    clock = ManualClock()
    emulator = KognitosApiEmulator(clock=clock, order=order)  # type: ignore[arg-type]
    target = emulator.default_target
    async with emulated_client("kognitos-api", emulator=emulator) as (client, _):
        made = []
        for n in range(7):
            made.append((await client.create(target, inputs={"n": n})).ref)
            clock.advance(1)
        listed = [run.ref async for run in client.list(target=target, page_size=3)]
        assert sorted(listed, key=str) == sorted(made, key=str) and len(listed) == 7
        first = await client.list_page(target=target, page_size=4)
        assert first.next_cursor is not None
        rest = await client.list_page(target=target, page_size=2, cursor=first.next_cursor)
        rest2 = await client.list_page(target=target, page_size=2, cursor=rest.next_cursor)
        seen = [r.ref for r in (*first.items, *rest.items, *rest2.items)]
        assert len(set(seen)) == len(seen) == 7
        assert rest2.next_cursor is None


async def test_created_after_and_before_go_to_the_server_as_a_filter(
    client: RunClient, emulator: KognitosApiEmulator
) -> None:
    target = emulator.default_target
    runs = []
    for _ in range(4):
        runs.append(await client.create(target))
        emulator.advance(60)
    read = [await client.get(r) for r in runs]
    after, before = read[1].created_at, read[2].created_at
    assert after is not None and before is not None
    listed = await client.list(target=target, created_after=after, created_before=before).collect()
    assert {r.ref for r in listed} == {runs[1].ref, runs[2].ref}
    (query,) = [e.param("filter") for e in emulator.log if e.operation == "list"]
    assert query == (
        f'create_time >= "{runbridge.adapter.format_timestamp(after)}" AND '
        f'create_time <= "{runbridge.adapter.format_timestamp(before)}"'
    )


# -- exactly-once without a key or a name ------------------------------------------------


@pytest.fixture
def options() -> runbridge.ClientOptions:
    return testing_options(settle_window=0.0)


async def test_a_lost_invoke_answer_is_found_by_its_inputs_and_not_sent_again(
    emulator: KognitosApiEmulator, options: runbridge.ClientOptions
) -> None:
    async with emulated_client("kognitos-api", emulator=emulator, options=options) as (client, _):
        target = emulator.default_target
        await client.create(target, inputs={"invoice": "INV-1"})  # a near miss
        emulator.inject_fault("reset_after")  # the run is made, the answer lost
        run = await client.create(target, inputs={"invoice": "INV-2"})
        assert emulator.calls["create"] == 2 and len(emulator.runs) == 2
        assert emulator.calls["list"] >= 1
        assert run.inputs == {"invoice": "INV-2"} and run.id in emulator.runs


async def test_two_runs_with_the_same_inputs_leave_a_lost_create_unconfirmed(
    emulator: KognitosApiEmulator, options: runbridge.ClientOptions
) -> None:
    target = emulator.default_target
    async with emulated_client("kognitos-api", emulator=emulator, options=options) as (other, _):
        await other.create(target, inputs={"invoice": "INV-9"})  # someone else, same inputs
    async with emulated_client("kognitos-api", emulator=emulator, options=options) as (client, _):
        emulator.inject_fault("reset_after")
        with pytest.raises(CreateUnconfirmed) as caught:
            await client.create(target, inputs={"invoice": "INV-9"})
        assert len(caught.value.candidates) == 2
        assert len(emulator.runs) == 2  # never sent a third time


async def test_a_lost_create_is_unconfirmed_when_runs_do_not_show_their_inputs(
    emulator: KognitosApiEmulator, options: runbridge.ClientOptions
) -> None:
    async with emulated_client("kognitos-api", emulator=emulator, options=options) as (client, _):
        emulator.inject_fault("reset_after")
        emulator.faults = runbridge.emulation.Faults(missing_fields=1.0, methods={"GET"})
        with pytest.raises(CreateUnconfirmed):
            await client.create(emulator.default_target, inputs={"invoice": "INV-3"})
        assert len(emulator.runs) == 1


def test_resource_names_are_ids_and_nothing_else() -> None:
    adapter = runbridge.adapter.default_registry.adapter("kognitos-api")
    fmt = adapter.id_format
    good = "organizations/o-1/workspaces/w_2/automations/AbC123def456ghi789jkL/runs/r9"
    assert fmt.normalize(good) == good
    for bad in ("r9", f"{good}/", f"{good}:pause", good.replace("runs", "run"), "../x"):
        assert fmt.normalize(bad) is None


def test_capabilities_say_what_the_api_lacks() -> None:
    caps = runbridge.adapter.default_registry.adapter("kognitos-api").capabilities
    for missing in ("cancel", "delete", "update"):
        assert caps.support(missing) is runbridge.Support.UNSUPPORTED
    for native in ("create", "get", "list", "pause", "resume"):
        assert caps.support(native) is runbridge.Support.NATIVE
    assert "name" not in caps.reports and not caps.newest_first


def test_timestamps_in_filters_are_utc_with_z() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC) + timedelta(hours=0)
    assert runbridge.adapter.format_timestamp(at) == "2026-01-02T03:04:05.600000Z"
