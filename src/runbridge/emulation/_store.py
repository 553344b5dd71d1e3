"""The run store an emulator configures instead of writing: records, order, pages, replay.

``RunStore`` holds an emulator's own records by id (it is the emulator's ``runs``),
keeps each group of them in listing order, mints ids and creation numbers, serves
pages in the provider's ``Paging`` style, starts new runs on the emulator's clock
with the plan a test queued, and answers a repeated idempotency key with the
first answer.
"""

from __future__ import annotations

import bisect
import itertools
import secrets
from collections.abc import (
    Awaitable,
    Callable,
    Hashable,
    Iterator,
    MutableMapping,
)
from operator import attrgetter
from typing import Protocol, TypeVar

from aiohttp import web

from ._idempotency import IdempotencyCache, Stored
from ._lifecycle import Plan, Timeline
from ._paging import Key, Paged, Paging, Tokens, keyset

R = TypeVar("R")


class Planner(Protocol):
    """What a store needs of its emulator: the clock and the plans tests queued."""

    def now(self) -> float:
        """Current emulator time."""
        ...

    def take_plan(self, target: str | None = None) -> Plan:
        """The plan of a run of ``target`` being created now."""
        ...


class RunStore(MutableMapping[str, R]):
    """An emulator's records by id, each group kept in listing order.

    Declare it once in the emulator's ``__init__`` (``self.runs = RunStore(self,
    order=...)``): ``order`` gives a record's place in a listing (ascending; a
    record's order must not change while it is stored), ``group`` the listing it
    belongs to (a process, an automation; one listing by default), ``id_of``
    the id it is stored under and ``mint`` a fresh id. Without ``order``, records
    list in the order they were stored.
    """

    def __init__(
        self,
        planner: Planner,
        *,
        order: Callable[[R], Key] | None = None,
        group: Callable[[R], Hashable] | None = None,
        id_of: Callable[[R], str] = attrgetter("id"),
        mint: Callable[[], str] | None = None,
    ) -> None:
        self._planner = planner
        self._order = order
        self._group = group or (lambda record: None)
        self._id_of = id_of
        self._mint = mint or (lambda: secrets.token_hex(12))
        self._records: dict[str, R] = {}
        self._listed: dict[Hashable, list[R]] = {}
        self._seq = itertools.count()
        self._secret = secrets.token_bytes(32)
        self.replays = IdempotencyCache()
        """The first answer given for each idempotency key (``once``)."""
        self._in_flight: set[str] = set()
        self._keyed: dict[str, str] = {}

    # -- the mapping -----------------------------------------------------------------

    def __getitem__(self, run_id: str) -> R:
        return self._records[run_id]

    def __setitem__(self, run_id: str, record: R) -> None:
        if run_id in self._records:
            del self[run_id]
        self._records[run_id] = record
        listed = self._listed.setdefault(self._group(record), [])
        if self._order is None:
            listed.append(record)
        else:
            bisect.insort(listed, record, key=self._order)

    def __delitem__(self, run_id: str) -> None:
        record = self._records.pop(run_id)
        listed = self._listed[self._group(record)]
        order = self._order
        start = 0 if order is None else bisect.bisect_left(listed, order(record), key=order)
        for index in range(start, len(listed)):
            if listed[index] is record:
                del listed[index]
                return

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"<RunStore of {len(self)} records>"

    # -- making records --------------------------------------------------------------

    def add(self, record: R, *, key: str | None = None) -> R:
        """Store ``record`` under its id and return it; ``key``: the idempotency key
        of the write that created it (``by_key`` finds it again)."""
        run_id = self._id_of(record)
        self[run_id] = record
        if key is not None:
            self._keyed.setdefault(key, run_id)
        return record

    def by_key(self, key: str | None) -> R | None:
        """The stored record a write with idempotency ``key`` created, if any."""
        run_id = self._keyed.get(key) if key is not None else None
        return None if run_id is None else self._records.get(run_id)

    def new_id(self) -> str:
        """A fresh id, in the provider's form, that no stored record has."""
        while (candidate := self._mint()) in self._records:
            pass  # pragma: no cover - ids are random and long
        return candidate

    def next_seq(self) -> int:
        """The next creation number (0, 1, ...): it breaks ties between equal times."""
        return next(self._seq)

    def timeline(self, target: str | None = None) -> Timeline:
        """The timeline of a run of ``target`` created now: the emulator's clock, and
        the plan a test queued for it (``plan_next``/``plan_every``)."""
        return Timeline(self._planner.now(), self._planner.take_plan(target))

    def now(self) -> float:
        """Current emulator time."""
        return self._planner.now()

    # -- listing ---------------------------------------------------------------------

    def listed(
        self, group: Hashable = None, *, where: Callable[[R], bool] | None = None
    ) -> list[R]:
        """The records of ``group`` in listing order, those ``where`` keeps."""
        listed = self._listed.get(group, [])
        return list(listed) if where is None else [r for r in listed if where(r)]

    def page(
        self,
        paging: Paging,
        *,
        limit: int,
        cursor: str | int | None = None,
        group: Hashable = None,
        where: Callable[[R], bool] | None = None,
        scope: str = "",
        back: bool = False,
        start: Key | None = None,
        stop: Key | None = None,
    ) -> Paged[R]:
        """One page of ``group`` in the ``paging`` style, of the records ``where`` keeps.

        ``scope`` names the query a cursor is valid for besides its group (the
        filters and page size in force); cursor listings visit only records whose order key is
        from ``start`` up to before ``stop``, and cost a page, not the history.
        ``BadCursor`` when the cursor is not one this store issued for ``scope``.
        """
        listed = self._listed.get(group, [])
        if paging.style != "cursors":
            return paging.page(listed, limit=limit, cursor=cursor, where=where)
        if self._order is None:
            raise TypeError("cursor paging needs a store declared with an order")
        codec = Tokens(self._secret if paging.signed else None)
        return keyset(
            listed,
            self._order,
            limit,
            cursor,
            codec,
            f"{group!r}\0{scope}",  # a cursor of one group is no cursor of another
            where=where,
            back=back,
            start=start,
            stop=stop,
        )

    def order_of(self, record: R) -> Key:
        """Where ``record`` stands in its listing (its ``order`` key)."""
        if self._order is None:
            raise TypeError("this store was declared without an order")
        return self._order(record)

    # -- idempotent replay -------------------------------------------------------------

    async def once(
        self,
        key: str | None,
        fingerprint: str,
        answer: Callable[[], Awaitable[web.StreamResponse]],
        *,
        conflict: Callable[[], web.StreamResponse],
        in_progress: Callable[[], web.StreamResponse] | None = None,
    ) -> web.StreamResponse:
        """Answer a write that carries idempotency ``key`` (``None``: none) once.

        The first 2xx answer given for a key is replayed for every repeat of the
        same request (``fingerprint``, see ``IdempotencyCache.fingerprint``);
        ``conflict()`` answers the key reused for another request, and
        ``in_progress()`` (when given) a repeat that arrives while the first is
        still being answered.
        """
        stored = self.replays.lookup(key, fingerprint)
        if stored is False:
            return conflict()
        if isinstance(stored, Stored):
            return replay(stored)
        if key is not None and in_progress is not None and key in self._in_flight:
            return in_progress()
        if key is not None:
            self._in_flight.add(key)
        try:
            response = await answer()
        finally:
            self._in_flight.discard(key or "")
        if isinstance(response, web.Response) and 200 <= response.status < 300:
            body = response.body if isinstance(response.body, bytes) else b""
            self.replays.store(key, fingerprint, response.status, body)
        return response


def replay(stored: Stored) -> web.Response:
    """A stored answer given again, byte for byte (JSON, or no body)."""
    if not stored.body:
        return web.Response(status=stored.status)
    return web.Response(body=stored.body, status=stored.status, content_type="application/json")
