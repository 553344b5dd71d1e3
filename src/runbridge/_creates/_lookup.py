"""The lost-create lookup: is the run a lost answer may hide already on the provider?

The core owns the loop; the adapter says how to recognise its run (``claims``),
where to look (``lookup_target``), and whether the provider can search by the
client token itself (``search_tagged``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .._model._errors import NotFound
from .._model._run import Page, Run, RunFilter, RunRef, RunRequest
from .._model._run_errors import CreateUnconfirmed
from .._wire._pagination import ListingGuard

if TYPE_CHECKING:
    from .._plugins._adapter import Adapter
    from .._wire._call import Call

LOOKUP_SKEW = timedelta(seconds=60)
"""How far a provider's clock may lag ours: the lost-create lookup's window opens this
long before the create was first sent. Wider lets a lagging clock hide our run; narrower
lets an older run that happens to match be taken for ours."""

PAGE_SIZE = 100
"""Runs asked for per page while looking."""


def window_opening(since: datetime, offset: float | None) -> datetime:
    """Where the lookup's window opens for a create first sent at ``since`` (our clock),
    on the provider's clock (``offset`` seconds ahead of ours, ``None``: unknown)."""
    return since + timedelta(seconds=offset or 0.0) - LOOKUP_SKEW


class Undecided(Exception):
    """The lookup found no run that is certainly the create's, but some it could not
    rule out (their records leave the token out, even read again): no verdict."""


async def find_created(
    adapter: Adapter,
    call: Call,
    request: RunRequest,
    token: str,
    *,
    since: datetime | None,
    offset: Callable[[], float | None] = lambda: None,
    exclude: Collection[RunRef] = (),
) -> Run | None:
    """The run ``request`` (tagged with ``token``) created, ``None`` if there is none.

    Runs created before ``since`` (on the provider's clock: ``offset()`` is how far
    it leads ours, read again as the provider's answers come in) less
    ``LOOKUP_SKEW``, and runs in ``exclude`` (those the client made for other
    calls), are not candidates. More than one candidate raises
    ``CreateUnconfirmed`` with all of them: a guess could hand the caller someone
    else's run. No candidate, but runs whose records cannot say whether they are
    it, raises ``Undecided``: "none" would be a guess too.
    """

    def after() -> datetime | None:
        return window_opening(since, offset()) if since is not None else None

    verdicts: list[tuple[Run, bool | None]] = []
    searched = await adapter.search_tagged(call, request, token)
    if searched is not None:
        opening = after()
        for run in searched:
            verdicts.append(
                (run, await _claimed(adapter, call, run, request, token, exclude, opening))
            )
    else:
        verdicts = await _scan(adapter, call, request, token, exclude, after)
    found = [run for run, verdict in verdicts if verdict]
    if len(found) > 1:
        raise CreateUnconfirmed(
            f"{len(found)} runs could be the one this create made; not guessing "
            f"({', '.join(str(r.ref) for r in found[:5])})",
            token=token,
            candidates=tuple(found),
            provider=adapter.name,
            operation="create",
        )
    if not found and any(verdict is None for _, verdict in verdicts):
        raise Undecided(f"{sum(v is None for _, v in verdicts)} runs cannot be ruled out")
    return found[0] if found else None


RESTARTS = 3
"""How often a scan starts again because the provider's clock turned out to lag more."""


async def _scan(
    adapter: Adapter,
    call: Call,
    request: RunRequest,
    token: str,
    exclude: Collection[RunRef],
    window: Callable[[], datetime | None],
) -> list[tuple[Run, bool | None]]:
    size = min(PAGE_SIZE, adapter.capabilities.max_page_size)
    newest_first = adapter.capabilities.newest_first
    for restart in range(RESTARTS + 1):
        asked = after = window()
        filters = RunFilter(target=adapter.lookup_target(request), created_after=asked)
        found: list[tuple[Run, bool | None]] = []
        cursor: str | None = None
        guard = ListingGuard(adapter.name)  # a listing that would not end fails the lookup
        while True:
            page = await adapter.list_page(call, filters, cursor, size)
            guard.check(cursor, page.items, page.next_cursor, page.total)
            # Each answer reads the provider's clock again: a window that opens earlier
            # than the one asked for starts the walk again; a later one is just applied.
            after = window()
            if asked is not None and after is not None and after < asked - _SLACK:
                if restart < RESTARTS:
                    break
                after = asked
            for run in page.items:
                verdict = await _claimed(adapter, call, run, request, token, exclude, after)
                if verdict is not False:
                    found.append((run, verdict))
            cursor = page.next_cursor
            if cursor is None or (newest_first and _past(page, after)):
                return found
    return found  # pragma: no cover - the last round never widens


_SLACK = timedelta(seconds=1)


async def _claimed(
    adapter: Adapter,
    call: Call,
    run: Run,
    request: RunRequest,
    token: str,
    exclude: Collection[RunRef],
    after: datetime | None,
) -> bool | None:
    """Whether ``run`` is the create's: ``None`` when even the run read again cannot say."""
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
    return verdict


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
