"""The lost-create lookup: is the run a lost answer may hide already on the provider?

The core owns the loop; the adapter says how to recognise its run (``claims``),
where to look (``lookup_target``), and whether the provider can search by the
client token itself (``search_tagged``).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ._errors import CreateUnconfirmed, NotFound
from ._model import Page, Run, RunFilter, RunRef, RunRequest
from ._pagination import ListingGuard

if TYPE_CHECKING:
    from ._adapter import Adapter
    from ._call import Call

LOOKUP_SKEW = timedelta(seconds=60)
"""How far a provider's clock may lag ours: the lost-create lookup's window opens this
long before the create was first sent. Wider lets a lagging clock hide our run; narrower
lets an older run that happens to match be taken for ours."""

PAGE_SIZE = 100
"""Runs asked for per page while looking."""


async def find_created(
    adapter: Adapter,
    call: Call,
    request: RunRequest,
    token: str,
    *,
    since: datetime | None,
    exclude: Collection[RunRef] = (),
) -> Run | None:
    """The run ``request`` (tagged with ``token``) created, ``None`` if there is none.

    Runs created before ``since`` less ``LOOKUP_SKEW`` and runs in ``exclude``
    (those the client made for other calls) are not candidates. More than one
    candidate raises ``CreateUnconfirmed`` with all of them: a guess could hand
    the caller someone else's run.
    """
    after = since - LOOKUP_SKEW if since is not None else None
    searched = await adapter.search_tagged(call, request, token)
    if searched is not None:
        found = [
            run
            for run in searched
            if await _claimed(adapter, call, run, request, token, exclude, after)
        ]
    else:
        found = await _scan(adapter, call, request, token, exclude, after)
    if len(found) > 1:
        raise CreateUnconfirmed(
            f"{len(found)} runs could be the one this create made; not guessing "
            f"({', '.join(str(r.ref) for r in found[:5])})",
            token=token,
            candidates=tuple(found),
            provider=adapter.name,
            operation="create",
        )
    return found[0] if found else None


async def _scan(
    adapter: Adapter,
    call: Call,
    request: RunRequest,
    token: str,
    exclude: Collection[RunRef],
    after: datetime | None,
) -> list[Run]:
    size = min(PAGE_SIZE, adapter.capabilities.max_page_size)
    filters = RunFilter(target=adapter.lookup_target(request), created_after=after)
    newest_first = adapter.capabilities.newest_first
    found: list[Run] = []
    cursor: str | None = None
    guard = ListingGuard(adapter.name)  # a listing that would not end fails the lookup
    while True:
        page = await adapter.list_page(call, filters, cursor, size)
        guard.check(cursor, page.items, page.next_cursor, page.total)
        for run in page.items:
            if await _claimed(adapter, call, run, request, token, exclude, after):
                found.append(run)
        cursor = page.next_cursor
        if cursor is None or (newest_first and _past(page, after)):
            return found


async def _claimed(
    adapter: Adapter,
    call: Call,
    run: Run,
    request: RunRequest,
    token: str,
    exclude: Collection[RunRef],
    after: datetime | None,
) -> bool:
    if run.ref in exclude:
        return False
    if after is not None and run.created_at is not None and run.created_at < after:
        return False
    verdict = adapter.claims(run, request, token)
    if verdict is None:  # the record cannot say: read the run itself
        try:
            verdict = adapter.claims(await adapter.get(call, run.id), request, token)
        except NotFound:
            return False
    return bool(verdict)


def _past(page: Page, after: datetime | None) -> bool:
    """Whether a newest-first listing has gone past ``after`` with this page.

    The order is trusted only when the page shows it: a server that lists in
    another order than declared is searched to the end rather than cut short.
    """
    if after is None or not page.items:
        return False
    times = [run.created_at for run in page.items if run.created_at is not None]
    if len(times) < len(page.items):
        return False
    ordered = all(a >= b for a, b in itertools.pairwise(times))
    return ordered and times[-1] < after
