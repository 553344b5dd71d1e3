"""Batches spread over a real Dask cluster of worker processes, against emulators in
processes of their own, with the shared journal as the system of record.

One ``LocalCluster`` of two worker processes serves the module. Each scenario (shards
spread over workers, a worker killed mid-shard, the driver killed, two drivers, a
provider-wide rate limit) counts duplicates, lost runs, orphans without a token and
wrong settlements against the emulator's own state; all must be zero.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import distributed
import pytest

import runbridge
import runbridge.dask
from runbridge import ConfigError, Profile, RunRequest
from runbridge.testing import HostedEmulator, testing_options

TOKEN = "emu-dask-token-0123456789"
"""Every hosted emulator's credential; the workers read it from ``RB_DASK_TOKEN``."""
DRIVER = Path(__file__).parent / "dask_driver.py"
COUNT = 60


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A LocalCluster of two worker processes (their environment holds the token)."""
    saved = {name: os.environ.get(name) for name in ("RB_DASK_TOKEN", "RUNBRIDGE_TOKEN")}
    os.environ["RB_DASK_TOKEN"] = TOKEN
    os.environ["RUNBRIDGE_TOKEN"] = TOKEN  # for the command line's --provider profile
    local = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
        silence_logs=40,
    )
    try:
        yield local
    finally:
        local.close()
        for name, value in saved.items():  # the workers keep theirs; the tests after do not
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def dask_client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


def profile_for(hosted: HostedEmulator, **client: Any) -> Profile:
    extras = {"timeout": 5.0, "deadline": 20.0, "settle_window": 1.0, **client}
    return Profile(
        name="emulated",
        provider=hosted.config["provider"],
        token_env="RB_DASK_TOKEN",
        base_url=hosted.url,
        client=extras,
    )


async def requests_for(hosted: HostedEmulator, count: int = COUNT) -> list[RunRequest]:
    target = (await hosted.state()).default_target
    return [RunRequest(target=target, inputs={"i": i}) for i in range(count)]


@attrs.define
class Audit:
    duplicates: int = 0
    lost: int = 0
    orphans: int = 0
    wrong: int = 0

    def clean(self) -> bool:
        return (self.duplicates, self.lost, self.orphans, self.wrong) == (0, 0, 0, 0)


async def audit(
    hosted: HostedEmulator, journal: str, reports: list[dict[str, dict[int, str]]]
) -> Audit:
    """The four counts against the hosted emulator's runs; unknown tokens settled first."""
    state = await hosted.state()
    made: dict[int, list[str]] = {}
    for run in state.runs:
        made.setdefault(int(run["inputs"]["i"]), []).append(run["id"])
    result = Audit(duplicates=sum(len(ids) - 1 for ids in made.values()))
    told: dict[int, set[str]] = {}
    provider = hosted.config["provider"]
    async with runbridge.connect(
        provider,
        token=TOKEN,
        base_url=hosted.url,
        journal=journal,
        options=testing_options(settle_window=1.0),
    ) as client:
        for report in reports:
            for index, run_id in report["runs"].items():
                told.setdefault(index, set()).add(run_id)
            for index, token in report["unconfirmed"].items():
                request = RunRequest(target=state.default_target, inputs={"i": index})
                run = await client.resolve(token, request=request, timeout=30)
                if run is not None:
                    told.setdefault(index, set()).add(run.id)
                elif made.get(index):
                    result.wrong += 1
    result.lost = sum(1 for i in range(COUNT) if not made.get(i))
    result.wrong += sum(len(ids - set(made.get(i, []))) for i, ids in told.items())
    result.orphans = sum(
        1 for i, ids in made.items() for run_id in ids if run_id not in told.get(i, set())
    )
    return result


def report_of(result: runbridge.BulkResult) -> dict[str, dict[int, str]]:
    outcome = result.by_index()
    return {
        "runs": {i: o.id for i, o in outcome.items() if isinstance(o, runbridge.Run)},
        "unconfirmed": {
            i: o.token
            for i, o in outcome.items()
            if isinstance(o, runbridge.BulkError) and o.token is not None
        },
    }


def shards_run(dask_client: Any) -> dict[str, int]:
    """Shards each worker has run so far."""

    def count(dask_worker: Any) -> int:
        plugin = dask_worker.plugins.get("runbridge")
        return int(plugin.shards) if plugin is not None else 0

    counts: dict[str, int] = dask_client.run(count)
    return counts


def worker_pids(dask_client: Any) -> dict[str, int]:
    pids: dict[str, int] = dask_client.run(os.getpid)
    return pids


async def until_created(hosted: HostedEmulator, count: int, within: float = 30.0) -> None:
    """Poll the emulator until it made ``count`` runs (a deadline, not a sleep)."""
    end = asyncio.get_running_loop().time() + within
    while len((await hosted.state()).runs) < count:
        assert asyncio.get_running_loop().time() < end, "the batch never got going"
        await asyncio.sleep(0.05)


