"""Demo: start every built-in provider's emulator, run work on each, print canonical runs.

Needs no account and no network: the emulators serve on 127.0.0.1.
"""

from __future__ import annotations

import asyncio

import runbridge
from runbridge import RunStatus
from runbridge.emulation import RealClock
from runbridge.testing import emulated_client, load_emulator

BUILTIN = ("cyberdesk", "kognitos", "runflow")


async def on(provider: str) -> list[runbridge.Run]:
    emulator = load_emulator(provider, clock=RealClock(speed=4))
    emulator.plan_next(outcome=RunStatus.SUCCEEDED, outputs={"total": 42})
    emulator.plan_next(outcome=RunStatus.FAILED)
    async with emulated_client(provider, emulator=emulator) as (client, _):
        first = await client.create(emulator.default_target, inputs={"invoice": "INV-1"})
        second = await client.create(emulator.default_target, inputs={"invoice": "INV-2"})
        return [await client.wait(r, timeout=30, poll_interval=0.2) for r in (first, second)]


async def main() -> None:
    available = {p.name for p in runbridge.providers()}
    providers = [p for p in BUILTIN if p in available]
    results = await asyncio.gather(*(on(p) for p in providers))
    print(f"{'provider':<10} {'ref':<48} {'status':<10} {'native':<12} outputs")
    for runs in results:
        for run in runs:
            print(
                f"{run.provider:<10} {run.ref!s:<48} {run.status.value:<10} "
                f"{run.native_status or '':<12} {dict(run.outputs or {})}"
            )


if __name__ == "__main__":
    asyncio.run(main())
