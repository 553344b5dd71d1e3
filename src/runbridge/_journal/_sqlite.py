"""``SQLiteJournal``: creates recorded in one SQLite file, for processes on one host.

Every statement runs on a thread of the journal's own, so a store locked by
another process never stalls the event loop; each write is committed before it
returns (WAL, ``synchronous=FULL``), so a process killed at any point leaves every
create it may have sent on record. Failures are ``JournalError``s naming the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .._model._errors import JournalError
from ._entry import Claim, JournalEntry, decide, new_holder
from ._holders import HolderLocks
from ._rows import COLUMNS, entry_of, refill, row_of
from ._sqlite_schema import (
    ADVICE,
    INSERT,
    current,
    migrate,
    reason_of,
    retry_busy,
    transaction,
)

T = TypeVar("T")


class SQLiteJournal:
    """A journal in one SQLite file: it survives the process that wrote it.

    Several processes on one host may share the file: claims are atomic, a claim
    whose process died is free at once (its lock file says so), and one whose
    process hangs lapses with its lease. ``busy_timeout`` is how long a statement
    waits for another process's lock before ``JournalError(reason="locked")``.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._holder = new_holder()
        self._locks = HolderLocks(self.path)
        self._db: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<SQLiteJournal {self.path}>"

    @property
    def holder(self) -> str:
        """The identity this journal claims creates under."""
        return self._holder

    # -- running statements off the loop -----------------------------------------------

    def _error(self, exc: sqlite3.Error | OSError) -> JournalError:
        reason = reason_of(exc) if isinstance(exc, sqlite3.Error) else "unwritable"
        return JournalError(
            f"the create journal {self.path} cannot be used: {ADVICE[reason]} ({exc})",
            store=str(self.path),
            reason=reason,
        )

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise JournalError(
                f"the create journal {self.path} is closed", store=str(self.path), reason="closed"
            )
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="runbridge-journal")
        failure: JournalError | None = None

        def guarded() -> T:
            nonlocal failure
            try:
                db = self._db if self._db is not None else self._connect()
                return work(db)
            except (sqlite3.Error, OSError) as exc:
                failure = self._error(exc)
                raise _Failed from None

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, guarded)
        except _Failed:
            pass
        assert failure is not None
        raise failure

    def _connect(self) -> sqlite3.Connection:
        """Open the file, switch on WAL, create or migrate the schema (on the journal's thread)."""
        if not self.path.parent.is_dir():
            raise sqlite3.OperationalError(f"unable to open database file: no {self.path.parent}")
        db = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            # The busy timeout first: every later statement, WAL's switch included, then
            # waits for a lock another process holds instead of failing at once.
            db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            retry_busy(lambda: db.execute("PRAGMA journal_mode=WAL"), self.busy_timeout)
            db.execute("PRAGMA synchronous=FULL")
            retry_busy(lambda: migrate(db), self.busy_timeout)
            self._locks.hold(self._holder)
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    async def open(self) -> None:
        """Create or migrate the file now (otherwise at first use)."""
        await self._run(lambda db: None)

    async def now(self) -> float:
        """This host's clock: every process sharing the file reads the same one."""
        return time.time()

    # -- claims -------------------------------------------------------------------------

    async def claim(self, entries: Sequence[JournalEntry], *, lease: float) -> list[Claim]:
        """Claim creates about to be sent, in one transaction (see ``Journal.claim``)."""
        wanted = list(entries)

        def work(db: sqlite3.Connection) -> list[Claim]:
            with transaction(db):
                now = time.time()
                claims = []
                for entry in wanted:
                    row = current(db, entry)
                    claim = decide(
                        row, entry, holder=self._holder, now=now, lease=lease, alive=self._alive
                    )
                    if claim.outcome == "new":
                        if row is not None:
                            db.execute("DELETE FROM creates WHERE token = ?", (row.token,))
                        db.execute(INSERT, row_of(claim.entry))
                    elif claim.outcome == "taken":
                        db.execute(
                            "UPDATE creates SET holder = ?, lease_until = ? WHERE token = ?",
                            (self._holder, claim.entry.lease_until, claim.entry.token),
                        )
                    claims.append(claim)
                return claims

        return await self._run(work)

    def _alive(self, holder: str) -> bool | None:
        return self._locks.alive(holder)

    async def resent(self, token: str, *, provider_at: float | None) -> bool:
        """Record a new send of ``token``, only while this holder holds its claim."""

        def work(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE creates SET sent_at = ?, provider_sent_at = ?, sends = sends + 1 "
                "WHERE token = ? AND holder = ? AND state = 'pending'",
                (time.time(), provider_at, token, self._holder),
            )
            return cursor.rowcount == 1

        return await self._run(work)

    async def finish(self, token: str, ref: str) -> None:
        """The create made run ``ref``."""
        await self._run(
            lambda db: db.execute(
                "UPDATE creates SET ref = ?, state = 'done', lease_until = NULL WHERE token = ?",
                (ref, token),
            )
        )

    async def abandon(self, token: str) -> None:
        """The create certainly made no run."""
        await self._run(
            lambda db: db.execute(
                "UPDATE creates SET state = 'abandoned', lease_until = NULL WHERE token = ?",
                (token,),
            )
        )

    async def release(self, token: str) -> None:
        """The claim on ``token`` lapses now; its outcome stays unknown."""
        await self._run(
            lambda db: db.execute(
                "UPDATE creates SET lease_until = ? WHERE token = ? AND holder = ? "
                "AND state = 'pending'",
                (time.time(), token, self._holder),
            )
        )

    # -- reading ------------------------------------------------------------------------

    async def _select(self, where: str, args: tuple[Any, ...]) -> list[JournalEntry]:
        query = f"SELECT {COLUMNS} FROM creates WHERE {where} ORDER BY since, idx"  # noqa: S608
        rows = await self._run(lambda db: db.execute(query, args).fetchall())
        return [entry_of(row) for row in rows]

    async def get(self, token: str) -> JournalEntry | None:
        """The entry of ``token``."""
        found = await self._select("token = ?", (token,))
        return found[0] if found else None

    async def batch(self, provider: str, batch: str) -> dict[int, JournalEntry]:
        """The entries of one batch, by index."""
        rows = await self._select("provider = ? AND batch = ?", (provider, batch))
        return {e.index: e for e in rows if e.index is not None}

    async def pending(self, provider: str) -> list[JournalEntry]:
        """Creates of ``provider`` whose outcome is unknown, oldest first."""
        return await self._select("provider = ? AND state = 'pending'", (provider,))

    def pending_now(self, provider: str) -> list[JournalEntry]:
        """``pending``, read on the caller's thread with a connection of its own (for the
        deprecated sync ``unconfirmed()``; it may wait for a lock)."""
        query = f"SELECT {COLUMNS} FROM creates WHERE provider = ? AND state = 'pending' ORDER BY since, idx"  # noqa: S608, E501
        try:
            with sqlite3.connect(self.path, timeout=self.busy_timeout) as db:
                rows = db.execute(query, (provider,)).fetchall()
        except sqlite3.Error as exc:
            failure = self._error(exc)
        else:
            return [entry_of(row) for row in rows]
        raise failure

    async def start_batch(self, provider: str, key: str, *, resume: bool) -> str:
        """The id of the latest (``resume``) or of a new batch run with ``key``."""

        def work(db: sqlite3.Connection) -> int:
            with transaction(db):
                (latest,) = db.execute(
                    "SELECT coalesce(max(generation), 0) FROM batches WHERE provider = ? "
                    "AND key = ?",
                    (provider, key),
                ).fetchone()
                if resume and latest:
                    return int(latest)
                db.execute(
                    "INSERT INTO batches (provider, key, generation, started) VALUES (?, ?, ?, ?)",
                    (provider, key, latest + 1, time.time()),
                )
                return int(latest) + 1

        return f"{key}.{await self._run(work)}"

    # -- a token bucket shared by the processes on this file ----------------------------

    async def take(self, key: str, want: int, rate: float, burst: float) -> tuple[int, float]:
        """Take up to ``want`` tokens of the bucket ``key`` (see ``SharedBucket``)."""

        def work(db: sqlite3.Connection) -> tuple[int, float]:
            with transaction(db):
                now = time.time()
                row = db.execute(
                    "SELECT tokens, stamp, paused_until FROM throttles WHERE key = ?", (key,)
                ).fetchone()
                tokens, stamp, paused = row if row is not None else (burst, now, 0.0)
                granted, tokens, wait = refill(tokens, stamp, paused, now, want, rate, burst)
                db.execute(
                    "INSERT INTO throttles (key, tokens, stamp, paused_until) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, "
                    "stamp = excluded.stamp",
                    (key, tokens, now, paused),
                )
                return granted, wait

        return await self._run(work)

    async def pause(self, key: str, seconds: float) -> None:
        """Grant nothing from ``key``'s bucket for ``seconds``."""
        until = time.time() + seconds
        await self._run(
            lambda db: db.execute(
                "INSERT INTO throttles (key, tokens, stamp, paused_until) VALUES (?, 0, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET "
                "paused_until = max(paused_until, excluded.paused_until)",
                (key, time.time(), until),
            )
        )

    async def close(self) -> None:
        """Close the database and give up this process's holder lock."""
        if self._closed:
            return
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is None:
            return

        def shut() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None
            self._locks.release()

        try:
            await asyncio.get_running_loop().run_in_executor(executor, shut)
        finally:
            executor.shutdown(wait=False)


class _Failed(Exception):
    """A statement failed; the ``JournalError`` is raised outside the handler."""
