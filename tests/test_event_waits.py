"""Waits that finish on run events, end to end: the emulator delivers a signed event to
an ``EventReceiver`` over real HTTP, the receiver verifies it, and the client's
``wait()`` reads the run again at once instead of polling; a lost delivery is caught
by the slow polling that continues meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from runbridge import EventReceiver, RunClient, RunStatus
from runbridge.emulation import Emulator
from runbridge.testing import emulated_client, load_emulator

SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="
"""A Standard Webhooks secret (base64 after the prefix)."""


@asynccontextmanager
async def served(provider: str) -> AsyncIterator[tuple[RunClient, Emulator, str]]:
    """An emulator that delivers events, a client, and a receiver for them, all served."""
    if provider == "cyberdesk":
        emulator = load_emulator(provider, webhook_secret=SECRET)
        secret = SECRET
    else:
        emulator = load_emulator(provider)
        secret = emulator.callback_secret  # type: ignore[attr-defined]
    async with emulated_client(provider, emulator=emulator, webhook_secrets=[secret]) as (
        client,
        _,
    ):
        receiver = EventReceiver(client)
        async with receiver.serve() as url:
            hook = f"{url}{provider}"
            if provider == "cyberdesk":
                emulator.webhook_url = hook  # type: ignore[attr-defined]
            yield client, emulator, hook


async def _create(client: RunClient, emulator: Emulator, hook: str) -> Any:
    emulator.plan_next(outcome=RunStatus.SUCCEEDED, queued=1, running=2)
    options = {"callback_url": hook} if client.provider == "runflow" else {}
    return await client.create(emulator.default_target, **options)


def _reads(emulator: Emulator, run_id: str) -> int:
    return sum(1 for r in emulator.log if r.method == "GET" and r.path.endswith(run_id))


async def _until(predicate: Any, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("provider", ["cyberdesk", "runflow"])
async def test_a_wait_finishes_on_the_event_without_polling(provider: str) -> None:
    async with served(provider) as (client, emulator, hook):
        run = await _create(client, emulator, hook)
        # Polling at this pace would not read the run again within the test.
        waiting = asyncio.ensure_future(client.wait(run, timeout=60, max_interval=60))
        await _until(lambda: _reads(emulator, run.id) >= 1)
        emulator.advance(5)  # the run finishes; the emulator delivers its event
        done = await asyncio.wait_for(waiting, 30)
    assert done.status is RunStatus.SUCCEEDED
    assert done.target is not None  # the run read again in full, not the event's view
    assert _reads(emulator, run.id) == 2  # the first read, and the one the event caused


@pytest.mark.parametrize("provider", ["cyberdesk", "runflow"])
async def test_a_lost_delivery_is_caught_by_slow_polling(provider: str) -> None:
    async with served(provider) as (client, emulator, hook):
        run = await _create(client, emulator, hook)
        emulator.inject_delivery_fault("dropped")  # type: ignore[attr-defined]
        emulator.advance(5)
        done = await client.wait(run, timeout=30, max_interval=0.2)
    assert done.status is RunStatus.SUCCEEDED


async def test_an_event_delivered_twice_reaches_the_application_once() -> None:
    async with served("cyberdesk") as (client, emulator, hook):
        receiver = client._receiver
        assert receiver is not None
        seen: list[str] = []
        receiver.on_event(lambda event: seen.append(event.id))
        run = await _create(client, emulator, hook)
        emulator.inject_delivery_fault("duplicate")  # type: ignore[attr-defined]
        emulator.advance(5)
        deliveries = emulator.deliveries  # type: ignore[attr-defined]
        # Both copies have been answered by the receiver once the copy is recorded.
        await _until(lambda: any(a.duplicate for d in deliveries for a in d.attempts))
        assert all(a.status == 200 for d in deliveries for a in d.attempts)
    assert len(seen) == 1
    assert run.id
