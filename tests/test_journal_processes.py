"""Batches that survive killed processes and processes racing each other on one journal.

Real processes (``journal_worker.py``) run ``create_many(..., resume=True)`` against an
emulator served by the test, with an SQLite file or a PostgreSQL database as their
journal. They are killed with SIGKILL at random points and run again; or two and four
of them start the same batch at once; or one resumes while another still runs. The
emulator's state is the judge, and every scenario counts duplicates, lost runs, runs
no report or token accounts for (orphans), and reports or tokens that name another
run than the one the emulator made (wrong settlements). All must be zero.

The default run kills each provider's batch a few times per journal; the slow tier
(``pytest -m slow``) kills it 30 times per provider and journal.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest

import runbridge
from runbridge.emulation import Emulator, Faults
from runbridge.testing import load_emulator, testing_options
from support import PROVIDERS, posts, until

WORKER = Path(__file__).parent / "journal_worker.py"
COUNT = 24
SLOW = {"cyberdesk": 0.1, "kognitos": 0.05, "kognitos-api": 0.05, "runflow": 0.4}
"""How long each create request takes: long enough for kills to land mid-batch."""
SETTLE = 1.0
"""The workers' settle window: longer than any create the emulator delays."""


def index_of(provider: str, run: Any, batch: int = 0) -> int | None:
    """The ``i`` input of a run of ``batch`` as the emulator stores it (``None``: another
    batch's run)."""
    if provider == "cyberdesk":
        inputs = run.input_values
    elif provider == "runflow":
        inputs = run.input
    elif provider == "kognitos-api":  # typed values: the batch's inputs are whole numbers
        inputs = {k: int(v["number"].get("lo", 0)) for k, v in run.user_inputs.items()}
    else:
        inputs = {item["name"]: item["value"] for item in run.inputs}
    return int(inputs["i"]) if inputs.get("batch", 0) == batch else None


def emulator_of(provider: str) -> Emulator:
    extras = {"inputs"} if provider == "kognitos" else set()
    emulator = load_emulator(provider, extras=extras)
    emulator.faults = Faults(slow=1.0, slow_seconds=SLOW[provider], methods={"POST"})
    return emulator


def config(provider: str, emulator: Emulator, url: str, journal: str, batch: int = 0) -> str:
    return json.dumps(
        {
            "provider": provider,
            "url": url,
            "token": emulator.token,
            "target": emulator.default_target,
            "journal": journal,
            "count": COUNT,
            "settings": emulator.client_settings(),
            "settle": SETTLE,
            "batch": batch,
        }
    )


