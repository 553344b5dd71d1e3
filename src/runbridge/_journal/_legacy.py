"""Stores written for runbridge 0.1's synchronous ``Journal`` protocol, kept working.

Such a store (``begin``/``finish``/``abandon``/``get``/``batch``/``pending``/``close``,
plain methods) still records every create, but it has no claims: it is safe for one
process only. ``connect(journal=...)`` wraps it and warns; implement the async
``runbridge.journal.Journal`` protocol instead.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import attrs

from ._entry import Claim, JournalEntry, decide, new_holder


class LegacyJournal:
    """The async ``Journal`` over a store of the 0.1 synchronous protocol (one process)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._holder = new_holder()
        self._batches: dict[tuple[str, str], int] = {}

    def __repr__(self) -> str:
        return f"<LegacyJournal {self.store!r}>"

    @property
    def holder(self) -> str:
        """The identity this journal claims creates under."""
        return self._holder

    async def open(self) -> None:
        """Nothing to prepare."""

    async def now(self) -> float:
        """This process's clock."""
        return time.time()

    async def claim(self, entries: Sequence[JournalEntry], *, lease: float) -> list[Claim]:
        """Claim creates about to be sent: the old store records the new ones."""
        now = time.time()
        claims: list[Claim] = []
        for wanted in entries:
            row = None
            if wanted.batch is not None and wanted.index is not None:
                row = self.store.batch(wanted.provider, wanted.batch).get(wanted.index)
            else:
                row = self.store.get(wanted.token)
            if row is not None and not hasattr(row, "holder"):
                row = None
            claim = decide(row, wanted, holder=self._holder, now=now, lease=lease, alive=_alive)
            if claim.outcome == "new":
                self.store.begin([claim.entry])
            claims.append(claim)
        return claims

    async def resent(self, token: str, *, provider_at: float | None) -> bool:
        """Always this process's to send again (the old store keeps no claims)."""
        entry = self.store.get(token)
        if entry is not None:
            self.store.begin([attrs.evolve(entry, sent_at=time.time(), sends=entry.sends + 1)])
        return True

    async def finish(self, token: str, ref: str) -> None:
        """The create made run ``ref``."""
        self.store.finish(token, ref)

    async def abandon(self, token: str) -> None:
        """The create certainly made no run."""
        self.store.abandon(token)

    async def release(self, token: str) -> None:
        """Nothing to release: the old store has no leases."""

    async def get(self, token: str) -> JournalEntry | None:
        """The entry of ``token``."""
        found: JournalEntry | None = self.store.get(token)
        return found

    async def batch(self, provider: str, batch: str) -> dict[int, JournalEntry]:
        """The entries of one batch, by index."""
        found: dict[int, JournalEntry] = self.store.batch(provider, batch)
        return found

    async def pending(self, provider: str) -> list[JournalEntry]:
        """Creates of ``provider`` whose outcome is unknown."""
        found: list[JournalEntry] = self.store.pending(provider)
        return found

    def pending_now(self, provider: str) -> list[JournalEntry]:
        """``pending``, read without awaiting (for the deprecated sync ``unconfirmed()``)."""
        found: list[JournalEntry] = self.store.pending(provider)
        return found

    async def start_batch(self, provider: str, key: str, *, resume: bool) -> str:
        """The old store has no generations: a batch is its key."""
        return f"{key}.1"

    async def close(self) -> None:
        """Close the store."""
        self.store.close()


def _alive(holder: str) -> bool:
    return True
