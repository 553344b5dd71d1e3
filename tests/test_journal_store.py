"""The journal stores themselves: claims, leases, holders that die, and stores that fail.

Every claim rule runs against both stores (an SQLite file and a PostgreSQL database on
the throwaway server ``scripts/test.sh`` starts). Each failing store (locked, corrupt,
truncated, read-only, missing, unreachable) must surface as a ``JournalError`` that names
it, never as a raw driver error, and a locked one must never stall the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runbridge import JournalError
from runbridge.journal import Journal, JournalEntry, SQLiteJournal, open_journal
from support import until_async

WORKER = Path(__file__).parent / "journal_claimer.py"


def entry(token: str, *, batch: str | None = "b.1", index: int | None = 0) -> JournalEntry:
    return JournalEntry(
        token=token,
        provider="kognitos",
        target="p/a",
        name=None,
        options={},
        fingerprint="f" * 64,
        since=datetime.now(UTC),
        batch=batch,
        index=index,
    )


@contextlib.asynccontextmanager
async def opened(location: str) -> Iterator[Journal]:  # type: ignore[misc]
    journal = open_journal(location)
    await journal.open()
    try:
        yield journal
    finally:
        await journal.close()


async def test_a_slot_is_claimed_once_and_then_read_back(journal_location: str) -> None:
    async with opened(journal_location) as first, opened(journal_location) as second:
        (mine,) = await first.claim([entry("t1")], lease=60)
        assert mine.outcome == "new" and mine.entry.holder == first.holder
        (theirs,) = await second.claim([entry("t2")], lease=60)
        assert theirs.outcome == "held" and theirs.entry.token == "t1"
        await first.finish("t1", "kognitos:r1")
        (after,) = await second.claim([entry("t3")], lease=60)
        assert after.outcome == "settled"
        assert (after.entry.token, after.entry.ref, after.entry.state) == (
            "t1",
            "kognitos:r1",
            "done",
        )


async def test_a_claim_whose_holder_is_gone_is_taken_over_at_once(journal_location: str) -> None:
    async with opened(journal_location) as second:
        first = open_journal(journal_location)
        await first.open()
        (mine,) = await first.claim([entry("t1")], lease=3600)
        await first.close()  # the holder's process ends: its liveness lock goes with it
        (taken,) = await second.claim([entry("t2")], lease=60)
        assert taken.outcome == "taken"
        assert (taken.entry.token, taken.entry.holder) == ("t1", second.holder)
        assert taken.entry.sends == 1 and taken.entry.sent_at == mine.entry.sent_at


async def test_a_lapsed_lease_is_taken_and_fences_its_old_holder(journal_location: str) -> None:
    async with opened(journal_location) as first, opened(journal_location) as second:
        await first.claim([entry("t1")], lease=0.2)
        claims: list[str] = []

        async def taken() -> bool:
            (claim,) = await second.claim([entry("t2")], lease=60)
            claims.append(claim.outcome)
            return claim.outcome == "taken"

        await until_async(taken)
        assert claims[0] == "held"  # the lease held while it lasted
        assert not await first.resent("t1", provider_at=None)  # it must not send again
        assert await second.resent("t1", provider_at=None)
        assert (await second.get("t1")).sends == 2  # type: ignore[union-attr]


async def test_an_abandoned_slot_is_claimed_anew(journal_location: str) -> None:
    async with opened(journal_location) as journal:
        await journal.claim([entry("t1")], lease=60)
        await journal.abandon("t1")
        (claim,) = await journal.claim([entry("t2")], lease=60)
        assert claim.outcome == "new" and claim.entry.token == "t2"
        assert await journal.get("t1") is None
        await journal.claim([entry("t3", batch=None, index=None)], lease=60)
        await journal.abandon("t3")
        (again,) = await journal.claim([entry("t3", batch=None, index=None)], lease=60)
        assert again.outcome == "settled" and again.entry.state == "abandoned"


async def test_released_claims_lapse_at_once(journal_location: str) -> None:
    async with opened(journal_location) as first, opened(journal_location) as second:
        await first.claim([entry("t1")], lease=3600)
        await first.release("t1")
        (claim,) = await second.claim([entry("t2")], lease=60)
        assert claim.outcome == "taken" and claim.entry.token == "t1"


async def test_batches_are_numbered_by_their_key(journal_location: str) -> None:
    async with opened(journal_location) as journal:
        assert await journal.start_batch("kognitos", "k", resume=True) == "k.1"
        assert await journal.start_batch("kognitos", "k", resume=True) == "k.1"
        assert await journal.start_batch("kognitos", "k", resume=False) == "k.2"
        assert await journal.start_batch("kognitos", "k", resume=True) == "k.2"
        assert await journal.start_batch("runflow", "k", resume=False) == "k.1"


async def test_pending_lists_only_open_creates_oldest_first(journal_location: str) -> None:
    async with opened(journal_location) as journal:
        for n in range(3):
            await journal.claim([entry(f"t{n}", index=n)], lease=60)
        await journal.finish("t1", "kognitos:r")
        assert [e.token for e in await journal.pending("kognitos")] == ["t0", "t2"]
        assert await journal.pending("runflow") == []


@pytest.mark.parametrize("processes", [2, 4])
async def test_processes_claiming_one_slot_together_get_one_claim(
    journal_location: str, processes: int
) -> None:
    async with opened(journal_location):
        pass  # the schema exists before the race, as after any first use
    for round_ in range(3):
        outcomes = await claimers(journal_location, [f"b.{round_}"] * processes)
        assert sorted(outcomes) == ["held"] * (processes - 1) + ["new"]


async def claimers(location: str, batches: list[str]) -> list[str]:
    """Processes that each claim slot 0 of their batch at once; their outcomes (all are
    alive until every one has claimed)."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            location,
            batch,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for batch in batches
    ]
    outcomes = []
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            outcomes.append(line.decode().strip())
    finally:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in procs:
            _, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, err.decode()[-2000:]
    return outcomes


