"""``RunClient.unconfirmed()``'s answer: awaited for the journal's pending creates.

Before 0.2 ``unconfirmed()`` returned the list itself; the journal now lives off
the event loop (or in a database), so it is read by awaiting. Used as the list it
still works (a sync read of the journal) with a ``DeprecationWarning`` until 0.3.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Iterator
from typing import Any

from .._journal import Journal, JournalEntry


class Unconfirmed:
    """``await`` it for the pending creates, oldest first."""

    __slots__ = ("_journal", "_provider")

    def __init__(self, journal: Journal, provider: str) -> None:
        self._journal = journal
        self._provider = provider

    def __repr__(self) -> str:
        return f"<unconfirmed creates of {self._provider}: await it>"

    def __await__(self) -> Generator[Any, None, list[JournalEntry]]:
        return self._journal.pending(self._provider).__await__()

    def _now(self) -> list[JournalEntry]:
        warnings.warn(
            "client.unconfirmed() is now awaited (await client.unconfirmed()); using it "
            "as a list reads the journal synchronously and stops working in runbridge 0.3",
            DeprecationWarning,
            stacklevel=3,
        )
        read = getattr(self._journal, "pending_now", None)
        if read is None:
            raise TypeError(
                f"{type(self._journal).__name__} is read only by awaiting: "
                "await client.unconfirmed()"
            )
        found: list[JournalEntry] = read(self._provider)
        return found

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self._now())

    def __len__(self) -> int:
        return len(self._now())

    def __bool__(self) -> bool:
        return bool(self._now())

    def __getitem__(self, index: int) -> JournalEntry:
        return self._now()[index]

    def __eq__(self, other: object) -> bool:
        return self._now() == other

    __hash__ = None  # type: ignore[assignment]
