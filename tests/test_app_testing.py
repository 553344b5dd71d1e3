"""The examples of docs/testing.md: an application's own code tested against the emulators.

Each test here is one the guide shows; they use only the public pytest plugin
(``runbridge_client``, ``runbridge_emulator``, the ``runbridge_providers`` and
``runbridge_clock`` markers) the way an application's suite would.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from runbridge import RunClient, RunStatus
from runbridge.emulation import MASK, Emulator, ManualClock, PollingClock
from runbridge.testing import emulated_client, emulated_providers

BUILTIN = emulated_providers(builtin=True)


# -- the application under test ------------------------------------------------------


async def summarize(client: RunClient, target: str, text: str) -> dict[str, Any]:
    """Start a run, wait for it, return its outputs."""
    run = await client.create(target, inputs={"text": text})
    done = await client.wait(run)
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


# -- outside pytest -------------------------------------------------------------------


@pytest.mark.parametrize("provider", BUILTIN)
async def test_emulated_client_with_a_polling_clock(provider: str) -> None:
    from runbridge.testing import load_emulator

    emulator = load_emulator(provider, clock=PollingClock())
    async with emulated_client(provider, emulator=emulator) as (client, emu):
        emu.plan_next(outputs={"ok": True})
        assert (await summarize(client, emu.default_target, "x")).get("ok") is True


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
