"""Plans: what the next runs, or every run of one target, will do; runs that never finish;
failure messages. Through the public client against each emulator on a manual clock."""

from __future__ import annotations

import math
from typing import Any

import pytest

from runbridge import RunClient, RunRequest, RunStatus
from runbridge.emulation import Emulator, Plan, Timeline
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from runbridge_runflow.emulator import RunflowEmulator
from support import PROVIDERS


async def finish(client: RunClient, emulator: Emulator, target: str, **inputs: Any) -> Any:
    run = await client.create(target, inputs=inputs or None)
    emulator.advance(3600)
    return await client.get(run)


# -- Plan and its checks --------------------------------------------------------------


def test_a_plan_can_stay_pending_or_running() -> None:
    assert Plan(outcome="running").stays and Plan(outcome=RunStatus.PENDING).stays
    assert not Plan().stays
    timeline = Timeline(100.0, Plan(outcome="running", queued=1))
    assert timeline.phase(101.0) == "running" and timeline.phase(1e18) == "running"
    assert timeline.finished_at(1e18) is None and timeline.ends == math.inf
    pending = Timeline(100.0, Plan(outcome="pending"))
    assert pending.phase(1e18) == "pending" and pending.started_at(1e18) is None


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"outcome": "unknown"}, "stays pending or running"),
        ({"outcome": "bogus"}, "not 'bogus'"),
        ({"outcome": "running", "native": "Paused"}, "never ends in a native"),
        ({"outcome": "succeeded", "message": "x"}, "outcome='failed'"),
        ({"outcome": "failed", "message": 42}, "message must be a string"),
        ({"queued": math.nan}, "non-negative"),
        ({"running": -1}, "non-negative"),
        ({"failure": "cosmic"}, "task, system or timeout"),
    ],
)
def test_a_bad_plan_is_refused_when_made(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Plan(**fields)


def test_a_plan_that_stays_has_no_native_outcome() -> None:
    with pytest.raises(ValueError, match="ends in no status"):
        CyberdeskEmulator.statuses.outcome(Plan(outcome="running"))


@pytest.mark.parametrize("times", [0, -1, True, 1.5, "2"])
def test_times_must_be_a_positive_int(emulator: Emulator, times: Any) -> None:
    with pytest.raises(ValueError, match="times must be a positive int"):
        emulator.plan_next(times=times)


def test_a_plan_or_its_fields_not_both(emulator: Emulator) -> None:
    with pytest.raises(TypeError, match="not both"):
        emulator.plan_next(Plan(), outcome="failed")


def test_a_plan_for_a_target_that_does_not_exist_names_it(
    provider: str, emulator: Emulator
) -> None:
    for plan in (emulator.plan_next, emulator.plan_every):
        with pytest.raises(KeyError, match=f"{provider} emulator has no target 'nope/nope'"):
            plan(target="nope/nope", outcome="failed")


# -- which plan a run follows ---------------------------------------------------------


async def test_the_next_n_runs_follow_a_plan_then_the_default(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    emulator.plan_next(outcome="failed", times=3)
    runs = [await finish(client, emulator, target) for _ in range(4)]
    assert [r.status for r in runs] == [RunStatus.FAILED] * 3 + [RunStatus.SUCCEEDED]


async def test_a_target_s_own_plans_come_before_the_queue_and_the_standing_plan(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    other = emulator.add_target()
    emulator.plan_every(outcome="cancelled", target=other)
    emulator.plan_next(outcome="failed", target=other)
    emulator.plan_next(outputs={"queued": True})
    first = await finish(client, emulator, other)  # its own queued plan
    second = await finish(client, emulator, other)  # the general queue
    third = await finish(client, emulator, other)  # then its standing plan
    main = await finish(client, emulator, target)  # other targets: the default
    assert [first.status, second.status, third.status, main.status] == [
        RunStatus.FAILED,
        RunStatus.SUCCEEDED,
        RunStatus.CANCELLED,
        RunStatus.SUCCEEDED,
    ]
    assert second.outputs == {"queued": True}


async def test_a_plan_for_one_target_leaves_the_others_alone(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    other = emulator.add_target()
    emulator.plan_next(outcome="failed", target=other, times=2)
    assert (await finish(client, emulator, target)).status is RunStatus.SUCCEEDED
    assert (await finish(client, emulator, other)).status is RunStatus.FAILED
    assert (await finish(client, emulator, target)).status is RunStatus.SUCCEEDED
    assert (await finish(client, emulator, other)).status is RunStatus.FAILED
    assert (await finish(client, emulator, other)).status is RunStatus.SUCCEEDED


async def test_plan_every_without_a_target_replaces_the_default(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    emulator.plan_every(outcome="failed", failure="timeout")
    runs = [await finish(client, emulator, target) for _ in range(2)]
    assert {r.status for r in runs} == {RunStatus.FAILED}
    assert emulator.default_plan.failure == "timeout"


@pytest.mark.parametrize("provider", ["runflow"])
async def test_runflow_plans_match_either_form_of_the_target(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    assert isinstance(emulator, RunflowEmulator)
    path = emulator.path_of(target)
    emulator.plan_next(outcome="failed", target=path)  # created by its id form
    emulator.plan_next(outcome="cancelled", target=target)
    assert (await finish(client, emulator, target)).status is RunStatus.FAILED
    assert (await finish(client, emulator, path)).status is RunStatus.CANCELLED


@pytest.mark.parametrize("provider", ["cyberdesk"])
async def test_cyberdesk_plans_match_the_workflow_id_in_any_case(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    emulator.plan_next(outcome="failed", target=target.upper())
    assert (await finish(client, emulator, target)).status is RunStatus.FAILED


@pytest.mark.parametrize("provider", ["cyberdesk", "runflow"])
async def test_bulk_creates_take_one_plan_per_run_in_order(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    emulator.plan_next(outcome="failed")
    emulator.plan_next(outcome="cancelled")
    requests = [RunRequest(target=target, inputs={"n": n}) for n in range(3)]
    result = await client.create_many(requests)
    assert not result.errors and not result.unconfirmed
    emulator.advance(3600)
    finals = sorted([await client.get(run) for run in result.runs], key=lambda r: r.inputs["n"])
    assert [r.status for r in finals] == [
        RunStatus.FAILED,
        RunStatus.CANCELLED,
        RunStatus.SUCCEEDED,
    ]


@pytest.mark.parametrize("provider", ["cyberdesk"])
async def test_a_retry_takes_the_target_s_next_plan(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    emulator.plan_next(outcome="failed", target=target, times=2)
    failed = await finish(client, emulator, target)
    retried = await client.retry(failed)
    emulator.advance(3600)
    assert (await client.get(retried)).status is RunStatus.FAILED
    await client.retry(retried)
    emulator.advance(3600)
    assert (await client.get(retried)).status is RunStatus.SUCCEEDED


# -- runs that never finish -----------------------------------------------------------


@pytest.mark.parametrize("stays", [RunStatus.PENDING, RunStatus.RUNNING])
async def test_a_run_planned_to_stay_stays_however_long_it_is_polled(
    client: RunClient, emulator: Emulator, target: str, stays: RunStatus
) -> None:
    emulator.plan_next(outcome=stays)
    run = await client.create(target)
    for _ in range(3):
        emulator.advance(10**9)
        read = await client.get(run)
        assert read.status is stays
        assert read.finished_at is None


@pytest.mark.parametrize("provider", ["cyberdesk", "runflow"])
async def test_a_run_that_stays_running_ends_when_cancelled(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    emulator.plan_next(outcome="running")
    run = await client.create(target)
    emulator.advance(60)
    assert (await client.get(run)).status is RunStatus.RUNNING
    assert (await client.cancel(run)).status is RunStatus.CANCELLED
    emulator.advance(10**6)
    assert (await client.get(run)).status is RunStatus.CANCELLED


@pytest.mark.parametrize("provider", ["kognitos"])
async def test_kognitos_has_no_cancel_so_a_test_forces_the_end(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    emulator.plan_next(outcome="running")
    run = await client.create(target)
    emulator.advance(60)
    emulator.force_status(run.id, "Cancelled")
    assert (await client.get(run)).status is RunStatus.CANCELLED


# -- failure messages -----------------------------------------------------------------

MESSAGES = ["disk full", 'quote " and \\ backslash', "ünïcødé ✓ 日本", "x" * 2000]


@pytest.mark.parametrize("provider", ["cyberdesk", "runflow"])
@pytest.mark.parametrize("failure", ["task", "system", "timeout"])
@pytest.mark.parametrize("message", MESSAGES)
async def test_a_planned_message_is_the_failure_s_text(
    client: RunClient, emulator: Emulator, target: str, failure: str, message: str
) -> None:
    emulator.plan_next(outcome="failed", failure=failure, message=message)
    done = await finish(client, emulator, target)
    assert done.status is RunStatus.FAILED
    assert done.failure is not None and done.failure.message == message


@pytest.mark.parametrize("provider", ["cyberdesk", "runflow"])
async def test_without_a_message_the_provider_s_own_text_stays(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    emulator.plan_next(outcome="failed")
    done = await finish(client, emulator, target)
    assert done.failure is not None and done.failure.message


@pytest.mark.parametrize("provider", ["kognitos"])
async def test_kognitos_documents_no_failure_text_so_none_is_served(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    emulator.plan_next(outcome="failed", message="secret sauce burnt")
    done = await finish(client, emulator, target)
    assert done.status is RunStatus.FAILED
    assert done.failure is not None and done.failure.message is None
    assert "secret sauce" not in repr(done.raw)


@pytest.mark.parametrize("provider", ["cyberdesk"])
async def test_a_message_with_a_native_status_is_shown_too(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    emulator.plan_next(native="error", message="machine lost")
    done = await finish(client, emulator, target)
    assert done.failure is not None and done.failure.message == "machine lost"


def test_every_provider_is_covered() -> None:
    assert set(PROVIDERS) == {"cyberdesk", "kognitos", "kognitos-api", "runflow"}
