"""The ``Journal`` protocol: what a store of creates offers the client, all of it async."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ._entry import Claim, JournalEntry


@runtime_checkable
class Journal(Protocol):
    """Where creates are recorded and claimed; implement it for a store of your own.

    Every method may raise ``JournalError``. Times are on the store's own clock
    (``now``): one clock for every process that shares the store.
    """

    @property
    def holder(self) -> str:
        """The identity this journal claims creates under (one per process and store)."""
        ...

    async def open(self) -> None:
        """Make the store ready (create it, migrate it); idempotent."""
        ...

    async def now(self) -> float:
        """The store's clock, in seconds since the epoch."""
        ...

    async def claim(self, entries: Sequence[JournalEntry], *, lease: float) -> list[Claim]:
        """Claim creates about to be sent, atomically and before their first byte.

        An entry of a batch is claimed by its slot (provider, batch, index), any
        other by its token. See ``Claim`` for the answers; ``lease`` is how many
        seconds the claim holds if this holder neither settles nor releases it.
        """
        ...

    async def resent(self, token: str, *, provider_at: float | None) -> bool:
        """Record that this holder sends ``token`` again; ``False`` (and nothing
        recorded) when this holder no longer holds its claim: then it must not send."""
        ...

    async def finish(self, token: str, ref: str) -> None:
        """The create made run ``ref``."""
        ...

    async def abandon(self, token: str) -> None:
        """The create certainly made no run."""
        ...

    async def release(self, token: str) -> None:
        """This holder stops working on ``token`` with its outcome unknown: the claim
        lapses now, so another process may settle it (by looking first)."""
        ...

    async def get(self, token: str) -> JournalEntry | None:
        """The entry of ``token``."""
        ...

    async def batch(self, provider: str, batch: str) -> dict[int, JournalEntry]:
        """The entries of one batch, by index."""
        ...

    async def pending(self, provider: str) -> list[JournalEntry]:
        """Creates of ``provider`` whose outcome is unknown, oldest first."""
        ...

    async def start_batch(self, provider: str, key: str, *, resume: bool) -> str:
        """The id of a batch run with ``key``: the latest one (``resume``, or the first
        if none) or a new one."""
        ...

    async def close(self) -> None:
        """Release the store (and this holder's claims' liveness)."""
        ...
