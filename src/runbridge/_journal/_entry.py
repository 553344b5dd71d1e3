"""What the journal records of one logical create, and what claiming one answers."""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

import attrs
import orjson

from .._model._run import RunRequest

State = Literal["pending", "done", "abandoned"]
Outcome = Literal["new", "settled", "held", "taken"]


def fingerprint(request: RunRequest) -> str:
    """A digest of what a request asks for: target, name, inputs, options and files.

    Secrets are left out: the journal never holds them, not even hashed.
    """
    data = [request.target, request.name, dict(request.inputs), dict(request.options)]
    raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    digest = hashlib.sha256(raw)
    for file in request.files:
        head = [file.name, file.id, dict(file.options)]
        digest.update(orjson.dumps(head, option=orjson.OPT_SORT_KEYS))
        digest.update(file.content or b"")
    return digest.hexdigest()


def batch_key(provider: str, requests: Iterable[RunRequest]) -> str:
    """What identifies a ``create_many`` batch: the same requests give the same key.

    The journal numbers the batches run with one key (``Journal.start_batch``):
    ``resume=True`` continues the latest, a plain call starts the next.
    """
    digest = hashlib.sha256(provider.encode())
    for request in requests:
        digest.update(bytes.fromhex(fingerprint(request)))
    return digest.hexdigest()[:32]


def batch_id(provider: str, requests: Iterable[RunRequest]) -> str:
    """Deprecated spelling of ``batch_key`` (the batch's generation is the journal's)."""
    return batch_key(provider, requests)


def new_holder() -> str:
    """A claim holder's identity: host, process and a nonce (unique per journal opened)."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"


def host_of(holder: str) -> str:
    """The host part of a holder's identity."""
    return holder.rsplit("/", 2)[0]


@attrs.frozen
class JournalEntry:
    """One logical create: what was asked, under which token, and what came of it.

    Times ``lease_until`` and ``sent_at`` are on the journal's clock (seconds since
    the epoch); ``provider_sent_at`` on the provider's, as read from its answers.
    """

    token: str
    provider: str
    target: str
    name: str | None
    options: Mapping[str, Any] = attrs.field(hash=False)
    fingerprint: str
    since: datetime
    """When the create was first sent (this host's clock, UTC)."""
    batch: str | None = None
    """The batch of a ``create_many`` it belongs to (with ``index``)."""
    index: int | None = None
    chunk: str | None = None
    """The idempotency key of the bulk request that carried it, if any."""
    ref: str | None = None
    """``"provider:id"`` of the run, once known."""
    state: State = "pending"
    holder: str | None = None
    """Who holds the claim on it: only the holder sends it."""
    lease_until: float | None = None
    """When the holder's claim lapses if it has not settled the create by then."""
    sent_at: float | None = None
    """When it was last sent (a send that may have made the run)."""
    provider_sent_at: float | None = None
    """The provider's clock at that send, when the sender knew it."""
    sends: int = 0
    """How many times it was sent."""


@attrs.frozen
class Claim:
    """What claiming one create answered.

    ``new``: recorded now, this holder sends it. ``taken``: recorded before by a
    holder that died or whose lease lapsed; it may have been sent, so it is settled
    by looking before anything is sent again. ``held``: another live holder has it;
    do not send. ``settled``: it already made its run (``done``) or certainly none
    (``abandoned``, for a token; a batch slot is claimed anew).
    """

    entry: JournalEntry
    outcome: Outcome
    previous: str | None = None
    """Who held it before, for a claim ``taken`` (``None``: nobody, or this holder)."""

    @property
    def taken_over(self) -> bool:
        """Whether this claim took a create over from another holder."""
        return self.outcome == "taken" and self.previous is not None


def decide(
    row: JournalEntry | None,
    wanted: JournalEntry,
    *,
    holder: str,
    now: float,
    lease: float,
    alive: Any,
) -> Claim:
    """The claim on ``wanted`` given the ``row`` the store holds for it (the same token or
    batch slot): the one rule every store applies inside its transaction.

    ``alive(holder)`` says whether another holder still runs: ``True``, ``False`` or
    ``None`` (cannot tell: its lease decides).
    """
    if row is None or (row.state == "abandoned" and wanted.batch is not None):
        fresh = attrs.evolve(
            wanted,
            holder=holder,
            lease_until=now + lease,
            sent_at=now,
            provider_sent_at=wanted.provider_sent_at,
            sends=1,
            state="pending",
            ref=None,
        )
        return Claim(fresh, "new")
    if row.state != "pending":
        return Claim(row, "settled")
    if row.holder == holder:
        return Claim(attrs.evolve(row, lease_until=now + lease), "taken")  # its own again
    lapsed = row.lease_until is None or row.lease_until <= now
    if not lapsed and (row.holder is None or alive(row.holder) is not False):
        return Claim(row, "held")
    taken = attrs.evolve(row, holder=holder, lease_until=now + lease)
    return Claim(taken, "taken", previous=row.holder)
