"""The create journal: every logical create, recorded before its first byte is sent.

An entry holds the create's client token, where it went and a hash of what it
asked for, and, once known, the run it made. An entry still ``pending`` after
the call is a create whose outcome is unknown: ``RunClient.resolve`` settles it,
and ``create_many(..., resume=True)`` picks up a batch a killed process left.
``MemoryJournal`` lives as long as its client; ``SQLiteJournal`` survives the
process (one file, safe for several processes on one machine). A shared store
implements the same small ``Journal`` protocol.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs
import orjson

from ._model import RunRequest

if TYPE_CHECKING:
    from pathlib import Path

State = Literal["pending", "done", "abandoned"]

DONE_KEPT = 4096
"""Settled entries a ``MemoryJournal`` keeps (pending ones are never dropped)."""


def fingerprint(request: RunRequest) -> str:
    """A digest of what a request asks for: target, name, inputs, options and files.

    Secrets are left out: the journal never holds them, not even hashed.
    """
    files = [(f.name, f.id, f.content, dict(f.options)) for f in request.files]
    data = [request.target, request.name, dict(request.inputs), dict(request.options)]
    raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    import hashlib

    digest = hashlib.sha256(raw)
    for name, file_id, content, options in files:
        digest.update(orjson.dumps([name, file_id, options], option=orjson.OPT_SORT_KEYS))
        digest.update(content or b"")
    return digest.hexdigest()


@attrs.frozen
class JournalEntry:
    """One logical create: what was asked, under which token, and what came of it."""

    token: str
    provider: str
    target: str
    name: str | None
    options: Mapping[str, Any] = attrs.field(hash=False)
    fingerprint: str
    since: datetime
    batch: str | None = None
    """The batch of a ``create_many`` it belongs to (with ``index``)."""
    index: int | None = None
    chunk: str | None = None
    """The idempotency key of the bulk request that carried it, if any."""
    ref: str | None = None
    """``"provider:id"`` of the run, once known."""
    state: State = "pending"


class Journal(Protocol):
    """Where creates are recorded; implement it to share the record between machines."""

    def begin(self, entries: Iterable[JournalEntry]) -> None:
        """Record creates about to be sent (before their first byte)."""
        ...

    def finish(self, token: str, ref: str) -> None:
        """The create made run ``ref``."""
        ...

    def abandon(self, token: str) -> None:
        """The create certainly made no run (the provider refused it)."""
        ...

    def get(self, token: str) -> JournalEntry | None:
        """The entry of ``token``."""
        ...

    def batch(self, provider: str, batch: str) -> dict[int, JournalEntry]:
        """The entries of one batch, by index."""
        ...

    def pending(self, provider: str) -> list[JournalEntry]:
        """Creates of ``provider`` whose outcome is unknown, oldest first."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


