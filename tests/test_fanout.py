"""Fan-out over the three built-in emulators: partial failure, race, merged listing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

import runbridge
from runbridge import ConfigError, FanoutError, RetryPolicy, RunClient, RunStatus
from runbridge.emulation import Emulator, ManualClock
from runbridge.testing import emulated_client, testing_options
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from runbridge_kognitos.emulator import KognitosEmulator
from runbridge_runflow.emulator import RunflowEmulator

START = 1_750_000_000.0


@pytest.fixture
def emulators() -> dict[str, Emulator]:
    return {
        "cyberdesk": CyberdeskEmulator(clock=ManualClock(START)),
        "kognitos": KognitosEmulator(clock=ManualClock(START)),
        "runflow": RunflowEmulator(clock=ManualClock(START)),
    }


@pytest.fixture
async def clients(emulators: dict[str, Emulator]) -> AsyncIterator[list[RunClient]]:
    options = testing_options(retry=RetryPolicy.never())
    async with AsyncExitStack() as stack:
        opened = []
        for name, emulator in emulators.items():
            client, _ = await stack.enter_async_context(
                emulated_client(name, emulator=emulator, options=options)
            )
            opened.append(client)
        yield opened


@pytest.fixture
def aliased(clients: list[RunClient], emulators: dict[str, Emulator]) -> list[RunClient]:
    """The clients, each with a profile mapping the logical target ``invoice``."""
    for client in clients:
        client.profile = runbridge.Profile(
            name=client.provider,
            provider=client.provider,
            token_env="UNUSED",
            targets={"invoice": emulators[client.provider].default_target},
        )
    return clients


async def test_create_reports_every_provider_in_input_order(
    aliased: list[RunClient], emulators: dict[str, Emulator]
) -> None:
    emulators["kognitos"].inject(503)
    async with runbridge.fanout(aliased) as fan:
        outcomes = await fan.create("invoice", inputs={"n": 1})
    assert [o.member for o in outcomes] == ["cyberdesk", "kognitos", "runflow"]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, runbridge.ProviderUnavailable)
    assert outcomes[1].error.provider == "kognitos"
    assert outcomes[0].run is not None and outcomes[0].run.provider == "cyberdesk"


async def test_raise_mode_groups_errors_and_keeps_what_succeeded(
    aliased: list[RunClient], emulators: dict[str, Emulator]
) -> None:
    emulators["runflow"].inject(401)
    emulators["cyberdesk"].inject(500)
    async with runbridge.fanout(aliased) as fan:
        with pytest.raises(FanoutError) as caught:
            await fan.create("invoice", on_error="raise")
    group = caught.value
    assert "cyberdesk (cyberdesk)" in str(group) and "runflow (runflow)" in str(group)
    # A 500 after the create was sent may hide a run: unconfirmed, with its token.
    assert [type(e).__name__ for e in group.exceptions] == ["CreateUnconfirmed", "AuthError"]
    assert isinstance(group.exceptions[0], runbridge.CreateUnconfirmed)
    assert group.exceptions[0].token
    assert any("provider runflow" in note for note in group.exceptions[1].__notes__)
    kept = [o for o in group.outcomes if o.ok]
    assert [o.member for o in kept] == ["kognitos"]
    assert len(emulators["kognitos"].runs) == 1  # type: ignore[attr-defined]


async def test_run_waits_for_all(aliased: list[RunClient], emulators: dict[str, Emulator]) -> None:
    for emulator in emulators.values():
        emulator.plan_next(queued=0, running=0, outputs={"total": 1})
    async with runbridge.fanout(aliased, concurrency={"kognitos": 1}) as fan:
        outcomes = await fan.run("invoice", timeout=5, poll_interval=0.01)
    assert [o.run.status for o in outcomes if o.run] == [RunStatus.SUCCEEDED] * 3


async def test_race_takes_the_first_success_and_cancels_the_rest(
    aliased: list[RunClient], emulators: dict[str, Emulator]
) -> None:
    emulators["runflow"].plan_next(queued=0, running=0)
    emulators["cyberdesk"].plan_next(queued=10_000)
    emulators["kognitos"].plan_next(queued=10_000)
    async with runbridge.fanout(aliased) as fan:
        winner = await fan.race("invoice", timeout=5, poll_interval=0.01)
        assert winner.member == "runflow" and winner.succeeded
        cyberdesk = await fan.clients["cyberdesk"].list().collect()
        kognitos = await fan.clients["kognitos"].list(target="invoice").collect()
    assert [r.status for r in cyberdesk] == [RunStatus.CANCELLED]  # cancellable: cancelled
    assert [r.status for r in kognitos] == [RunStatus.PENDING]  # no cancel: left alone


async def test_race_without_a_success_reports_everyone(
    aliased: list[RunClient], emulators: dict[str, Emulator]
) -> None:
    for emulator in emulators.values():
        emulator.plan_next(queued=0, running=0, outcome=RunStatus.FAILED)
    emulators["kognitos"].inject(503)
    async with runbridge.fanout(aliased) as fan:
        with pytest.raises(FanoutError) as caught:
            await fan.race("invoice", timeout=5, poll_interval=0.01)
    assert len(caught.value.exceptions) == 3
    assert "finished as failed" in str(caught.value.exceptions[0])


async def test_list_merges_newest_first_across_providers(
    aliased: list[RunClient], emulators: dict[str, Emulator]
) -> None:
    created = []
    for step in range(9):
        for emulator in emulators.values():
            emulator.advance(60)  # each run is a minute newer than the one before
        client = aliased[step % 3]
        created.append((await client.create("invoice")).ref)
    async with runbridge.fanout(aliased) as fan:
        merged = [run.ref async for run in fan.list(target="invoice", page_size=2)]
        first_four = [run.ref async for run in fan.list(target="invoice", limit=4)]
    assert merged == created[::-1]
    assert first_four == created[::-1][:4]


async def test_a_failing_member_does_not_hide_the_others_runs(
    clients: list[RunClient], emulators: dict[str, Emulator]
) -> None:
    cyberdesk, _, runflow = clients
    await cyberdesk.create(emulators["cyberdesk"].default_target)
    await runflow.create(emulators["runflow"].default_target)
    emulators["runflow"].inject(503)
    async with runbridge.fanout([cyberdesk, runflow]) as fan:
        seen: list[str] = []

        async def consume() -> None:
            async for run in fan.list():
                seen.append(run.provider)

        with pytest.raises(FanoutError) as caught:
            await consume()
    assert seen == ["cyberdesk"]
    assert "runflow" in str(caught.value)


def test_fanout_arguments_are_checked(clients: list[RunClient]) -> None:
    with pytest.raises(ConfigError, match="at least one"):
        runbridge.fanout([])
    with pytest.raises(ConfigError, match="given twice"):
        runbridge.fanout([clients[0], clients[0]])
    with pytest.raises(ConfigError, match="at least 1"):
        runbridge.fanout(clients, concurrency=0)
