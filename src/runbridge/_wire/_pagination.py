"""Pagination: signed opaque cursors, and iteration over pages that always ends.

A cursor wraps the adapter's own cursor with the provider's name and an HMAC
whose key is derived from the client's credential: any client holding the same
credential (in this process or another) accepts it, and an altered one is
refused before anything is sent.

A listing is guarded against a provider that would never let it end: a repeated
cursor, a page that does not advance, and more runs than the provider said there
were all raise ``ResponseError``. The guard's memory stays bounded whatever the
length of the listing.
"""

from __future__ import annotations

import binascii
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import orjson

from .._model._errors import InvalidRequest, ResponseError
from .._model._run import Page, Run

MAX_CURSOR_CHARS = 16384
"""Longest cursor accepted back from a caller."""

STALLED_PAGES = 8
"""Consecutive pages that bring nothing new (empty, or the same runs as an earlier page)
a listing may return while it still names a next page; one more raises ``ResponseError``."""

REMEMBERED_PAGES = 100_000
"""Pages whose cursor and content digests (8 bytes each) a listing remembers; past that, a
cycle is still caught by comparing with a checkpoint that moves at powers of two."""

_MAC_BYTES = 16


def cursor_key(provider: str, credential: str) -> bytes:
    """The key cursors are signed with by every client of ``provider`` holding ``credential``."""
    import hashlib
    import hmac

    return hmac.new(
        credential.encode("utf-8", "surrogatepass"),
        b"runbridge cursor key\0" + provider.encode(),
        hashlib.sha256,
    ).digest()


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _mac(key: bytes, payload: str) -> str:
    import hashlib
    import hmac

    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:_MAC_BYTES])


def encode_cursor(provider: str, native: str, *, key: bytes) -> str:
    """Wrap an adapter's own cursor into an opaque token bound to its provider, signed."""
    payload = _b64(orjson.dumps([provider, native]))
    return f"{payload}.{_mac(key, payload)}"


def decode_cursor(provider: str, cursor: object, *, key: bytes) -> str:
    """Unwrap a token from ``encode_cursor``; ``InvalidRequest`` if it is not one of ours,
    belongs to another provider, or was altered."""
    try:
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError
        payload, dot, mac = cursor.partition(".")
        if not dot:
            raise ValueError
        import base64

        padded = payload + "=" * (-len(payload) % 4)
        owner, native = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError):
        raise InvalidRequest(
            "cursor is not one this library issued",
            field="cursor",
            provider=provider,
            operation="list",
        ) from None
    if owner != provider or not isinstance(native, str):
        raise InvalidRequest(
            f"cursor belongs to provider {str(owner)[:40]!r}, not {provider!r}",
            field="cursor",
            provider=provider,
            operation="list",
        )
    import hmac

    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise InvalidRequest(
            "cursor was altered, or issued to a client with other credentials",
            field="cursor",
            provider=provider,
            operation="list",
        )
    return native


def _digest(text: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class ListingGuard:
    """Refuses a listing that would not end; memory bounded whatever its length.

    ``check`` is told each page as the provider gave it (before any client-side
    filter) with the cursor it was asked with and the cursor it names next.
    """

    __slots__ = (
        "_checkpoint",
        "_count",
        "_pages",
        "_power",
        "_provider",
        "_seen",
        "_stalled",
        "_steps",
        "_total",
    )

    def __init__(self, provider: str, cursor: str | None = None) -> None:
        self._provider = provider
        self._seen: set[int] = set()  # cursor digests
        self._pages: set[int] = set()  # page content digests
        self._stalled = 0
        self._count = 0
        self._total: int | None = None
        # Brent's cycle check, for a cycle that starts after the record is full.
        self._checkpoint: int | None = None
        self._power = 1
        self._steps = 0
        if cursor is not None:
            self._seen.add(_digest(cursor))

    def _refuse(self, message: str) -> ResponseError:
        return ResponseError(
            f"{message}; stopped the listing so that it ends",
            provider=self._provider,
            operation="list",
        )

    def check(
        self, cursor: str | None, items: Sequence[Run], next_cursor: str | None, total: int | None
    ) -> None:
        """Raise ``ResponseError`` if this page shows the listing will not end."""
        self._count += len(items)
        if total is not None:
            # The largest total said so far: a listing may grow while it is read.
            self._total = total if self._total is None else max(self._total, total)
        if self._total is not None and self._count > self._total:
            raise self._refuse(
                f"the listing gave {self._count} runs, more than the {self._total} "
                "the provider reported"
            )
        if next_cursor is None:
            return
        if next_cursor == cursor:
            raise self._refuse("the next page cursor is the one just used")
        key = _digest(next_cursor)
        if key in self._seen or key == self._checkpoint:
            raise self._refuse("the listing repeated a cursor it had already given")
        content = _digest("\0".join(run.id for run in items)) if items else None
        if content is None or content in self._pages:
            self._stalled += 1
            if self._stalled > STALLED_PAGES:
                raise self._refuse(
                    f"{self._stalled} pages in a row brought no new runs but named a next page"
                )
        else:
            self._stalled = 0
        if len(self._seen) < REMEMBERED_PAGES:
            self._seen.add(key)
            if content is not None:
                self._pages.add(content)
        self._steps += 1
        if self._steps == self._power:
            self._checkpoint, self._power, self._steps = key, self._power * 2, 0


Fetch = Callable[[str | None], Awaitable[tuple[Page, Sequence[Run]]]]
"""Fetches the page at a cursor: the page as the caller sees it, and the runs the
provider returned for it before any client-side filter."""


class RunIterator:
    """Async iterator over runs, fetching pages lazily; ``pages()`` gives the pages.

    Memory stays bounded by one page whatever the length of the listing, and a
    listing that would not end (a repeated cursor, pages that bring nothing new,
    more runs than the provider's total) raises ``ResponseError`` instead.
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        provider: str,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> None:
        self._fetch = fetch
        self._provider = provider
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
        guard = ListingGuard(self._provider, cursor)
        while True:
            page, scanned = await self._fetch(cursor)
            guard.check(cursor, scanned, page.next_cursor, page.total)
            if remaining is not None:
                if len(page.items) >= remaining:
                    yield Page(page.items[:remaining], page.next_cursor, page.total)
                    return
                remaining -= len(page.items)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def collect(self) -> list[Run]:
        """Every run, in a list (mind the size of the listing)."""
        return [run async for run in self]