async def start(argument: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        argument,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def kill(proc: asyncio.subprocess.Process) -> bool:
    """SIGKILL ``proc``; ``False`` when it ended on its own first."""
    try:
        proc.kill()
    except ProcessLookupError:
        return False
    await proc.wait()
    return True


async def finish(proc: asyncio.subprocess.Process) -> dict[str, dict[int, str]]:
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode in (0, 1) and out.strip(), err.decode()[-3000:]
    raw = json.loads(out)
    return {key: {int(i): v for i, v in raw[key].items()} for key in raw}


@attrs.define
class Audit:
    """What the emulator holds against what the processes were told."""

    duplicates: int = 0
    lost: int = 0
    orphans: int = 0
    wrong: int = 0

    def clean(self) -> bool:
        return (self.duplicates, self.lost, self.orphans, self.wrong) == (0, 0, 0, 0)


async def audit(
    provider: str,
    emulator: Emulator,
    url: str,
    journal: str,
    reports: list[dict[str, dict[int, str]]],
    batch: int = 0,
) -> Audit:
    """Count the four failures; tokens left unknown are settled first, as a user would."""
    faults = emulator.faults
    emulator.faults = None
    made: dict[int, list[str]] = {}
    for run_id, run in emulator.runs.items():
        index = index_of(provider, run, batch)
        if index is not None:
            made.setdefault(index, []).append(run_id)
    result = Audit()
    result.duplicates = sum(len(ids) - 1 for ids in made.values())
    told: dict[int, set[str]] = {}
    async with runbridge.connect(
        provider,
        token=emulator.token,
        base_url=url,
        journal=journal,
        options=testing_options(settle_window=SETTLE),
        **emulator.client_settings(),
    ) as client:
        for report in reports:
            for index, run_id in report["runs"].items():
                told.setdefault(index, set()).add(run_id)
            for index, token in report["unconfirmed"].items():
                inputs = {"i": index, "batch": batch}
                request = runbridge.RunRequest(target=emulator.default_target, inputs=inputs)
                run = await client.resolve(token, request=request, timeout=30)
                if run is not None:
                    told.setdefault(index, set()).add(run.id)
                elif made.get(index):
                    result.wrong += 1  # "no run" for a run that exists
    result.lost = sum(1 for i in range(COUNT) if not made.get(i))
    for index, ids in told.items():
        result.wrong += len(ids - set(made.get(index, [])))
    result.orphans = sum(
        1 for i, ids in made.items() for run_id in ids if run_id not in told.get(i, set())
    )
    emulator.faults = faults  # later batches are slowed again
    return result


async def killed_and_resumed(provider: str, journal: str, kills: int, seed: str) -> Audit:
    """Batch after batch, each killed at random points and resumed until it is done, until
    ``kills`` kills have landed; every batch audited."""
    emulator = emulator_of(provider)
    rng = random.Random(seed)
    done = batch = 0
    total = Audit()
    async with emulator.serve() as url:
        while True:
            argument = config(provider, emulator, url, journal, batch)
            proc = await start(argument)
            if done < kills:
                # A random point: while it imports, claims, sends, or settles what the
                # last kill left.
                window = rng.uniform(0.25, 0.45 + 4 * SLOW[provider])
                try:
                    await asyncio.wait_for(proc.wait(), window)
                except TimeoutError:
                    if await kill(proc):
                        done += 1
                        continue
            report = await finish(proc)
            if report["unconfirmed"] or len(report["runs"]) < COUNT:
                continue  # resumed again: what is unknown now is settled next time
            result = await audit(provider, emulator, url, journal, [report], batch)
            for field in attrs.fields(Audit):
                setattr(total, field.name, getattr(total, field.name) + getattr(result, field.name))
            batch += 1
            if done >= kills:
                break
    assert batch >= 1 and done == kills
    return total


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_batch_killed_at_random_points_resumes_without_a_duplicate(
    provider: str, journal_location: str
) -> None:
    result = await killed_and_resumed(provider, journal_location, 4, f"kill-{provider}")
    assert result.clean(), result


@pytest.mark.slow
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_thirty_kills_per_provider_and_journal(provider: str, journal_location: str) -> None:
    result = await killed_and_resumed(provider, journal_location, 30, f"thirty-{provider}")
    assert result.clean(), result


@pytest.mark.parametrize("processes", [2, 4])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_processes_starting_one_batch_together_make_each_run_once(
    provider: str, journal_location: str, processes: int
) -> None:
    emulator = emulator_of(provider)
    async with emulator.serve() as url:
        argument = config(provider, emulator, url, journal_location)
        procs = [await start(argument) for _ in range(processes)]
        reports = [await finish(proc) for proc in procs]
        result = await audit(provider, emulator, url, journal_location, reports)
    assert result.clean(), result
    for report in reports:  # each process accounts for every request, with the same runs
        assert len(report["runs"]) + len(report["unconfirmed"]) == COUNT, report
        assert report["failed"] == {}
    made = Counter(index_of(provider, r) for r in emulator.runs.values())
    assert made == Counter(range(COUNT))


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_batch_resumed_while_its_first_process_still_runs(
    provider: str, journal_location: str
) -> None:
    emulator = emulator_of(provider)
    async with emulator.serve() as url:
        argument = config(provider, emulator, url, journal_location)
        first = await start(argument)
        await until(lambda: posts(emulator) >= 1)  # the first is sending
        second = await start(argument)  # an overlapping cron run, or a double start
        reports = [await finish(first), await finish(second)]
        result = await audit(provider, emulator, url, journal_location, reports)
    assert result.clean(), result
    assert len(emulator.runs) == COUNT
