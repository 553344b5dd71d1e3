"""Pagination: opaque resumable cursors and async iteration over pages and runs."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson

from ._errors import InvalidRequest
from ._model import Page, Run


def encode_cursor(provider: str, native: str) -> str:
    """Wrap an adapter's own cursor into an opaque token bound to its provider."""
    return base64.urlsafe_b64encode(orjson.dumps([provider, native])).decode().rstrip("=")


def decode_cursor(provider: str, cursor: str) -> str:
    """Unwrap a token from ``encode_cursor``; ``InvalidRequest`` if it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        owner, native = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError):
        raise InvalidRequest(
            "cursor is not one this library issued", field="cursor", provider=provider
        ) from None
    if owner != provider or not isinstance(native, str):
        raise InvalidRequest(
            f"cursor belongs to provider {owner!r}, not {provider!r}",
            field="cursor",
            provider=provider,
            operation="list",
        )
    return native


class RunIterator:
    """Async iterator over runs, fetching pages lazily; ``pages()`` gives the pages.

    Memory stays bounded by one page whatever the length of the listing.
    """

    def __init__(
        self,
        fetch: Callable[[str | None], Awaitable[Page]],
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> None:
        self._fetch = fetch
        self._cursor = cursor
        self._limit = limit

    def __aiter__(self) -> AsyncIterator[Run]:
        return self._runs()

    async def _runs(self) -> AsyncIterator[Run]:
        async for page in self.pages():
            for run in page.items:
                yield run

    async def pages(self) -> AsyncIterator[Page]:
        """Yield each page in turn; each page's ``next_cursor`` resumes after it."""
        cursor, remaining = self._cursor, self._limit
        while True:
            page = await self._fetch(cursor)
            if remaining is not None:
                if len(page.items) >= remaining:
                    yield Page(page.items[:remaining], page.next_cursor)
                    return
                remaining -= len(page.items)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def collect(self) -> list[Run]:
        """Every run, in a list (mind the size of the listing)."""
        return [run async for run in self]
