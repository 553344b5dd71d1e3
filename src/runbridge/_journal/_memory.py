"""``MemoryJournal``: the journal a client keeps when given none; it lives as long as the client."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import attrs

from ._entry import Claim, JournalEntry, decide, new_holder

DONE_KEPT = 4096
"""Settled entries a ``MemoryJournal`` keeps (pending ones are never dropped)."""


class MemoryJournal:
    """A journal in this process's memory: pending entries kept, settled ones bounded."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, JournalEntry] = OrderedDict()
        self._slots: dict[tuple[str, str, int], str] = {}
        self._batches: dict[tuple[str, str], int] = {}
        self._done = 0
        self._holder = new_holder()

    def __repr__(self) -> str:
        return f"<MemoryJournal {len(self._entries)} entries>"

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
        """Claim creates about to be sent (see ``Journal.claim``)."""
        now = time.time()
        claims = []
        for wanted in entries:
            slot = _slot(wanted)
            token = self._slots.get(slot) if slot is not None else wanted.token
            row = self._entries.get(token) if token is not None else None
            claim = decide(row, wanted, holder=self._holder, now=now, lease=lease, alive=_alive)
            if claim.outcome in ("new", "taken"):
                if row is not None and row.token != claim.entry.token:
                    del self._entries[row.token]
                self._entries[claim.entry.token] = claim.entry
                if slot is not None:
                    self._slots[slot] = claim.entry.token
            claims.append(claim)
        return claims

    async def resent(self, token: str, *, provider_at: float | None) -> bool:
        """Record a new send of ``token`` by this holder."""
        entry = self._entries.get(token)
        if entry is None or entry.holder != self._holder or entry.state != "pending":
            return False
        self._entries[token] = attrs.evolve(
            entry, sent_at=time.time(), provider_sent_at=provider_at, sends=entry.sends + 1
        )
        return True

    def _settle(self, token: str, **changes: Any) -> None:
        entry = self._entries.get(token)
        if entry is None:
            return
        self._entries[token] = attrs.evolve(entry, **changes)
        self._entries.move_to_end(token)
        if changes.get("state", "pending") == "pending":
            return
        self._done += 1
        if self._done > DONE_KEPT:
            for key in [k for k, e in self._entries.items() if e.state != "pending"][:1024]:
                gone = self._entries.pop(key)
                slot = _slot(gone)
                if slot is not None and self._slots.get(slot) == key:
                    del self._slots[slot]
            self._done = sum(1 for e in self._entries.values() if e.state != "pending")

    async def finish(self, token: str, ref: str) -> None:
        """The create made run ``ref``."""
        self._settle(token, ref=ref, state="done", lease_until=None)

    async def abandon(self, token: str) -> None:
        """The create certainly made no run."""
        self._settle(token, state="abandoned", lease_until=None)

    async def release(self, token: str) -> None:
        """The claim on ``token`` lapses now; its outcome stays unknown."""
        entry = self._entries.get(token)
        if entry is not None and entry.holder == self._holder and entry.state == "pending":
            self._entries[token] = attrs.evolve(entry, lease_until=time.time())

    async def get(self, token: str) -> JournalEntry | None:
        """The entry of ``token``."""
        return self._entries.get(token)

    async def batch(self, provider: str, batch: str) -> dict[int, JournalEntry]:
        """The entries of one batch, by index."""
        return {
            e.index: e
            for e in self._entries.values()
            if e.batch == batch and e.provider == provider and e.index is not None
        }

    async def pending(self, provider: str) -> list[JournalEntry]:
        """Creates of ``provider`` whose outcome is unknown, oldest first."""
        return self.pending_now(provider)

    def pending_now(self, provider: str) -> list[JournalEntry]:
        """``pending``, read without awaiting (for the deprecated sync ``unconfirmed()``)."""
        found = [e for e in self._entries.values() if e.provider == provider]
        return sorted((e for e in found if e.state == "pending"), key=lambda e: e.since)

    async def start_batch(self, provider: str, key: str, *, resume: bool) -> str:
        """The id of the latest (``resume``) or of a new batch run with ``key``."""
        latest = self._batches.get((provider, key), 0)
        generation = latest if resume and latest else latest + 1
        self._batches[(provider, key)] = generation
        return f"{key}.{generation}"

    async def close(self) -> None:
        """Nothing to release."""


def _slot(entry: JournalEntry) -> tuple[str, str, int] | None:
    if entry.batch is None or entry.index is None:
        return None
    return (entry.provider, entry.batch, entry.index)


def _alive(holder: str) -> bool:
    return True  # every holder of a memory journal is this process