# -- the scenarios -------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["cyberdesk", "kognitos", "runflow"])
async def test_a_batch_spreads_over_the_workers_and_each_run_is_made_once(
    dask_client: Any, provider: str, tmp_path: Path
) -> None:
    journal = str(tmp_path / "journal.sqlite")
    seen: list[runbridge.dask.BatchProgress] = []
    before = shards_run(dask_client)
    async with HostedEmulator(
        provider, token=TOKEN, extras=["inputs"] if provider == "kognitos" else []
    ) as hosted:
        result = await asyncio.to_thread(
            runbridge.dask.create_many,
            dask_client,
            await requests_for(hosted),
            profile=profile_for(hosted),
            journal=journal,
            shard_size=10,
            progress=seen.append,
        )
        assert result.ok and len(result.runs) == COUNT
        assert [seen[-1].done, seen[-1].runs] == [COUNT, COUNT]
        assert [p.done for p in seen] == sorted(p.done for p in seen)
        after = shards_run(dask_client)
        assert all(after[w] > before.get(w, 0) for w in after)  # every worker took shards
        assert sum(after.values()) - sum(before.values()) == COUNT // 10
        outcome = await audit(hosted, journal, [report_of(result)])
    assert outcome.clean(), outcome


async def test_a_worker_killed_mid_shard_and_the_batch_resumed(
    dask_client: Any, journal_location: str
) -> None:
    async with HostedEmulator(
        "kognitos", token=TOKEN, extras=["inputs"], faults={"slow": 1.0, "slow_seconds": 0.05}
    ) as hosted:
        profile = profile_for(hosted)
        task = asyncio.ensure_future(
            asyncio.to_thread(
                runbridge.dask.create_many,
                dask_client,
                await requests_for(hosted),
                profile=profile,
                journal=journal_location,
                shard_size=10,
                concurrency=4,
            )
        )
        await until_created(hosted, 8)
        victim = next(iter(worker_pids(dask_client).values()))
        os.kill(victim, signal.SIGKILL)  # mid-shard
        first = await task
        dask_client.wait_for_workers(2, timeout=60)  # the nanny starts it again
        resumed = await asyncio.to_thread(
            runbridge.dask.create_many,
            dask_client,
            await requests_for(hosted),
            profile=profile,
            journal=journal_location,
            shard_size=10,
            resume=True,
        )
        assert resumed.ok, resumed.errors[:3]
        assert [r.id for r in resumed.runs] == [
            o.id for o in first.by_index().values() if isinstance(o, runbridge.Run)
        ] or len(resumed.runs) == COUNT
        outcome = await audit(hosted, journal_location, [report_of(first), report_of(resumed)])
    assert outcome.clean(), outcome


