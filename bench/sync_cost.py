"""What the sync client adds to a call: CPU per ``get`` through ``connect_sync`` against
the same call through the async client, interleaved, one emulator in its own process.

    .venv/bin/python bench/sync_cost.py [--calls 2000] [--rounds 5]

The sync client's CPU includes its loop thread (``time.process_time`` counts every
thread); the difference is the hand-off to that thread and back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from harness import emulator_process

import runbridge
from runbridge import RunRequest


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    async with emulator_process("cyberdesk") as served:
        settings = {"token": served.token, "base_url": served.base_url, **served.settings}
        async with runbridge.connect(served.provider, **settings) as client:
            run_id = (await client.create(RunRequest(target=served.target))).id
            with runbridge.connect_sync(served.provider, **settings) as sync:
                sync.get(run_id)  # start the loop thread and the session
                best = {"async": float("inf"), "sync": float("inf")}
                for _ in range(args.rounds):
                    start = time.process_time()
                    for _ in range(args.calls):
                        await client.get(run_id)
                    best["async"] = min(best["async"], time.process_time() - start)
                    start = time.process_time()
                    for _ in range(args.calls):
                        sync.get(run_id)
                    best["sync"] = min(best["sync"], time.process_time() - start)
    per_call = {side: cpu / args.calls * 1e6 for side, cpu in best.items()}
    print(
        json.dumps(
            {
                "async_us": round(per_call["async"], 1),
                "sync_us": round(per_call["sync"], 1),
                "hand_off_us": round(per_call["sync"] - per_call["async"], 1),
                "ratio": round(per_call["sync"] / per_call["async"], 2),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
