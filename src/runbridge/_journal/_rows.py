"""Journal entries as table rows, and back: one column order for every SQL store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from ._entry import JournalEntry

COLUMNS = (
    "token, provider, target, name, options, fingerprint, since, batch, idx, chunk, ref, state, "
    "holder, lease_until, sent_at, provider_sent_at, sends"
)
"""The columns of the ``creates`` table, in the order of ``row_of`` and ``entry_of``."""


def row_of(entry: JournalEntry) -> tuple[Any, ...]:
    """The row of ``entry``, in ``COLUMNS`` order."""
    return (
        entry.token,
        entry.provider,
        entry.target,
        entry.name,
        orjson.dumps(dict(entry.options), default=str).decode(),
        entry.fingerprint,
        entry.since.isoformat(),
        entry.batch,
        entry.index,
        entry.chunk,
        entry.ref,
        entry.state,
        entry.holder,
        entry.lease_until,
        entry.sent_at,
        entry.provider_sent_at,
        entry.sends,
    )


def entry_of(row: Sequence[Any] | Any) -> JournalEntry:
    """The entry a row in ``COLUMNS`` order holds."""
    return JournalEntry(
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
        holder=row[12],
        lease_until=row[13],
        sent_at=row[14],
        provider_sent_at=row[15],
        sends=row[16] if row[16] is not None else 0,
    )


def refill(
    tokens: float,
    stamp: float,
    paused_until: float,
    now: float,
    want: int,
    rate: float,
    burst: float,
) -> tuple[int, float, float]:
    """One draw from a shared token bucket, the same in every store: ``(granted, tokens
    left, wait)``, ``wait`` being the seconds until a token may be had when none was."""
    tokens = min(burst, tokens + max(now - stamp, 0.0) * rate)
    if now < paused_until:
        return 0, tokens, paused_until - now
    granted = min(want, int(tokens))
    tokens -= granted
    wait = 0.0 if granted else (1.0 - tokens) / rate
    return granted, tokens, wait
