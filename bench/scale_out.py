"""Scale-out figures: creates per second over 1, 2 and 4 Dask worker processes; 429s with
a rate limit below the provider's; a soak over 4 workers with faults and killed workers.

    .venv/bin/python bench/scale_out.py throughput [--creates 3000]
    .venv/bin/python bench/scale_out.py throttle [--creates 600]
    .venv/bin/python bench/scale_out.py soak [--creates 20000] [--kills 5]

Every emulator runs in a process of its own (``runbridge.testing.HostedEmulator``, real
clock); the workers are a ``LocalCluster`` of worker processes on 127.0.0.1; the
journal is one SQLite file they share. Each prints JSON lines, quoted in
``docs/scale-out.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from dask.distributed import Client, LocalCluster

import runbridge
import runbridge.dask
from runbridge import CreateUnconfirmed, Profile, RunRequest
from runbridge.testing import HostedEmulator, testing_options

TOKEN = "emu-bench-scale-out-0123456789"
PROVIDERS = ("cyberdesk", "kognitos", "runflow")


def profile(hosted: HostedEmulator, **client: Any) -> Profile:
    return Profile(
        name="bench",
        provider=hosted.config["provider"],
        token_env="RB_BENCH_TOKEN",
        base_url=hosted.url,
        client={"timeout": 5.0, "deadline": 30.0, "settle_window": 2.0, **client},
    )


def cluster(workers: int) -> LocalCluster:
    return LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
        silence_logs=40,
    )


async def emulators(**config: Any) -> list[HostedEmulator]:
    hosted = []
    for provider in PROVIDERS:
        extras = ["inputs"] if provider == "kognitos" else []
        emulator = HostedEmulator(provider, token=TOKEN, extras=extras, **config)
        hosted.append(await emulator.__aenter__())
    return hosted


async def close(hosted: list[HostedEmulator]) -> None:
    for emulator in hosted:
        await emulator.__aexit__(None, None, None)


async def batch_for(hosted: HostedEmulator, count: int, tag: int = 0) -> list[RunRequest]:
    target = (await hosted.state()).default_target
    return [RunRequest(target=target, inputs={"i": i, "b": tag}) for i in range(count)]


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from ``/proc/stat``."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_busy(before: tuple[int, int]) -> float:
    """The share of every core busy since ``before`` (1.0: all of them, all the time)."""
    busy, total = cpu_ticks()
    return round((busy - before[0]) / max(total - before[1], 1), 2)


async def throughput(creates: int, journal_url: str | None) -> None:
    """Creates per second per provider and in all, for 1, 2 and 4 worker processes."""
    for workers in (1, 2, 4):
        hosted = await emulators()
        try:
            with cluster(workers) as local, Client(local) as dask_client:  # type: ignore[no-untyped-call]
                await asyncio.to_thread(dask_client.wait_for_workers, workers)
                journal = tempfile.mktemp(suffix=".sqlite")
                share = creates // len(hosted)
                batches = [await batch_for(h, share) for h in hosted]
                start, before = time.monotonic(), cpu_ticks()

                def one(
                    h: HostedEmulator, requests: list[RunRequest], journal: str = journal
                ) -> runbridge.BulkResult:
                    return runbridge.dask.create_many(
                        dask_client, requests, profile=profile(h), journal=journal, shard_size=50
                    )

                results = await asyncio.gather(
                    *(asyncio.to_thread(one, h, b) for h, b in zip(hosted, batches, strict=True))
                )
                seconds, busy = time.monotonic() - start, cpu_busy(before)
            made = sum(len(r.runs) for r in results)
            print(
                json.dumps(
                    {
                        "case": "throughput",
                        "workers": workers,
                        "creates": creates,
                        "made": made,
                        "seconds": round(seconds, 2),
                        "creates_per_second": round(made / seconds, 1),
                        "cpu_busy": busy,
                        "journal": "postgresql" if journal_url else "sqlite",
                    }
                ),
                flush=True,
            )
        finally:
            await close(hosted)


async def throttle(creates: int) -> None:
    """429s over 4 workers against an emulator allowing 40/s: no limit, then 30/s."""
    with cluster(4) as local, Client(local) as dask_client:  # type: ignore[no-untyped-call]
        await asyncio.to_thread(dask_client.wait_for_workers, 4)
        for rate in (None, "30/s"):
            async with HostedEmulator(
                "kognitos", token=TOKEN, extras=["inputs"], rate_limit="40/s"
            ) as hosted:
                requests = await batch_for(hosted, creates)
                client = {"rate": rate} if rate else {}
                start = time.monotonic()
                result = await asyncio.to_thread(
                    runbridge.dask.create_many,
                    dask_client,
                    requests,
                    profile=profile(hosted, **client),
                    journal=tempfile.mktemp(suffix=".sqlite"),
                    shard_size=25,
                )
                seconds = time.monotonic() - start
                state = await hosted.state()
            print(
                json.dumps(
                    {
                        "case": "throttle",
                        "emulator_limit": "40/s",
                        "client_rate": rate,
                        "workers": 4,
                        "creates": creates,
                        "made": len(result.runs),
                        "refused_429": state.refused,
                        "requests": state.requests,
                        "seconds": round(seconds, 2),
                        "achieved_per_second": round(state.requests / seconds, 1),
                    }
                ),
                flush=True,
            )


async def soak(creates: int, kills: int, seed: int) -> int:
    """``creates`` over 4 workers and three emulators with 30 % faults, ``kills`` workers
    killed at random moments; resumed until settled; every create audited."""
    rng = random.Random(seed)
    faults = {"seed": seed, **{k: 0.3 * v for k, v in _MIX.items()}}
    hosted = await emulators(faults=faults)
    journal = str(Path(tempfile.mkdtemp()) / "journal.sqlite")
    counts: Counter[str] = Counter()
    try:
        with cluster(4) as local, Client(local) as dask_client:  # type: ignore[no-untyped-call]
            await asyncio.to_thread(dask_client.wait_for_workers, 4)
            share = creates // len(hosted)
            batches = [await batch_for(h, share) for h in hosted]
            start = time.monotonic()

            def drive(h: HostedEmulator, requests: list[RunRequest]) -> runbridge.BulkResult:
                return runbridge.dask.create_many(
                    dask_client,
                    requests,
                    profile=profile(h),
                    journal=journal,
                    shard_size=100,
                    resume=True,
                )

            first = [
                asyncio.ensure_future(asyncio.to_thread(drive, h, b))
                for h, b in zip(hosted, batches, strict=True)
            ]
            for _ in range(kills):  # kill workers while the batches run
                await asyncio.sleep(rng.uniform(1.0, 4.0))
                pids: dict[str, int] = dask_client.run(os.getpid)
                victim = rng.choice(sorted(pids.values()))
                os.kill(victim, signal.SIGKILL)
                counts["workers_killed"] += 1
            results = await asyncio.gather(*first)
            rounds = 1
            while any(not r.ok for r in results) and rounds < 5:  # resume until settled
                await asyncio.to_thread(dask_client.wait_for_workers, 4)
                results = await asyncio.gather(
                    *(asyncio.to_thread(drive, h, b) for h, b in zip(hosted, batches, strict=True))
                )
                rounds += 1
            seconds = time.monotonic() - start
            for h, requests, result in zip(hosted, batches, results, strict=True):
                for key, value in (await audit(h, journal, requests, result)).items():
                    counts[key] += value
    finally:
        await close(hosted)
    failures = ("duplicates", "lost", "orphans_without_a_token", "wrong_settlements", "unsettled")
    outcomes = ("confirmed", "settled_to_a_run", "settled_to_none", "failed", "runs_on_provider")
    figures = {
        "case": "soak",
        "creates": share * len(hosted),
        "workers": 4,
        "resume_rounds": rounds,
    }
    every = {key: counts[key] for key in (*outcomes, *failures, "workers_killed")}
    extra = {"faults_injected": counts["faults_injected"], "requests": counts["requests"]}
    print(json.dumps({**figures, **every, **extra, "seconds": round(seconds, 1)}), flush=True)
    return 1 if any(counts[key] for key in failures) else 0


_MIX = {
    "rate_limited": 0.15,
    "rate_limited_bare": 0.05,
    "server_error": 0.20,
    "reset_before": 0.10,
    "reset_after": 0.10,
    "truncated": 0.05,
    "malformed": 0.05,
    "slow": 0.10,
}


async def audit(
    hosted: HostedEmulator,
    journal: str,
    requests: list[RunRequest],
    result: runbridge.BulkResult,
) -> Counter[str]:
    """Every create of one provider's batch against the emulator's runs, tokens settled."""
    await hosted.set_faults()
    state = await hosted.state()
    made: dict[int, list[str]] = {}
    tag = requests[0].inputs["b"]
    for run in state.runs:
        if run["inputs"].get("b") == tag:
            made.setdefault(int(run["inputs"]["i"]), []).append(run["id"])
    counts: Counter[str] = Counter(runs_on_provider=sum(len(v) for v in made.values()))
    counts["duplicates"] += sum(len(v) - 1 for v in made.values())
    async with runbridge.connect(
        hosted.config["provider"],
        token=TOKEN,
        base_url=hosted.url,
        journal=journal,
        options=testing_options(settle_window=2.0),
    ) as client:
        for index, outcome in result.by_index().items():
            held = made.get(index, [])
            if isinstance(outcome, runbridge.Run):
                counts["confirmed"] += 1
                counts["lost"] += outcome.id not in held
            elif outcome.token is None:
                counts["failed"] += 1
                counts["orphans_without_a_token"] += bool(held)
            else:
                try:
                    run = await client.resolve(outcome.token, request=requests[index], timeout=30)
                except CreateUnconfirmed:
                    counts["unsettled"] += 1
                    continue
                counts["settled_to_a_run" if run else "settled_to_none"] += 1
                counts["wrong_settlements"] += (run is None and bool(held)) or (
                    run is not None and run.id not in held
                )
    counts["faults_injected"] += sum(state.faults.values())
    counts["requests"] += state.requests
    return counts


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=["throughput", "throttle", "soak"])
    parser.add_argument("--creates", type=int)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument(
        "--journal", help="a postgresql:// URL for the throughput case (default: an SQLite file)"
    )
    args = parser.parse_args()
    os.environ["RB_BENCH_TOKEN"] = TOKEN  # the workers read the credential from it
    if args.case == "throughput":
        await throughput(args.creates or 3000, args.journal)
    elif args.case == "throttle":
        await throttle(args.creates or 600)
    else:
        return await soak(args.creates or 20000, args.kills, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
