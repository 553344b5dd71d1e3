"""Exactly-once creates when answers come late, get lost, or the caller gives up.

Each test reproduces a failure the reliability review found (issue 13): a create
answered after the client's timeout ran twice; a cancelled create left a run
nobody could find; deadlines did not bound a call.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

import runbridge
from runbridge import (
    CreateUnconfirmed,
    InvalidRequest,
    ProviderUnavailable,
    RetryPolicy,
    RunClient,
    RunRequest,
    WaitTimeout,
)
from runbridge.emulation import Emulator, Faults
from runbridge.testing import emulated_client, load_emulator, testing_options
from support import posts, until

TAGGED = ("kognitos", "kognitos-api", "runflow")
"""Providers without idempotency keys: a lost create is found by its tag (the Kognitos
API: by its inputs)."""

PATIENT = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2)
"""A policy that really waits between looks, briefly."""


@pytest.mark.parametrize("provider", TAGGED)
async def test_a_create_answered_after_the_timeout_is_found_not_sent_twice(provider: str) -> None:
    emulator = load_emulator(provider)
    # The provider takes longer to make the run than the client waits for an answer.
    emulator.faults = Faults(slow=1.0, slow_seconds=0.6, methods={"POST"})
    options = testing_options(timeout=0.2, deadline=8.0, retry=PATIENT)
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        run = await client.create(emulator.default_target, inputs={"n": 1})
    assert posts(emulator) == 1
    assert list(emulator.runs) == [run.id]
    assert await client.unconfirmed() == []


async def test_cyberdesk_replays_a_late_create_by_its_idempotency_key() -> None:
    emulator = load_emulator("cyberdesk")
    emulator.faults = Faults(slow=1.0, slow_seconds=0.6, methods={"POST"})
    options = testing_options(timeout=0.2, deadline=8.0, retry=PATIENT)
    async with emulated_client("cyberdesk", emulator=emulator, options=options) as (client, _):
        try:
            run = await client.create(emulator.default_target, inputs={"n": 1})
        except CreateUnconfirmed as exc:  # every retry timed out too: settle it later
            emulator.faults = None
            await until(lambda: len(emulator.runs) == 1)
            found = await client.resolve(exc.token)
            assert found is not None
            run = found
    await until(lambda: len(emulator.runs) >= 1)
    assert list(emulator.runs) == [run.id]  # every attempt carried the same key


@pytest.mark.parametrize("provider", ["cyberdesk", *TAGGED])
async def test_a_cancelled_create_keeps_its_token_and_resolves_to_its_run(provider: str) -> None:
    emulator = load_emulator(provider)
    emulator.faults = Faults(slow=1.0, slow_seconds=0.3, methods={"POST"})
    async with emulated_client(provider, emulator=emulator) as (client, _):
        task = asyncio.create_task(client.create(emulator.default_target, inputs={"n": 2}))
        await until(lambda: posts(emulator) == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        (pending,) = await client.unconfirmed()  # the caller's cancel lost nothing
        await until(lambda: len(emulator.runs) == 1)  # the server made the run anyway
        emulator.faults = None
        run = await client.resolve(pending.token)
        assert run is not None and list(emulator.runs) == [run.id]
        assert await client.unconfirmed() == []
        assert await client.resolve(pending.token) == await client.get(run)


@pytest.mark.parametrize("provider", TAGGED)
async def test_unconfirmed_items_of_create_many_carry_tokens(provider: str) -> None:
    emulator = load_emulator(provider)
    async with emulated_client(provider, emulator=emulator) as (client, _):
        emulator.inject_fault("reset_before", times=2)
        requests = [RunRequest(target=emulator.default_target, inputs={"i": i}) for i in range(4)]
        result = await client.create_many(requests, concurrency=1)
        assert len(result.runs) + len(result.unconfirmed) == 4
        assert {e.index for e in result.unconfirmed} <= {0, 1, 2, 3}
        for error in result.unconfirmed:
            assert isinstance(error.error, CreateUnconfirmed) and error.token
            assert await client.resolve(error.token) is None  # dropped before the server
    assert len(emulator.runs) == len(result.runs)


@pytest.mark.parametrize("missing", [0.5, 1.0])
async def test_runflow_with_the_callers_client_ref_never_duplicates(missing: float) -> None:
    # The caller's client_ref takes the token's usual place (it goes to metadata), and
    # reads that lose optional fields cannot show it: never guess, never send again.
    emulator = load_emulator("runflow")
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        emulator.inject_fault("reset_after")  # made, answer lost
        emulator.faults = Faults(missing_fields=missing, methods={"GET"}, seed=7)
        try:
            run = await client.create(emulator.default_target, client_ref="order-17")
        except CreateUnconfirmed as exc:
            emulator.faults = None
            found = await client.resolve(exc.token)
            assert found is not None
            run = found
    assert posts(emulator) == 1 and list(emulator.runs) == [run.id]
    assert emulator.runs[run.id].client_ref == "order-17"  # type: ignore[attr-defined]


# -- deadlines ---------------------------------------------------------------------------------


SILENT = Faults(slow=1.0, slow_seconds=3.0)
"""A provider that answers nothing for longer than the calls below may take."""


async def test_a_get_from_a_silent_provider_ends_at_the_deadline() -> None:
    emulator = load_emulator("cyberdesk")
    options = testing_options(timeout=30.0, deadline=0.4)
    async with emulated_client("cyberdesk", emulator=emulator, options=options) as (client, _):
        run = await client.create(emulator.default_target)
        emulator.faults = SILENT
        with pytest.raises(ProviderUnavailable):
            await asyncio.wait_for(client.get(run), 2.5)  # the guard, far above the deadline


async def test_a_tagged_create_to_a_silent_provider_is_unconfirmed_at_the_deadline() -> None:
    emulator = load_emulator("kognitos")
    emulator.faults = Faults(slow=1.0, slow_seconds=3.0, methods={"POST"})
    options = testing_options(timeout=30.0, deadline=0.5, retry=PATIENT)
    async with emulated_client("kognitos", emulator=emulator, options=options) as (client, _):
        with pytest.raises(CreateUnconfirmed) as caught:
            await asyncio.wait_for(client.create(emulator.default_target), 2.5)
    assert caught.value.token and posts(emulator) == 1


async def test_wait_ends_with_wait_timeout_whatever_the_provider_does() -> None:
    emulator = load_emulator("runflow")
    options = testing_options(timeout=30.0, deadline=30.0)
    async with emulated_client("runflow", emulator=emulator, options=options) as (client, _):
        emulator.plan_next(queued=10_000)
        run = await client.create(emulator.default_target)
        emulator.faults = SILENT
        with pytest.raises(WaitTimeout) as silent:
            await asyncio.wait_for(client.wait(run, timeout=0.3, poll_interval=0.05), 2.5)
        assert silent.value.run is None
        emulator.faults = Faults(server_error=1.0)
        with pytest.raises(WaitTimeout) as failing:
            await asyncio.wait_for(client.wait(run, timeout=0.3, poll_interval=0.05), 2.5)
        assert isinstance(failing.value.__cause__, ProviderUnavailable)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": math.nan}, "poll_interval"),
        ({"poll_interval": math.inf}, "poll_interval"),
        ({"poll_interval": "1"}, "poll_interval"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": math.nan}, "timeout"),
        ({"max_interval": 0}, "max_interval"),
    ],
)
async def test_wait_arguments_are_checked_before_any_request(
    client: RunClient, emulator: Emulator, target: str, arguments: dict[str, Any], field: str
) -> None:
    run = await client.create(target)
    seen = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        await client.wait(run, **arguments)
    assert caught.value.field == field
    assert len(emulator.requests) == seen


async def test_resolve_refuses_a_token_it_never_issued(client: RunClient) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await client.resolve("0123456789abcdef")
    assert caught.value.field == "token"


async def test_an_idempotent_write_in_progress_elsewhere_is_retried_with_its_key() -> None:
    # Cyberdesk answers 409 "Idempotency-Status: in_progress" while the first request
    # with a key is still being made; the SDK retries exactly that, and so do we.
    emulator = load_emulator("cyberdesk")
    async with emulated_client("cyberdesk", emulator=emulator) as (client, _):
        emulator.inject(409, headers={"Idempotency-Status": "in_progress"})
        run = await client.create(emulator.default_target)
    keys = {e.header("Idempotency-Key") for e in emulator.log if e.method == "POST"}
    assert posts(emulator) == 2 and len(keys) == 1
    assert list(emulator.runs) == [run.id]


@pytest.mark.parametrize("provider", TAGGED)
async def test_a_create_that_could_not_connect_is_simply_sent_again(provider: str) -> None:
    # No connection at all: the request never left, so sending it again is safe. (The
    # client starts while nothing listens; the emulator comes up before the retry.)
    emulator = load_emulator(provider)
    async with emulator.serve() as url:
        pass  # the port is free again: connecting to it is refused
    options = testing_options(retry=RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0))
    async with runbridge.connect(
        provider, token=emulator.token, base_url=url, options=options, **emulator.client_settings()
    ) as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.create(emulator.default_target)
    assert caught.value.delivered is False
    assert await client.unconfirmed() == []  # certainly never made: nothing left to resolve
