"""Page-number pagination, made safe to resume with another page size.

A page number means nothing without the page size it was counted in: page 3 of
10 starts at run 20, page 3 of 25 at run 50. So the cursor of an adapter whose
provider pages by number is the offset of the next run, and each request is
worked out from that offset and the page size the caller asks for now: the page
that holds the offset, and how many of its runs come before it (``skip``). A
listing resumed with another ``page_size`` then neither loses nor repeats runs;
its first page may be short, and the following ones line up with the new size.
"""

from __future__ import annotations

import attrs

from .._model._errors import InvalidRequest

_MAX_OFFSET_DIGITS = 18


@attrs.frozen
class PageRequest:
    """The page to ask for, for one cursor and page size (see ``PageNumbers.request``).

    Ask the provider for page ``page`` of ``size`` runs, drop its first ``skip``
    runs (they were on the previous page the caller saw), and name
    ``next_cursor(...)`` as the page's next cursor.
    """

    page: int
    """The page number to send."""
    size: int
    """The page size to send."""
    skip: int
    """How many runs at the start of that page the caller has already seen."""
    offset: int
    """The position of the first run the caller has not seen, counted from 0."""

    def next_cursor(
        self, received: int, *, total: int | None = None, more: bool | None = None
    ) -> str | None:
        """The cursor after this page, ``None`` at the end of the listing.

        ``received`` is how many runs the provider returned for the page (before
        ``skip`` is applied). Say how the provider marks the end: ``total`` (the
        number of runs in the whole listing) or ``more`` (a has-more flag, or
        whether a next page is linked). With neither, a full page means there may
        be more, and the listing ends on the first short page.
        """
        end = self.offset - self.skip + received
        if more is None:
            more = end < total if total is not None else received >= self.size
        # A page that did not reach past the offset (the listing shrank) cannot move on.
        return str(end) if more and end > self.offset else None


@attrs.frozen
class PageNumbers:
    """How an adapter pages a provider that pages by page number.

    ``default_size`` is the page size sent when the caller gives none (a page
    number needs one); ``first`` is the number of the first page (1, or 0 for
    providers that count from zero). The adapter's cursor is the offset of the
    next run, as a decimal string::

        PAGES = PageNumbers(default_size=20)

        async def list_page(self, call, filters, cursor, limit):
            at = PAGES.request(cursor, limit)
            response = await call.request(
                "GET", "/jobs", params={"page": str(at.page), "per_page": str(at.size)}
            )
            jobs = response.data["jobs"]
            runs = tuple(self.to_run(call, job) for job in jobs[at.skip :])
            return Page(runs, at.next_cursor(len(jobs), total=response.data["total"]))
    """

    default_size: int
    first: int = 1

    def __attrs_post_init__(self) -> None:
        if isinstance(self.default_size, bool) or not isinstance(self.default_size, int):
            raise TypeError("default_size must be an int")
        if self.default_size < 1:
            raise ValueError("default_size must be at least 1")
        if self.first not in (0, 1):
            raise ValueError("first must be 0 or 1")

    def request(self, cursor: str | None, page_size: int | None) -> PageRequest:
        """The page to ask for to continue at ``cursor`` with pages of ``page_size``.

        ``cursor`` is one ``PageRequest.next_cursor`` gave (``None``: the start);
        ``page_size`` is what the caller asks for now, whatever it was before.
        """
        offset = self.offset(cursor)
        size = self.default_size if page_size is None else page_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidRequest(
                f"page_size must be a positive integer, got {size!r}",
                field="page_size",
                operation="list",
            )
        return PageRequest(self.first + offset // size, size, offset % size, offset)

    @staticmethod
    def offset(cursor: str | None) -> int:
        """The offset a cursor stands for; ``InvalidRequest`` if it is not an offset."""
        if cursor is None:
            return 0
        if (
            not isinstance(cursor, str)
            or not cursor.isascii()
            or not cursor.isdigit()
            or len(cursor) > _MAX_OFFSET_DIGITS
        ):
            raise InvalidRequest(
                "cursor is not a page-number cursor (an offset)", field="cursor", operation="list"
            )
        return int(cursor)
