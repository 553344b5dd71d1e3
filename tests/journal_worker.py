"""A process that creates a batch with a journal, for tests that kill it midway.

``python journal_worker.py PROVIDER BASE_URL TOKEN TARGET JOURNAL COUNT [SETTINGS_JSON]``
creates ``COUNT`` runs with inputs ``{"i": i}`` through ``create_many(..., resume=True)``
and prints ``done`` when every one is settled.
"""

from __future__ import annotations

import asyncio
import json
import sys

import runbridge
from runbridge import RunRequest
from runbridge.testing import testing_options


async def main(argv: list[str]) -> int:
    provider, base_url, token, target, journal, count = argv[:6]
    settings = json.loads(argv[6]) if len(argv) > 6 else {}
    requests = [RunRequest(target=target, inputs={"i": i}) for i in range(int(count))]
    async with runbridge.connect(
        provider,
        token=token,
        base_url=base_url,
        journal=journal,
        options=testing_options(deadline=10.0),
        **settings,
    ) as client:
        result = await client.create_many(requests, concurrency=4, resume=True)
    if result.ok:
        print("done", flush=True)
        return 0
    print(json.dumps([e.message for e in result.errors][:5]), flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
