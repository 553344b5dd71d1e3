"""A process that creates a batch with a journal, for tests that kill it or race it.

``python journal_worker.py CONFIG_JSON`` creates ``count`` runs with inputs
``{"i": i, "batch": batch}``
through ``create_many(..., resume=True)`` and prints a JSON report: the run of each
index, the token of each index whose outcome is unknown, and each failure. The
config names the provider, the emulator's URL and token, the target, the journal
(an SQLite path or a PostgreSQL URL), the count, the provider settings and the
client's settle window.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import runbridge
from runbridge import RunRequest
from runbridge.testing import testing_options


async def main(config: dict[str, Any]) -> int:
    batch = config.get("batch", 0)
    requests = [
        RunRequest(target=config["target"], inputs={"i": i, "batch": batch})
        for i in range(config["count"])
    ]
    options = testing_options(
        deadline=config.get("deadline", 20.0), settle_window=config.get("settle", 1.0)
    )
    async with runbridge.connect(
        config["provider"],
        token=config["token"],
        base_url=config["url"],
        journal=config["journal"],
        options=options,
        **config.get("settings", {}),
    ) as client:
        result = await client.create_many(
            requests, concurrency=config.get("concurrency", 4), resume=True
        )
    failed = {e.index for e in result.errors if e.index is not None}
    made = [i for i in range(len(requests)) if i not in failed]  # runs come in index order
    report = {
        "runs": dict(zip(made, (r.id for r in result.runs), strict=True)),
        "unconfirmed": {e.index: e.token for e in result.unconfirmed},
        "failed": {e.index: e.message for e in result.errors if e.token is None},
    }
    print(json.dumps(report), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(json.loads(sys.argv[1]))))
