"""The examples of docs/testing.md: an application's own code tested against the emulators.

Each test here is one the guide shows; they use only the public pytest plugin
(``runbridge_client``, ``runbridge_sync_client``, ``runbridge_emulator``, the
``runbridge_providers`` and ``runbridge_clock`` markers) the way an application's
suite would.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbridge import Run, RunClient, RunStatus, SyncRunClient, WaitTimeout
from runbridge.emulation import MASK, Emulator, ManualClock, PollingClock
from runbridge.testing import emulated_client, emulated_providers, emulated_sync_client

BUILTIN = emulated_providers(builtin=True)


# -- the application under test ------------------------------------------------------


async def summarize(client: RunClient, target: str, text: str) -> dict[str, Any]:
    """Start a run, wait for it, return its outputs."""
    run = await client.create(target, inputs={"text": text})
    done = await client.wait(run)
    if done.status is not RunStatus.SUCCEEDED:
        raise RuntimeError(f"run {done.id} ended {done.status.value}")
    return dict(done.outputs or {})


async def summarize_or_give_up(
    client: RunClient, target: str, text: str, *, within: float
) -> dict[str, Any] | None:
    """Like ``summarize``, but ``None`` when the run has not finished within ``within`` s."""
    run = await client.create(target, inputs={"text": text})
    try:
        done = await client.wait(run, timeout=within, poll_interval=0.01)
    except WaitTimeout:
        return None
    return dict(done.outputs or {})


async def recent_failures(client: RunClient, target: str, since: datetime) -> list[Run]:
    """The failed runs of ``target`` created since ``since``, newest first."""
    return await client.list(target=target, status="failed", created_after=since).collect()


def summarize_sync(client: SyncRunClient, target: str, text: str) -> dict[str, Any]:
    """``summarize`` for code that uses the synchronous API."""
    done = client.wait(client.create(target, inputs={"text": text}))
    if done.status is not RunStatus.SUCCEEDED:
        raise RuntimeError(f"run {done.id} ended {done.status.value}")
    return dict(done.outputs or {})


# -- one test, every provider ---------------------------------------------------------


@pytest.mark.runbridge_providers(*BUILTIN)
async def test_summarize_finishes_on_every_provider(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    runbridge_emulator.plan_next(outputs={"summary": "short"})
    started = time.monotonic()
    outputs = await summarize(runbridge_client, runbridge_emulator.default_target, "long text")
    assert outputs.get("summary") == "short"
    assert time.monotonic() - started < 1.0  # no sleeping: the clock moves as it is polled


@pytest.mark.runbridge_providers
def test_the_marker_defaults_to_every_installed_provider(runbridge_provider: str) -> None:
    assert runbridge_provider in emulated_providers()


@pytest.mark.runbridge_providers(*BUILTIN)
def test_the_default_clock_moves_with_requests(runbridge_emulator: Emulator) -> None:
    assert isinstance(runbridge_emulator.clock, PollingClock)


# -- planned outcomes -----------------------------------------------------------------


@pytest.mark.runbridge_providers(*BUILTIN)
async def test_a_failed_run_is_reported(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    runbridge_emulator.plan_next(outcome="failed", failure="timeout")
    with pytest.raises(RuntimeError, match="ended failed"):
        await summarize(runbridge_client, runbridge_emulator.default_target, "text")


@pytest.mark.runbridge_providers(*BUILTIN)
async def test_planned_outcomes_apply_in_order(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    runbridge_emulator.plan_next(outputs={"n": 1})
    runbridge_emulator.plan_next(outcome="cancelled")
    runbridge_emulator.plan_next(outcome="failed", failure="system")
    target = runbridge_emulator.default_target
    finals = [await runbridge_client.wait(await runbridge_client.create(target)) for _ in "abc"]
    assert [run.status for run in finals] == [
        RunStatus.SUCCEEDED,
        RunStatus.CANCELLED,
        RunStatus.FAILED,
    ]
    assert finals[2].failure is not None  # its kind as far as the provider tells one


@pytest.mark.runbridge_providers(*BUILTIN)
async def test_plans_for_the_next_runs_and_for_one_target(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    main, flaky = runbridge_emulator.default_target, runbridge_emulator.add_target()
    runbridge_emulator.plan_next(outcome="cancelled", times=2)  # the next two runs, any target
    runbridge_emulator.plan_every(outcome="failed", target=flaky)  # every run of flaky
    statuses = []
    for target in (main, main, main, flaky, flaky):
        run = await runbridge_client.wait(await runbridge_client.create(target))
        statuses.append(run.status.value)
    assert statuses == ["cancelled", "cancelled", "succeeded", "failed", "failed"]


@pytest.mark.runbridge_providers("cyberdesk", "runflow")
async def test_the_failure_message_reaches_the_application(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    runbridge_emulator.plan_next(outcome="failed", message="quota exceeded")
    run = await runbridge_client.create(runbridge_emulator.default_target)
    done = await runbridge_client.wait(run)
    assert done.failure is not None and done.failure.message == "quota exceeded"


@pytest.mark.runbridge_providers(*BUILTIN)
async def test_a_run_that_never_finishes_is_given_up(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    runbridge_emulator.plan_next(outcome="running")  # stays running until cancelled or forced
    target = runbridge_emulator.default_target
    assert await summarize_or_give_up(runbridge_client, target, "text", within=0.2) is None
    [created] = runbridge_emulator.created
    assert (await runbridge_client.get(created.id)).status is RunStatus.RUNNING


# -- seeded histories -----------------------------------------------------------------


@pytest.mark.runbridge_providers(*BUILTIN)
async def test_recent_failures_reads_a_seeded_history(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    now, target = datetime.now(UTC), runbridge_emulator.default_target
    runbridge_emulator.seed(target, status="failed", created_at=now - timedelta(days=3))
    newest = runbridge_emulator.seed(target, status="failed", created_at=now - timedelta(hours=1))
    older = runbridge_emulator.seed(target, status="failed", created_at=now - timedelta(hours=5))
    runbridge_emulator.seed(target, status="succeeded", created_at=now - timedelta(minutes=5))
    runbridge_emulator.seed(target, status="running", created_at=now - timedelta(minutes=1))
    failures = await recent_failures(runbridge_client, target, since=now - timedelta(days=1))
    assert [run.id for run in failures] == [newest, older]
    assert runbridge_emulator.created == []  # seeded runs are history, not the app's creates


# -- the manual clock -----------------------------------------------------------------


@pytest.mark.runbridge_clock("manual")
@pytest.mark.runbridge_providers(*BUILTIN)
async def test_stepping_time_by_hand(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    assert type(runbridge_emulator.clock) is ManualClock
    runbridge_emulator.plan_next(queued=5, running=10)
    run = await runbridge_client.create(runbridge_emulator.default_target)
    assert (await runbridge_client.get(run)).status is RunStatus.PENDING
    runbridge_emulator.advance(7)
    assert (await runbridge_client.get(run)).status is RunStatus.RUNNING
    runbridge_emulator.advance(10)
    assert (await runbridge_client.get(run)).status is RunStatus.SUCCEEDED


# -- asserting what the application sent ----------------------------------------------


@pytest.mark.runbridge_providers(*BUILTIN)
async def test_the_log_shows_the_requests_with_credentials_masked(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    await summarize(runbridge_client, runbridge_emulator.default_target, "hello")
    methods = [method for method, _ in runbridge_emulator.requests]
    assert methods[0] == "POST" and "GET" in methods
    assert "hello" in str(runbridge_emulator.log[0].body)
    for entry in runbridge_emulator.log:
        assert runbridge_emulator.token not in str(entry.headers)
        assert runbridge_emulator.token not in str(entry.body)
    assert MASK in runbridge_emulator.log[0].headers.values()  # the credential header


@pytest.mark.runbridge_providers("cyberdesk")
async def test_sensitive_inputs_are_masked_in_the_log(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    await runbridge_client.create(
        runbridge_emulator.default_target, inputs={"q": 1}, secrets={"password": "hunter2"}
    )
    assert "hunter2" not in str(runbridge_emulator.log[0].body)
    assert MASK in str(runbridge_emulator.log[0].body)


@pytest.mark.runbridge_providers(*BUILTIN)
async def test_the_runs_created_and_the_calls_made(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    await summarize(runbridge_client, runbridge_emulator.default_target, "hello")
    [created] = runbridge_emulator.created
    assert created.target == runbridge_emulator.default_target
    assert created.inputs == {"text": "hello"}
    assert runbridge_emulator.calls["create"] == 1
    assert runbridge_emulator.calls["get"] >= 1  # the wait's reads
    assert runbridge_emulator.calls["list"] == 0


@pytest.mark.runbridge_providers("cyberdesk")
async def test_secrets_show_by_name_only(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    await runbridge_client.create(
        runbridge_emulator.default_target, inputs={"q": 1}, secrets={"password": "hunter2"}
    )
    [created] = runbridge_emulator.created
    assert created.secrets == ("password",) and "hunter2" not in repr(created)


# -- error handling: faults -----------------------------------------------------------


@pytest.mark.runbridge_providers(*BUILTIN)
async def test_summarize_rides_out_rate_limits_and_an_outage(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    runbridge_emulator.inject(429, headers={"Retry-After": "0"})
    runbridge_emulator.inject(503, times=2)
    outputs = await summarize(runbridge_client, runbridge_emulator.default_target, "text")
    assert isinstance(outputs, dict)
    assert len(runbridge_emulator.log) >= 5  # three refused, then create and a read


@pytest.mark.runbridge_providers(*BUILTIN)
async def test_a_lost_answer_while_waiting_is_polled_through(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    run = await runbridge_client.create(runbridge_emulator.default_target)
    runbridge_emulator.inject_fault("reset_after")  # served, but the answer never arrives
    done = await runbridge_client.wait(run, poll_interval=0.01)
    assert done.status is RunStatus.SUCCEEDED
    assert runbridge_emulator.fault_counts["reset_after"] == 1


@pytest.mark.runbridge_providers(*BUILTIN)
async def test_a_status_no_one_documented_is_read_as_unknown(
    runbridge_client: RunClient, runbridge_emulator: Emulator
) -> None:
    runbridge_emulator.plan_next(native="PAUSED_BY_ADMIN")
    run = await runbridge_client.create(runbridge_emulator.default_target)
    with pytest.raises(WaitTimeout) as waited:  # not finished, as far as anyone can tell
        await runbridge_client.wait(run, timeout=0.2, poll_interval=0.01)
    assert waited.value.run is not None
    assert waited.value.run.status is RunStatus.UNKNOWN
    assert waited.value.run.native_status == "PAUSED_BY_ADMIN"


# -- the synchronous client -----------------------------------------------------------


@pytest.mark.runbridge_providers(*BUILTIN)
def test_summarize_sync_on_every_provider(
    runbridge_sync_client: SyncRunClient, runbridge_emulator: Emulator
) -> None:
    runbridge_emulator.plan_next(outputs={"summary": "short"})
    target = runbridge_emulator.default_target
    assert summarize_sync(runbridge_sync_client, target, "long text") == {"summary": "short"}
    assert runbridge_emulator.calls["create"] == 1


# -- outside pytest -------------------------------------------------------------------


@pytest.mark.parametrize("provider", BUILTIN)
async def test_emulated_client_with_a_polling_clock(provider: str) -> None:
    from runbridge.testing import load_emulator

    emulator = load_emulator(provider, clock=PollingClock())
    async with emulated_client(provider, emulator=emulator) as (client, emu):
        emu.plan_next(outputs={"ok": True})
        assert (await summarize(client, emu.default_target, "x")).get("ok") is True


@pytest.mark.parametrize("provider", BUILTIN)
def test_emulated_sync_client_outside_pytest_fixtures(provider: str) -> None:
    from runbridge.testing import load_emulator

    emulator = load_emulator(provider, clock=PollingClock())
    with emulated_sync_client(provider, emulator=emulator) as (client, emu):
        emu.plan_next(outputs={"ok": True})
        assert summarize_sync(client, emu.default_target, "x") == {"ok": True}


def test_a_polling_clock_moves_by_its_step_and_can_be_advanced() -> None:
    clock = PollingClock(step=5, start=100.0)
    clock.tick()
    clock.advance(1)
    assert clock.now() == 106.0
    with pytest.raises(ValueError, match="step"):
        PollingClock(step=-1)


@pytest.mark.runbridge_clock("real", speed=500)
@pytest.mark.runbridge_providers("runflow")
def test_a_fast_real_clock_on_request(runbridge_emulator: Emulator) -> None:
    assert repr(runbridge_emulator.clock) == "RealClock(speed=500)"


@pytest.mark.runbridge_clock("sundial")
@pytest.mark.runbridge_providers("runflow")
def test_an_unknown_clock_is_a_usage_error(
    runbridge_provider: str, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(pytest.UsageError, match="sundial"):
        request.getfixturevalue("runbridge_emulator")