async def test_processes_opening_a_new_file_together_all_succeed(tmp_path: Path) -> None:
    for round_ in range(4):
        path = str(tmp_path / f"new-{round_}.sqlite")
        outcomes = await claimers(path, [f"b.{n}" for n in range(6)])
        assert outcomes == ["new"] * 6


# -- a store that fails -----------------------------------------------------------------


async def test_a_locked_file_is_a_journal_error_and_never_stalls_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    async with opened(str(path)):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process's long transaction
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    journal = SQLiteJournal(path, busy_timeout=0.5)
    try:
        with pytest.raises(JournalError) as caught:
            await journal.claim([entry("t1")], lease=60)
        assert ticks >= 5  # the loop went on while the journal waited for the lock
    finally:
        ticker.cancel()
        holder.execute("ROLLBACK")
        holder.close()
        await journal.close()
    assert caught.value.reason == "locked" and caught.value.store == str(path)
    assert str(path) in str(caught.value) and "locked" in str(caught.value)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
async def test_a_corrupt_or_truncated_file_is_a_journal_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "journal.sqlite"
    async with opened(str(path)) as journal:
        for n in range(200):
            await journal.claim([entry(f"t{n}", index=n)], lease=60)
    spoil(path, damage)
    journal = open_journal(str(path))

    async def use() -> None:
        await journal.open()
        await journal.pending("kognitos")
        await journal.claim([entry("x", index=500)], lease=60)

    with pytest.raises(JournalError) as caught:
        await use()
    await journal.close()
    assert caught.value.reason == "corrupt" and str(path) in str(caught.value)


def spoil(path: Path, damage: str) -> None:
    """Overwrite a closed journal file with garbage, or cut it short."""
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    data = path.read_bytes()
    path.write_bytes(b"not a database at all " * 100 if damage == "garbage" else data[:6000])


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` made unwritable, for root too (root ignores permission bits)."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make a file read-only for root here: {made.stderr!r}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


async def test_a_read_only_file_is_a_journal_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    async with opened(str(path)) as journal:
        await journal.claim([entry("t0")], lease=60)
    with read_only(path), read_only(tmp_path):
        journal = open_journal(str(path))
        with pytest.raises(JournalError) as caught:
            await journal.claim([entry("t1", index=1)], lease=60)
        await journal.close()
    assert caught.value.reason in {"read-only", "unwritable"}
    assert str(path) in str(caught.value)


async def test_a_file_in_a_missing_directory_is_a_journal_error(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "journal.sqlite"
    journal = open_journal(str(path))
    with pytest.raises(JournalError) as caught:
        await journal.open()
    assert caught.value.reason == "unwritable" and str(path) in str(caught.value)


async def test_an_unreachable_database_is_a_journal_error_without_its_password() -> None:
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    journal = open_journal(f"postgresql://runbridge:s3cret-pw-42@127.0.0.1:{port}/x")
    with pytest.raises(JournalError) as caught:
        await journal.open()
    assert caught.value.reason == "unreachable"
    assert "s3cret-pw-42" not in str(caught.value) and "s3cret-pw-42" not in repr(journal)
    assert caught.value.store == f"postgresql://runbridge@127.0.0.1:{port}/x"


async def test_a_closed_journal_is_a_journal_error(journal_location: str) -> None:
    journal = open_journal(journal_location)
    await journal.open()
    await journal.close()
    with pytest.raises(JournalError) as caught:
        await journal.claim([entry("t1")], lease=60)
    assert caught.value.reason == "closed"


# -- a journal written by runbridge 0.1 ----------------------------------------------------

V1_SCHEMA = """
CREATE TABLE creates (
    token TEXT PRIMARY KEY, provider TEXT NOT NULL, target TEXT NOT NULL, name TEXT,
    options TEXT NOT NULL, fingerprint TEXT NOT NULL, since TEXT NOT NULL, batch TEXT,
    idx INTEGER, chunk TEXT, ref TEXT, state TEXT NOT NULL
);
CREATE INDEX creates_batch ON creates (provider, batch, idx);
CREATE INDEX creates_pending ON creates (provider, state);
"""


async def test_a_version_1_file_is_migrated_and_its_batch_resumes(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
        since = datetime.now(UTC).isoformat()
        rows = [
            (
                "a",
                "kognitos",
                "p/a",
                None,
                "{}",
                "f" * 64,
                since,
                "k" * 32,
                0,
                None,
                "kognitos:r0",
                "done",
            ),
            (
                "b",
                "kognitos",
                "p/a",
                None,
                "{}",
                "f" * 64,
                since,
                "k" * 32,
                1,
                None,
                None,
                "pending",
            ),
            # an earlier call of the same batch left index 1 too (0.1 kept both)
            (
                "c",
                "kognitos",
                "p/a",
                None,
                "{}",
                "f" * 64,
                since,
                "k" * 32,
                1,
                None,
                None,
                "pending",
            ),
        ]
        db.executemany("INSERT INTO creates VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    async with opened(str(path)) as journal:
        assert await journal.start_batch("kognitos", "k" * 32, resume=True) == "k" * 32 + ".1"
        batch = await journal.batch("kognitos", "k" * 32 + ".1")
        assert {i: e.token for i, e in batch.items()} == {0: "a", 1: "c"}
        assert [e.token for e in await journal.pending("kognitos")] == ["b", "c"]
        (claim,) = await journal.claim([entry("z", batch="k" * 32 + ".1", index=1)], lease=60)
        assert claim.outcome == "taken" and claim.entry.token == "c"  # no holder: settle it
