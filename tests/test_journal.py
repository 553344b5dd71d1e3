"""The create journal: on record before the first byte, and a batch that survives kills.

A real process runs ``create_many`` with an SQLite journal and is killed at random
points; run again, it finishes the batch. The emulator's state is the judge:
exactly one run per request, none missing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from runbridge import RunClient, RunRequest
from runbridge.emulation import Emulator, Faults
from runbridge.testing import emulated_client
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