async def run_driver(config: dict[str, Any]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(DRIVER),
        json.dumps(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def driver_report(proc: asyncio.subprocess.Process) -> dict[str, dict[int, str]]:
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0 and out.strip(), err.decode()[-3000:]
    raw = json.loads(out)
    return {key: {int(i): v for i, v in raw[key].items()} for key in raw}


async def driver_config(hosted: HostedEmulator, scheduler: str, journal: str) -> dict[str, Any]:
    profile = profile_for(hosted)
    return {
        "scheduler": scheduler,
        "profile": {
            "name": profile.name,
            "provider": profile.provider,
            "token_env": profile.token_env,
            "base_url": profile.base_url,
            "client": dict(profile.client),
        },
        "target": (await hosted.state()).default_target,
        "journal": journal,
        "count": COUNT,
    }


async def test_the_driver_killed_and_the_batch_resumed(
    dask_client: Any, cluster: Any, journal_location: str
) -> None:
    async with HostedEmulator(
        "runflow", token=TOKEN, faults={"slow": 1.0, "slow_seconds": 0.05}
    ) as hosted:
        config = await driver_config(hosted, cluster.scheduler_address, journal_location)
        driver = await run_driver(config)
        await until_created(hosted, 5)
        driver.kill()  # the driver dies; its workers' shards go on or are dropped
        await driver.wait()
        report = await driver_report(await run_driver(config))  # started again
        assert len(report["runs"]) + len(report["unconfirmed"]) == COUNT
        outcome = await audit(hosted, journal_location, [report])
    assert outcome.clean(), outcome


async def test_two_drivers_submitting_one_batch_make_each_run_once(
    dask_client: Any, cluster: Any, journal_location: str
) -> None:
    async with HostedEmulator("cyberdesk", token=TOKEN) as hosted:
        config = await driver_config(hosted, cluster.scheduler_address, journal_location)
        drivers = [await run_driver(config), await run_driver(config)]
        reports = [await driver_report(driver) for driver in drivers]
        outcome = await audit(hosted, journal_location, reports)
        assert reports[0]["runs"] == reports[1]["runs"]  # the same runs, each reported twice
        assert len((await hosted.state()).runs) == COUNT
    assert outcome.clean(), outcome


async def test_a_provider_wide_rate_limit_holds_in_sum_over_the_workers(
    dask_client: Any, tmp_path: Path
) -> None:
    # The emulator allows 30 requests a second per credential. Without a limit of their
    # own, two workers creating at once are refused; with "20/s" shared through the
    # journal they never are.
    async with HostedEmulator("kognitos", token=TOKEN, rate_limit="30/s") as hosted:
        unlimited = await asyncio.to_thread(
            runbridge.dask.create_many,
            dask_client,
            await requests_for(hosted),
            profile=profile_for(hosted),
            journal=str(tmp_path / "unlimited.sqlite"),
            shard_size=10,
        )
        refused = (await hosted.state()).refused
        assert refused > 0  # the witness refuses (retries ride most of it out)
        assert len(unlimited.by_index()) == COUNT
    async with HostedEmulator("kognitos", token=TOKEN, rate_limit="30/s") as hosted:
        limited = await asyncio.to_thread(
            runbridge.dask.create_many,
            dask_client,
            await requests_for(hosted),
            profile=profile_for(hosted, rate="20/s", max_in_flight=8),
            journal=str(tmp_path / "limited.sqlite"),
            shard_size=10,
        )
        state = await hosted.state()
    assert limited.ok and state.refused == 0


def test_a_batch_without_a_shared_journal_is_refused(dask_client: Any) -> None:
    profile = Profile(name="p", provider="kognitos", token_env="RB_DASK_TOKEN")
    requests = [RunRequest(target="a/b", inputs={"i": 0})]
    with pytest.raises(ConfigError) as caught:
        runbridge.dask.create_many(dask_client, requests, profile=profile, journal="")
    assert caught.value.field == "journal"


# -- the command line ---------------------------------------------------------------------


async def cli(*argv: str) -> tuple[int, str, str]:
    """Run ``runbridge ARGV`` as a process; its exit code, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "runbridge",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "RUNBRIDGE_TOKEN": TOKEN},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("where", ["scheduler", "local"])
async def test_bulk_on_a_cluster_from_the_command_line(
    cluster: Any, tmp_path: Path, where: str
) -> None:
    journal = str(tmp_path / "journal.sqlite")
    on = ["--dask", cluster.scheduler_address] if where == "scheduler" else ["--workers", "2"]
    async with HostedEmulator("kognitos", token=TOKEN, extras=["inputs"]) as hosted:
        target = (await hosted.state()).default_target
        argv = ["--provider", "kognitos", "--base-url", hosted.url, "--json", "bulk", target]
        code, out, err = await cli(
            *argv, "--count", "25", "--shard-size", "5", *on, "--journal", journal
        )
        assert code == 0, out[-3000:] + err[-2000:]
        runs = [json.loads(line) for line in out.splitlines()]
        assert len(runs) == 25 and "creating 25/25" in err
        again, out, err = await cli(*argv, "--count", "25", *on, "--journal", journal)
        assert again == 0, out[-2000:] + err[-2000:]
        assert {json.loads(line)["id"] for line in out.splitlines()} == {r["id"] for r in runs}
        assert len((await hosted.state()).runs) == 25  # the second run read them back


async def test_bulk_on_a_cluster_needs_a_journal(cluster: Any) -> None:
    code, _, err = await cli(
        "--provider", "kognitos", "--base-url", "http://127.0.0.1:9", "bulk", "a/b",
        "--count", "2", "--dask", cluster.scheduler_address,
    )  # fmt: skip
    assert code == 2 and "--journal" in err


def test_errors_travel_between_processes_whole() -> None:
    # A shard's errors come back from a worker pickled: keyword arguments and all.
    import pickle

    errors = [
        runbridge.CreateUnconfirmed("lost", token="t1", provider="kognitos", status=502),
        runbridge.WaitTimeout("slow", run=None, provider="runflow"),
        runbridge.InvalidRequest("bad", field="inputs", provider="cyberdesk"),
        runbridge.RateLimited("busy", retry_after=2.5, status=429),
        runbridge.JournalError("locked", store="/tmp/j.sqlite", reason="locked"),
        runbridge.ProviderUnavailable("down", delivered=False, status=503),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert copy.__dict__ == error.__dict__


async def test_run_many_waits_on_the_workers_for_every_run(
    dask_client: Any, tmp_path: Path
) -> None:
    async with HostedEmulator("runflow", token=TOKEN, speed=200.0) as hosted:
        requests = (await requests_for(hosted))[:20]
        result = await asyncio.to_thread(
            runbridge.dask.run_many,
            dask_client,
            requests,
            profile=profile_for(hosted),
            journal=str(tmp_path / "journal.sqlite"),
            shard_size=5,
            timeout=60,
        )
    assert result.ok and len(result.runs) == 20
    assert {run.status for run in result.runs} == {runbridge.RunStatus.SUCCEEDED}
    assert [run.inputs["i"] for run in result.runs] == list(range(20))
