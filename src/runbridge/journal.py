"""The create journal, for those who pick or build its store.

``connect(journal=...)`` takes a path (``SQLiteJournal``: processes on one host), a
``postgresql://`` URL (``PostgresJournal``: processes on many hosts; the ``postgres``
extra) or any object implementing the async ``Journal`` protocol. Each logical create
is claimed (``Journal.claim``) before its first byte is sent; see
``docs/reliability.md`` for what each outcome means.
"""

from __future__ import annotations

from ._journal import Claim, Journal, JournalEntry, MemoryJournal, open_journal
from ._journal._postgres import PostgresJournal
from ._journal._sqlite import SQLiteJournal

__all__ = [
    "Claim",
    "Journal",
    "JournalEntry",
    "MemoryJournal",
    "PostgresJournal",
    "SQLiteJournal",
    "open_journal",
]
