"""No loss, no duplicates: thousands of creates under injected faults, then an audit.

Run ``pytest tests/test_reliability.py -s`` to see the figures quoted in
``docs/reliability.md``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from runbridge import RetryPolicy, Run, RunbridgeError, RunClient
from runbridge.emulation import Emulator, Faults
from runbridge.testing import emulated_client, testing_options
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from runbridge_kognitos.emulator import KognitosEmulator
from runbridge_runflow.emulator import RunflowEmulator

CREATES = 2001  # 667 per provider
IN_FLIGHT = 24
FAULT_RATE = 0.2
SEED = 20261123


@pytest.fixture
async def fleet() -> AsyncIterator[list[tuple[RunClient, Emulator]]]:
    emulators: list[Emulator] = [
        CyberdeskEmulator(faults=Faults.mixed(FAULT_RATE, seed=SEED)),
        # Kognitos does not report inputs; the audit reads them through a named extra.
        KognitosEmulator(faults=Faults.mixed(FAULT_RATE, seed=SEED + 1), extras={"inputs"}),
        RunflowEmulator(faults=Faults.mixed(FAULT_RATE, seed=SEED + 2)),
    ]
    options = testing_options(retry=RetryPolicy.testing(attempts=8), deadline=120.0)
    async with AsyncExitStack() as stack:
        pairs = []
        for emulator in emulators:
            pairs.append(
                await stack.enter_async_context(
                    emulated_client(emulator.provider, emulator=emulator, options=options)
                )
            )
        yield pairs


async def audit(client: RunClient, emulator: Emulator) -> list[Run]:
    emulator.faults = None
    return await client.list(target=emulator.default_target, page_size=100).collect()


async def test_no_create_is_lost_or_duplicated_under_faults(
    fleet: list[tuple[RunClient, Emulator]],
) -> None:
    gates = {client.provider: asyncio.Semaphore(IN_FLIGHT) for client, _ in fleet}
    outcomes: dict[int, tuple[str, Run | BaseException]] = {}

    async def create(n: int) -> None:
        client, emulator = fleet[n % len(fleet)]
        async with gates[client.provider]:
            try:
                run = await client.create(emulator.default_target, inputs={"n": n})
            except RunbridgeError as exc:
                outcomes[n] = (client.provider, exc)
            else:
                outcomes[n] = (client.provider, run)

    await asyncio.gather(*(create(n) for n in range(CREATES)))
    assert len(outcomes) == CREATES  # every logical create has an answer

    figures: dict[str, Any] = {"creates": CREATES}
    for client, emulator in fleet:
        mine = {n: o for n, (p, o) in outcomes.items() if p == client.provider}
        succeeded = {n for n, o in mine.items() if isinstance(o, Run)}
        failed = set(mine) - succeeded
        listed = await audit(client, emulator)
        counts = Counter(int(run.inputs["n"]) for run in listed)
        duplicates = {n: c for n, c in counts.items() if c > 1}
        # Exactly once: every success is on the provider once, nothing else is there.
        assert duplicates == {}
        assert set(counts) == succeeded
        assert {mine[n].ref for n in succeeded} == {r.ref for r in listed}  # type: ignore[union-attr]
        faults = sum(emulator.fault_counts.values())
        requests = len(emulator.requests)
        figures[client.provider] = {
            "creates": len(mine),
            "succeeded": len(succeeded),
            "reported_failed": len(failed),
            "listed": len(listed),
            "duplicates": len(duplicates),
            "requests": requests,
            "faults": faults,
            "fault_rate": round(faults / requests, 3),
            "lost_responses": emulator.fault_counts["reset_after"]
            + emulator.fault_counts["truncated"]
            + emulator.fault_counts["malformed"],
        }
        assert faults / requests > FAULT_RATE * 0.6  # the faults really were there
        assert emulator.fault_counts["reset_after"] > 0
    print("\nreliability figures:", figures)
