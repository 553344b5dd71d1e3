"""A driver process for the Dask tests: it submits a batch to a cluster and reports.

``python dask_driver.py CONFIG_JSON`` connects to the scheduler at ``scheduler``, runs
``runbridge.dask.create_many`` over ``count`` requests (inputs ``{"i": i}``) with the
profile and journal given, and prints a JSON report: the run of each index, the token
of each index whose outcome is unknown, and each failure.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from dask.distributed import Client

import runbridge.dask
from runbridge import Profile, RunRequest


def main(config: dict[str, Any]) -> int:
    profile = Profile(**config["profile"])
    requests = [
        RunRequest(target=config["target"], inputs={"i": i}) for i in range(config["count"])
    ]
    with Client(config["scheduler"]) as dask_client:
        result = runbridge.dask.create_many(
            dask_client,
            requests,
            profile=profile,
            journal=config["journal"],
            shard_size=config.get("shard_size", 10),
            resume=True,
        )
    outcome = result.by_index()
    report = {
        "runs": {i: o.id for i, o in outcome.items() if isinstance(o, runbridge.Run)},
        "unconfirmed": {
            i: o.token
            for i, o in outcome.items()
            if isinstance(o, runbridge.BulkError) and o.token is not None
        },
        "failed": {
            i: o.message
            for i, o in outcome.items()
            if isinstance(o, runbridge.BulkError) and o.token is None
        },
    }
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))
