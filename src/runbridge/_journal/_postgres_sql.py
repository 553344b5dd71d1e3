"""The PostgreSQL journal's schema and statements, its advisory lock keys, and a DSN
shown without its password."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._entry import JournalEntry
from ._rows import COLUMNS

SCHEMA = """
CREATE TABLE IF NOT EXISTS runbridge_creates (
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
    lease_until DOUBLE PRECISION,
    sent_at DOUBLE PRECISION,
    provider_sent_at DOUBLE PRECISION,
    sends INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runbridge_creates_pending ON runbridge_creates (provider, state);
CREATE UNIQUE INDEX IF NOT EXISTS runbridge_creates_slot
    ON runbridge_creates (provider, batch, idx) WHERE batch IS NOT NULL;
CREATE TABLE IF NOT EXISTS runbridge_throttles (
    key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    stamp DOUBLE PRECISION NOT NULL,
    paused_until DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS runbridge_batches (
    provider TEXT NOT NULL,
    key TEXT NOT NULL,
    generation INTEGER NOT NULL,
    started DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (provider, key, generation)
);
"""

NOW = "extract(epoch from clock_timestamp())::double precision"
SCHEMA_LOCK = 0x72756E6272696467  # serializes schema creation across processes
INSERT = (
    f"INSERT INTO runbridge_creates ({COLUMNS}) VALUES "  # noqa: S608 - fixed columns
    f"({', '.join(f'${n}' for n in range(1, len(COLUMNS.split(',')) + 1))})"
)


def lock_key(text: str) -> int:
    """A signed 64-bit advisory lock key for ``text``."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def shown(dsn: str) -> str:
    """The DSN without its password, fit for errors and reprs."""
    try:
        parts = urlsplit(dsn)
        if parts.password is None:
            return dsn
        host = parts.hostname or ""
        netloc = f"{parts.username}@{host}" if parts.username else host
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "postgresql://(unparsable)"


def signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def identity(entry: JournalEntry) -> tuple[Any, ...]:
    if entry.batch is not None and entry.index is not None:
        return (entry.provider, entry.batch, entry.index)
    return (entry.token,)


def current_query(entry: JournalEntry) -> tuple[Any, ...]:
    if entry.batch is not None and entry.index is not None:
        return (
            f"SELECT {COLUMNS} FROM runbridge_creates WHERE provider = $1 AND batch = $2 "  # noqa: S608
            "AND idx = $3 FOR UPDATE",
            entry.provider,
            entry.batch,
            entry.index,
        )
    return (
        f"SELECT {COLUMNS} FROM runbridge_creates WHERE token = $1 FOR UPDATE",  # noqa: S608
        entry.token,
    )
