"""``PostgresJournal``: creates recorded in PostgreSQL, for processes on many hosts.

The same claims and leases as the SQLite journal, on the database's clock. Each
journal holds a session-level advisory lock for as long as it is open: when its
process dies, its connection drops and the lock with it, so another process can
take its claims over at once (through the settle path) instead of waiting for
their leases. Needs the ``postgres`` extra (``pip install 'runbridge[postgres]'``,
the asyncpg driver).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._model._errors import ConfigError, JournalError
from ._entry import Claim, JournalEntry, decide, new_holder
from ._postgres_sql import (
    INSERT,
    NOW,
    SCHEMA,
    SCHEMA_LOCK,
    current_query,
    identity,
    lock_key,
    shown,
    signed,
)
from ._rows import COLUMNS, entry_of, refill, row_of

if TYPE_CHECKING:
    import asyncpg


class PostgresJournal:
    """A journal in a PostgreSQL database, shared by processes on any number of hosts."""

    def __init__(self, dsn: str, *, max_connections: int = 4) -> None:
        self._dsn = dsn
        self.store = shown(dsn)
        """The database, named without its password."""
        self._max = max_connections
        self._holder = new_holder()
        self._pool: asyncpg.Pool | None = None
        self._lock: asyncpg.Connection | None = None
        self._closed = False
        self._opening: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"<PostgresJournal {self.store}>"

    @property
    def holder(self) -> str:
        """The identity this journal claims creates under."""
        return self._holder

    def _error(self, exc: BaseException, reason: str | None = None) -> JournalError:
        import asyncpg

        if reason is None:
            if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
                reason = "read-only"
            elif isinstance(exc, asyncpg.LockNotAvailableError | asyncpg.DeadlockDetectedError):
                reason = "locked"
            elif isinstance(exc, asyncpg.UndefinedTableError | asyncpg.UndefinedColumnError):
                reason = "schema"
            elif isinstance(exc, asyncpg.InsufficientPrivilegeError):
                reason = "read-only"
            else:
                reason = "unreachable"
        text = str(exc).replace(self._dsn, self.store)
        return JournalError(
            f"the create journal {self.store} cannot be used ({reason}): "
            f"{type(exc).__name__}: {text}"[:500],
            store=self.store,
            reason=reason,
        )

    async def open(self) -> None:
        """Connect, take this holder's liveness lock, and create the tables if needed."""
        if self._pool is not None:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                await self._open()

    async def _open(self) -> None:
        if self._closed:
            raise JournalError(
                f"the create journal {self.store} is closed", store=self.store, reason="closed"
            )
        try:
            import asyncpg
        except ImportError:
            raise ConfigError(
                "a PostgreSQL journal needs the asyncpg driver: pip install 'runbridge[postgres]'",
                field="journal",
            ) from None
        failure: JournalError | None = None
        try:
            self._lock = await asyncpg.connect(self._dsn)
            await self._lock.execute("SELECT pg_advisory_lock($1)", lock_key(self._holder))
            async with self._lock.transaction():
                await self._lock.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
                await self._lock.execute(SCHEMA)
            self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=self._max)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            failure = self._error(exc)
        if failure is not None:
            await self._drop()
            raise failure

    async def _drop(self) -> None:
        lock, self._lock = self._lock, None
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
        if lock is not None:
            await lock.close()

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        import asyncpg

        await self.open()
        assert self._pool is not None
        failure: JournalError | None = None
        try:
            return list(await self._pool.fetch(query, *args))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            failure = self._error(exc)
        raise failure

    async def now(self) -> float:
        """The database's clock: one clock for every host that shares it."""
        rows = await self._fetch(f"SELECT {NOW}")
        return float(rows[0][0])

    async def claim(self, entries: Sequence[JournalEntry], *, lease: float) -> list[Claim]:
        """Claim creates about to be sent, in one transaction (see ``Journal.claim``)."""
        import asyncpg

        await self.open()
        assert self._pool is not None
        failure: JournalError | None = None
        try:
            async with self._pool.acquire() as db, db.transaction():
                return await self._claim(db, list(entries), lease)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            failure = self._error(exc)
        raise failure

    async def _claim(self, db: Any, wanted: list[JournalEntry], lease: float) -> list[Claim]:
        slots = sorted({(e.provider, e.batch) for e in wanted if e.batch is not None})
        for provider, batch in slots:  # one claimer of a batch at a time
            await db.execute("SELECT pg_advisory_xact_lock($1)", lock_key(f"{provider}\n{batch}"))
        now = float(await db.fetchval(f"SELECT {NOW}"))
        rows: dict[tuple[Any, ...], JournalEntry] = {}
        for entry in wanted:
            found = await db.fetchrow(*current_query(entry))
            if found is not None:
                rows[identity(entry)] = entry_of(found)
        holders = sorted({r.holder for r in rows.values() if r.holder and r.holder != self._holder})
        live = await self._live(db, holders)
        claims = []
        for entry in wanted:
            row = rows.get(identity(entry))
            claim = decide(
                row, entry, holder=self._holder, now=now, lease=lease, alive=lambda h: h in live
            )
            if claim.outcome == "new":
                if row is not None:
                    await db.execute("DELETE FROM runbridge_creates WHERE token = $1", row.token)
                await db.execute(INSERT, *row_of(claim.entry))
            elif claim.outcome == "taken":
                await db.execute(
                    "UPDATE runbridge_creates SET holder = $1, lease_until = $2 WHERE token = $3",
                    self._holder,
                    claim.entry.lease_until,
                    claim.entry.token,
                )
            claims.append(claim)
        return claims

    async def _live(self, db: Any, holders: list[str]) -> set[str]:
        """Which of ``holders`` still hold their liveness lock (their process runs)."""
        if not holders:
            return set()
        keys = {lock_key(h): h for h in holders}
        rows = await db.fetch(
            "SELECT classid::bigint, objid::bigint FROM pg_locks "
            "WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
        )
        held = {signed((row[0] << 32) | row[1]) for row in rows}
        return {holder for key, holder in keys.items() if key in held}

    async def resent(self, token: str, *, provider_at: float | None) -> bool:
        """Record a new send of ``token``, only while this holder holds its claim."""
        rows = await self._fetch(
            f"UPDATE runbridge_creates SET sent_at = {NOW}, provider_sent_at = $1, "  # noqa: S608
            "sends = sends + 1 WHERE token = $2 AND holder = $3 AND state = 'pending' "
            "RETURNING token",
            provider_at,
            token,
            self._holder,
        )
        return bool(rows)

    async def finish(self, token: str, ref: str) -> None:
        """The create made run ``ref``."""
        await self._fetch(
            "UPDATE runbridge_creates SET ref = $1, state = 'done', lease_until = NULL "
            "WHERE token = $2",
            ref,
            token,
        )

    async def abandon(self, token: str) -> None:
        """The create certainly made no run."""
        await self._fetch(
            "UPDATE runbridge_creates SET state = 'abandoned', lease_until = NULL WHERE token = $1",
            token,
        )

    async def release(self, token: str) -> None:
        """The claim on ``token`` lapses now; its outcome stays unknown."""
        await self._fetch(
            f"UPDATE runbridge_creates SET lease_until = {NOW} WHERE token = $1 "  # noqa: S608
            "AND holder = $2 AND state = 'pending'",
            token,
            self._holder,
        )

    async def _select(self, where: str, *args: Any) -> list[JournalEntry]:
        rows = await self._fetch(
            f"SELECT {COLUMNS} FROM runbridge_creates WHERE {where} ORDER BY since, idx",  # noqa: S608
            *args,
        )
        return [entry_of(row) for row in rows]

    async def get(self, token: str) -> JournalEntry | None:
        """The entry of ``token``."""
        found = await self._select("token = $1", token)
        return found[0] if found else None

    async def batch(self, provider: str, batch: str) -> dict[int, JournalEntry]:
        """The entries of one batch, by index."""
        rows = await self._select("provider = $1 AND batch = $2", provider, batch)
        return {e.index: e for e in rows if e.index is not None}

    async def pending(self, provider: str) -> list[JournalEntry]:
        """Creates of ``provider`` whose outcome is unknown, oldest first."""
        return await self._select("provider = $1 AND state = 'pending'", provider)

    async def start_batch(self, provider: str, key: str, *, resume: bool) -> str:
        """The id of the latest (``resume``) or of a new batch run with ``key``."""
        import asyncpg

        await self.open()
        assert self._pool is not None
        failure: JournalError | None = None
        try:
            async with self._pool.acquire() as db, db.transaction():
                await db.execute("SELECT pg_advisory_xact_lock($1)", lock_key(f"{provider}\n{key}"))
                latest = await db.fetchval(
                    "SELECT coalesce(max(generation), 0) FROM runbridge_batches "
                    "WHERE provider = $1 AND key = $2",
                    provider,
                    key,
                )
                generation = int(latest) if resume and latest else int(latest) + 1
                if generation != latest:
                    await db.execute(
                        f"INSERT INTO runbridge_batches VALUES ($1, $2, $3, {NOW})",  # noqa: S608
                        provider,
                        key,
                        generation,
                    )
                return f"{key}.{generation}"
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            failure = self._error(exc)
        raise failure

    async def take(self, key: str, want: int, rate: float, burst: float) -> tuple[int, float]:
        """Take up to ``want`` tokens of the bucket ``key`` (see ``SharedBucket``)."""
        import asyncpg

        await self.open()
        assert self._pool is not None
        failure: JournalError | None = None
        try:
            async with self._pool.acquire() as db, db.transaction():
                now = float(await db.fetchval(f"SELECT {NOW}"))
                await db.execute(
                    "INSERT INTO runbridge_throttles VALUES ($1, $2, $3, 0) "
                    "ON CONFLICT (key) DO NOTHING",
                    key,
                    burst,
                    now,
                )
                row = await db.fetchrow(
                    "SELECT tokens, stamp, paused_until FROM runbridge_throttles "
                    "WHERE key = $1 FOR UPDATE",
                    key,
                )
                assert row is not None  # inserted above when missing
                granted, tokens, wait = refill(row[0], row[1], row[2], now, want, rate, burst)
                await db.execute(
                    "UPDATE runbridge_throttles SET tokens = $1, stamp = $2 WHERE key = $3",
                    tokens,
                    now,
                    key,
                )
                return granted, wait
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            failure = self._error(exc)
        raise failure

    async def pause(self, key: str, seconds: float) -> None:
        """Grant nothing from ``key``'s bucket for ``seconds``."""
        await self._fetch(
            f"INSERT INTO runbridge_throttles VALUES ($1, 0, {NOW}, {NOW} + $2) "  # noqa: S608
            "ON CONFLICT (key) DO UPDATE SET paused_until = "
            "greatest(runbridge_throttles.paused_until, excluded.paused_until)",
            key,
            seconds,
        )

    async def close(self) -> None:
        """Close the connections; this holder's liveness lock goes with them."""
        self._closed = True
        await self._drop()