class MemoryJournal:
    """A journal in this process's memory: pending entries kept, settled ones bounded."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, JournalEntry] = OrderedDict()
        self._done = 0

    def __repr__(self) -> str:
        return f"<MemoryJournal {len(self._entries)} entries>"

    def begin(self, entries: Iterable[JournalEntry]) -> None:
        """Record creates about to be sent."""
        for entry in entries:
            self._entries[entry.token] = entry

    def _settle(self, token: str, **changes: Any) -> None:
        entry = self._entries.get(token)
        if entry is None:
            return
        self._entries[token] = attrs.evolve(entry, **changes)
        self._entries.move_to_end(token)
        self._done += 1
        if self._done > DONE_KEPT:
            for key in [k for k, e in self._entries.items() if e.state != "pending"][:1024]:
                del self._entries[key]
            self._done = sum(1 for e in self._entries.values() if e.state != "pending")

    def finish(self, token: str, ref: str) -> None:
        """The create made run ``ref``."""
        self._settle(token, ref=ref, state="done")

    def abandon(self, token: str) -> None:
        """The create certainly made no run."""
        self._settle(token, state="abandoned")

    def get(self, token: str) -> JournalEntry | None:
        """The entry of ``token``."""
        return self._entries.get(token)

    def batch(self, provider: str, batch: str) -> dict[int, JournalEntry]:
        """The entries of one batch, by index."""
        return {
            e.index: e
            for e in self._entries.values()
            if e.batch == batch and e.provider == provider and e.index is not None
        }

    def pending(self, provider: str) -> list[JournalEntry]:
        """Creates of ``provider`` whose outcome is unknown."""
        return [
            e for e in self._entries.values() if e.provider == provider and e.state == "pending"
        ]

    def close(self) -> None:
        """Nothing to release."""


_SCHEMA = """
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
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS creates_batch ON creates (provider, batch, idx);
CREATE INDEX IF NOT EXISTS creates_pending ON creates (provider, state);
"""

_COLUMNS = (
    "token, provider, target, name, options, fingerprint, since, batch, idx, chunk, ref, state"
)


class SQLiteJournal:
    """A journal in one SQLite file: it survives the process that wrote it.

    Writes are committed before ``begin`` returns (WAL mode), so a process killed
    at any point leaves every create it may have sent on record.
    """

    def __init__(self, path: str | Path) -> None:
        from pathlib import Path

        self.path = Path(path)
        self._lock = threading.Lock()
        import sqlite3  # only for a journal on disk

        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"<SQLiteJournal {self.path}>"

    def begin(self, entries: Iterable[JournalEntry]) -> None:
        """Record creates about to be sent, in one transaction."""
        rows = [
            (
                e.token,
                e.provider,
                e.target,
                e.name,
                orjson.dumps(dict(e.options), default=str).decode(),
                e.fingerprint,
                e.since.isoformat(),
                e.batch,
                e.index,
                e.chunk,
                e.ref,
                e.state,
            )
            for e in entries
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    f"INSERT OR REPLACE INTO creates ({_COLUMNS}) "  # noqa: S608 - fixed columns
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def finish(self, token: str, ref: str) -> None:
        """The create made run ``ref``."""
        with self._lock:
            self._db.execute(
                "UPDATE creates SET ref = ?, state = 'done' WHERE token = ?", (ref, token)
            )

    def abandon(self, token: str) -> None:
        """The create certainly made no run."""
        with self._lock:
            self._db.execute("UPDATE creates SET state = 'abandoned' WHERE token = ?", (token,))

    def _rows(self, where: str, args: tuple[Any, ...]) -> list[JournalEntry]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM creates WHERE {where} ORDER BY since, idx",  # noqa: S608
                args,
            ).fetchall()
        return [
            JournalEntry(
                token=row[0],
                provider=row[1],
                target=row[2],
                name=row[3],
                options=orjson.loads(row[4]),
                fingerprint=row[5],
                since=datetime.fromisoformat(row[6]),
                batch=row[7],
                index=row[8],
                chunk=row[9],
                ref=row[10],
                state=row[11],
            )
            for row in rows
        ]

    def get(self, token: str) -> JournalEntry | None:
        """The entry of ``token``."""
        found = self._rows("token = ?", (token,))
        return found[0] if found else None

    def batch(self, provider: str, batch: str) -> dict[int, JournalEntry]:
        """The entries of one batch, by index."""
        return {
            e.index: e
            for e in self._rows("provider = ? AND batch = ?", (provider, batch))
            if e.index is not None
        }

    def pending(self, provider: str) -> list[JournalEntry]:
        """Creates of ``provider`` whose outcome is unknown, oldest first."""
        return self._rows("provider = ? AND state = 'pending'", (provider,))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


def open_journal(journal: Journal | str | os.PathLike[str] | None) -> Journal:
    """A journal from a journal, a file path (SQLite) or ``None`` (in memory)."""
    if journal is None:
        return MemoryJournal()
    if isinstance(journal, str | os.PathLike):
        return SQLiteJournal(os.fspath(journal))
    return journal


def batch_id(provider: str, requests: Iterable[RunRequest]) -> str:
    """The identity of a ``create_many`` batch: the same requests make the same batch."""
    import hashlib

    digest = hashlib.sha256(provider.encode())
    for request in requests:
        digest.update(bytes.fromhex(fingerprint(request)))
    return digest.hexdigest()[:32]
