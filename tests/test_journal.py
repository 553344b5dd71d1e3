"""The create journal: on record before the first byte, and a batch that survives kills.

A real process runs ``create_many`` with an SQLite journal and is killed at random
points; run again, it finishes the batch. The emulator's state is the judge:
exactly one run per request, none missing.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from runbridge import RunClient, RunRequest
from runbridge.emulation import Emulator, Faults
from runbridge.testing import emulated_client, load_emulator
from support import posts, until

WORKER = Path(__file__).parent / "journal_worker.py"
COUNT = 30


def rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT state, ref, idx FROM creates ORDER BY since").fetchall()


def index_of(provider: str, run: Any) -> int:
    """The ``i`` input of a run as the emulator stores it."""
    if provider == "cyberdesk":
        return int(run.input_values["i"])
    if provider == "runflow":
        return int(run.input["i"])
    return int({item["name"]: item["value"] for item in run.inputs}["i"])


async def test_a_create_is_on_record_before_its_first_byte_and_settled_after(
    tmp_path: Path, provider: str, emulator: Emulator, target: str
) -> None:
    path = tmp_path / "journal.sqlite"
    emulator.faults = Faults(slow=1.0, slow_seconds=0.2, methods={"POST"})
    async with emulated_client(provider, emulator=emulator, journal=path) as (client, _):
        task = asyncio.create_task(client.create(target, inputs={"k": 1}))
        await until(lambda: posts(emulator) == 1)
        assert rows(path) == [("pending", None, None)]  # written before the request went out
        run = await task
    assert rows(path) == [("done", str(run.ref), None)]


async def test_the_journal_never_holds_inputs_or_secrets(
    tmp_path: Path, provider: str, emulator: Emulator, target: str
) -> None:
    path = tmp_path / "journal.sqlite"
    async with emulated_client(provider, emulator=emulator, journal=path) as (client, _):
        await client.create(target, inputs={"card": "4111-SECRET-INPUT"})
    assert b"4111-SECRET-INPUT" not in path.read_bytes()


async def test_create_many_resumes_in_the_same_process_without_creating_twice(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    requests = [RunRequest(target=target, inputs={"i": i}) for i in range(5)]
    first = await client.create_many(requests)
    again = await client.create_many(requests, resume=True)
    assert {r.ref for r in again.runs} == {r.ref for r in first.runs}
    assert len(emulator.runs) == 5  # type: ignore[attr-defined]


async def test_a_changed_request_does_not_resume_someone_elses_batch(
    client: RunClient, target: str
) -> None:
    requests = [RunRequest(target=target, inputs={"i": i}) for i in range(3)]
    await client.create_many(requests)
    changed = [*requests[:2], RunRequest(target=target, inputs={"i": 99})]
    result = await client.create_many(changed, resume=True)  # another batch: all new
    assert result.ok and len(result.runs) == 3


SLOW = {"cyberdesk": 0.1, "kognitos": 0.05, "runflow": 0.6}
"""How long each create request takes: long enough for kills to land mid-batch."""


async def test_a_batch_killed_at_random_points_finishes_without_a_duplicate(
    provider: str, tmp_path: Path
) -> None:
    extras = {"inputs"} if provider == "kognitos" else set()
    emulator = load_emulator(provider, extras=extras) if extras else load_emulator(provider)
    emulator.faults = Faults(slow=1.0, slow_seconds=SLOW[provider], methods={"POST"})
    path = tmp_path / "journal.sqlite"
    rng = random.Random(f"kill-{provider}")
    kills = 0
    async with emulator.serve() as url:
        argv = [
            sys.executable,
            str(WORKER),
            provider,
            url,
            emulator.token,
            emulator.default_target,
            str(path),
            str(COUNT),
            json.dumps(emulator.client_settings()),
        ]
        for attempt in range(20):
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            if attempt < 3:  # kill it at a random point once it is sending
                seen = posts(emulator)
                await until(lambda p=proc, n=seen: posts(emulator) > n or p.returncode is not None)
                try:
                    await asyncio.wait_for(proc.wait(), rng.uniform(0.0, SLOW[provider]))
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
                    kills += 1
                    continue
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, (out, err[-2000:])
            break
        else:
            pytest.fail("the batch never finished")
    assert kills >= 2  # the batch really was interrupted, mid-flight
    made = sorted(index_of(provider, run) for run in emulator.runs.values())
    assert made == list(range(COUNT))  # each request once: no duplicate, none lost
    assert {state for state, _, _ in rows(path)} <= {"done", "abandoned"}
