"""The SQLite journal's schema and its migration from earlier runbridge versions, the
statements and transactions its store runs, and how a SQLite failure reads."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator

from ._entry import JournalEntry
from ._rows import COLUMNS, entry_of

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS creates (
    token TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    target TEXT NOT NULL,
    name TEXT,
    options TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    since TEXT NOT NULL,
    batch TEXT,
    idx INTEGER,
    chunk TEXT,
    ref TEXT,
    state TEXT NOT NULL,
    holder TEXT,
    lease_until REAL,
    sent_at REAL,
    provider_sent_at REAL,
    sends INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS creates_pending ON creates (provider, state);
CREATE TABLE IF NOT EXISTS throttles (
    key TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    stamp REAL NOT NULL,
    paused_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS batches (
    provider TEXT NOT NULL,
    key TEXT NOT NULL,
    generation INTEGER NOT NULL,
    started REAL NOT NULL,
    PRIMARY KEY (provider, key, generation)
);
"""

SLOT_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS creates_slot ON creates (provider, batch, idx) "
    "WHERE batch IS NOT NULL"
)

INSERT = f"INSERT INTO creates ({COLUMNS}) VALUES ({', '.join('?' * len(COLUMNS.split(',')))})"  # noqa: S608

V1_COLUMNS = {
    "holder": "TEXT",
    "lease_until": "REAL",
    "sent_at": "REAL",
    "provider_sent_at": "REAL",
    "sends": "INTEGER NOT NULL DEFAULT 1",
}


def reason_of(exc: sqlite3.Error) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "locked"
    if "readonly" in text or "read-only" in text:
        return "read-only"
    if "unable to open" in text or "disk i/o" in text or "disk is full" in text:
        return "unwritable"
    if "closed" in text:
        return "closed"
    if isinstance(exc, sqlite3.OperationalError) and "no such" in text:
        return "schema"
    return "corrupt"


ADVICE = {
    "locked": "another process holds it locked for longer than the busy timeout",
    "read-only": "it cannot be written (file or directory permissions, or a read-only mount)",
    "unwritable": "it cannot be opened or written (missing directory, permissions, disk)",
    "corrupt": "it is not a readable SQLite database (corrupt or truncated)",
    "schema": "its tables are not a runbridge journal's",
    "closed": "the journal was closed",
}


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: one writer at a time across processes."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def current(db: sqlite3.Connection, entry: JournalEntry) -> JournalEntry | None:
    if entry.batch is not None and entry.index is not None:
        row = db.execute(
            f"SELECT {COLUMNS} FROM creates WHERE provider = ? AND batch = ? AND idx = ?",  # noqa: S608
            (entry.provider, entry.batch, entry.index),
        ).fetchone()
    else:
        row = db.execute(
            f"SELECT {COLUMNS} FROM creates WHERE token = ?",  # noqa: S608
            (entry.token,),
        ).fetchone()
    return entry_of(row) if row is not None else None


def retry_busy(work: Callable[[], object], timeout: float) -> None:
    """Run ``work`` again while SQLite says another connection is busy, up to ``timeout``."""
    until = time.monotonic() + timeout
    while True:
        try:
            work()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= until:
                raise
        time.sleep(0.01)


def migrate(db: sqlite3.Connection) -> None:
    """Create the tables, or bring a journal written by an earlier runbridge up to date."""
    with transaction(db):
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version >= SCHEMA_VERSION:
            return
        old = {row[1] for row in db.execute("PRAGMA table_info(creates)")}
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        if old:  # a version 1 journal: claims are new, and batches now have generations
            for column, kind in V1_COLUMNS.items():
                if column not in old:
                    db.execute(f"ALTER TABLE creates ADD COLUMN {column} {kind}")
            db.execute("DROP INDEX IF EXISTS creates_batch")
            db.execute(
                "UPDATE creates SET batch = batch || '.superseded-' || rowid "
                "WHERE batch IS NOT NULL AND rowid NOT IN (SELECT max(rowid) FROM creates "
                "WHERE batch IS NOT NULL GROUP BY provider, batch, idx)"
            )
            db.execute(
                "INSERT OR IGNORE INTO batches (provider, key, generation, started) "
                "SELECT DISTINCT provider, batch, 1, 0 FROM creates "
                "WHERE batch IS NOT NULL AND batch NOT LIKE '%.%'"
            )
            db.execute(
                "UPDATE creates SET batch = batch || '.1' WHERE batch IS NOT NULL "
                "AND batch NOT LIKE '%.%'"
            )
        db.execute(SLOT_INDEX)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
