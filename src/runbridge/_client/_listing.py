"""Reading one page of runs as the caller sees it: the cursor opened and sealed, the
listing checked to advance, and the filters the provider may not have applied."""

from __future__ import annotations

from collections.abc import Callable

from .._model._errors import ResponseError
from .._model._run import Page, Run, RunFilter, RunStatus
from .._plugins._adapter import Adapter
from .._wire._call import Channel
from .._wire._pagination import decode_cursor, encode_cursor

_NO_FILTER = RunFilter()
# A module constant: on Python 3.11 reading an enum member off its class costs several
# times a plain attribute, and this one is read once per run of a page.
_UNKNOWN = RunStatus.UNKNOWN


def select(filters: RunFilter, runs: tuple[Run, ...]) -> tuple[Run, ...]:
    """The runs that pass ``filters``: the provider may not have applied them all."""
    target = filters.target
    if (
        target is not None
        and not filters.statuses
        and filters.created_after is None
        and filters.created_before is None
    ):
        # The usual filter (Kognitos always lists one target): one comparison a run.
        return tuple([run for run in runs if run.target == target])
    keep = filters.matches
    return tuple([run for run in runs if keep(run)])


async def fetch_page(
    adapter: Adapter,
    channel: Channel,
    filters: RunFilter,
    cursor: str | None,
    page_size: int | None,
    seen: Callable[[Run], object],
) -> tuple[Page, tuple[Run, ...]]:
    """The page at ``cursor`` as the caller sees it, and every run the provider gave.

    ``seen`` is told of each run in an unknown native status.
    """
    provider, key = adapter.name, channel.cursor_key
    native = decode_cursor(provider, cursor, key=key) if cursor is not None else None
    page = await adapter.list_page(channel.call("list"), filters, native, page_size)
    if native is not None and page.next_cursor == native:
        raise ResponseError(
            "the next page cursor is the one just used; the listing would not end",
            provider=provider,
            operation="list",
        )
    items = page.items
    for run in items:
        if run.status is _UNKNOWN:
            seen(run)
    if filters != _NO_FILTER:
        items = select(filters, items)
    following = page.next_cursor
    next_cursor = encode_cursor(provider, following, key=key) if following is not None else None
    return Page(items, next_cursor, page.total), page.items
