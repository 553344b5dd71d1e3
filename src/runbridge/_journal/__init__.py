"""The create journal: every logical create, claimed and recorded before its first byte.

An entry holds the create's client token, where it went, a hash of what it asked
for, who holds its claim and until when, when it was last sent, and, once known,
the run it made. An entry still ``pending`` after the call is a create whose
outcome is unknown: ``RunClient.resolve`` settles it, and
``create_many(..., resume=True)`` picks up a batch a killed process left.

``MemoryJournal`` lives as long as its client; ``SQLiteJournal`` survives the
process and is shared by processes on one host; ``PostgresJournal`` by processes
on many. Another store implements the async ``Journal`` protocol.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

from ._entry import (
    Claim,
    JournalEntry,
    Outcome,
    State,
    batch_id,
    batch_key,
    decide,
    fingerprint,
    new_holder,
)
from ._memory import DONE_KEPT, MemoryJournal
from ._protocol import Journal

if TYPE_CHECKING:
    from ._sqlite import SQLiteJournal

__all__ = [
    "DONE_KEPT",
    "Claim",
    "Journal",
    "JournalEntry",
    "MemoryJournal",
    "Outcome",
    "SQLiteJournal",
    "State",
    "batch_id",
    "batch_key",
    "decide",
    "fingerprint",
    "new_holder",
    "open_journal",
]

_POSTGRES = ("postgresql://", "postgres://")


def open_journal(journal: Any) -> Journal:
    """A journal from a journal, a PostgreSQL URL, a file path (SQLite) or ``None`` (memory).

    A store of runbridge 0.1's synchronous protocol is wrapped, with a
    ``DeprecationWarning``: it keeps working in one process, without claims.
    """
    if journal is None:
        return MemoryJournal()
    if isinstance(journal, str) and journal.startswith(_POSTGRES):
        from ._postgres import PostgresJournal

        return PostgresJournal(journal)
    if isinstance(journal, str | os.PathLike):
        from ._sqlite import SQLiteJournal

        return SQLiteJournal(os.fspath(journal))
    if hasattr(journal, "claim"):
        return journal  # type: ignore[no-any-return]
    if hasattr(journal, "begin"):
        from ._legacy import LegacyJournal

        warnings.warn(
            f"{type(journal).__name__} implements runbridge 0.1's synchronous Journal "
            "protocol (begin/finish/...); it keeps working in one process, without claims, "
            "until runbridge 0.3: implement runbridge.journal.Journal (async, with claim)",
            DeprecationWarning,
            stacklevel=3,
        )
        return LegacyJournal(journal)
    raise TypeError(f"not a journal: {type(journal).__name__}")


def __getattr__(name: str) -> Any:
    if name == "SQLiteJournal":  # sqlite3 and a thread pool only for a journal on disk
        from ._sqlite import SQLiteJournal

        return SQLiteJournal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
