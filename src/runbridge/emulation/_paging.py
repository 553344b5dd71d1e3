"""How a provider pages a listing: declared once as ``Paging``, carried out over sorted rows.

Three styles cover the providers: ``cursors`` (opaque tokens naming the last row
of a page, keyset: inserts never shift later pages), ``offsets`` (a position:
``skip``, or a cursor such as ``o40`` that holds one) and ``pages`` (page numbers
from 1). Offsets and page numbers are what such providers serve: a row inserted
before the position shifts the pages after it, as it does on the real service.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, Literal, TypeVar

import attrs

T = TypeVar("T")

Key = Any
"""Where a row stands in a listing: a number or a tuple of numbers (JSON-encodable)."""

Style = Literal["cursors", "offsets", "pages"]


class BadCursor(ValueError):
    """A cursor this listing did not issue: ``reason`` is ``forged`` (altered, or not a
    cursor at all) or ``scope`` (issued for another query)."""

    def __init__(self, reason: Literal["forged", "scope"], message: str) -> None:
        super().__init__(message)
        self.reason: Literal["forged", "scope"] = reason


@attrs.frozen
class Paged(Generic[T]):
    """One page of a listing: its rows and what leads on from it.

    ``next``/``previous`` are the cursors of the pages after and before it
    (``None`` at either end); ``total`` counts every matching row (offsets and
    page numbers only, ``None`` for cursors).
    """

    items: list[T]
    next: str | None = None
    previous: str | None = None
    total: int | None = None


@attrs.frozen
class Paging:
    """A provider's pagination style; build one with ``cursors``, ``offsets`` or ``pages``."""

    style: Style
    signed: bool = True
    """Cursors: whether tokens carry a MAC (else they are only encoded)."""
    template: str = "{}"
    """Offsets: how a position reads as a cursor (``"o{}"``: ``o40``)."""

    @classmethod
    def cursors(cls, *, signed: bool = True) -> Paging:
        """Opaque tokens naming a page's last row, each valid only for its query's scope."""
        return cls("cursors", signed=signed)

    @classmethod
    def offsets(cls, template: str = "{}") -> Paging:
        """Positions: the cursor is ``template`` holding how many rows come before."""
        if template.count("{}") != 1:
            raise ValueError("an offset template holds one '{}'")
        return cls("offsets", template=template)

    @classmethod
    def pages(cls) -> Paging:
        """Page numbers from 1: the cursor is the page's number."""
        return cls("pages")

    def position(self, cursor: str | int | None, limit: int) -> int:
        """Offsets and pages: how many rows come before the page ``cursor`` names."""
        if cursor is None:
            return 0
        if self.style == "offsets":
            return _number(cursor, self.template)
        if self.style == "pages":
            number = _number(cursor, "{}")
            if number < 1:
                raise BadCursor("forged", "page numbers start at 1")
            return (number - 1) * limit
        raise TypeError("cursors have no position: use Paging.page")

    def page(
        self,
        rows: Sequence[T],
        *,
        limit: int,
        cursor: str | int | None = None,
        key: Callable[[T], Key] | None = None,
        where: Callable[[T], bool] | None = None,
        scope: str = "",
        secret: bytes = b"",
        back: bool = False,
    ) -> Paged[T]:
        """One page of ``rows`` (in listing order; for cursors, sorted by ``key``).

        ``cursor`` ``None`` starts at the beginning (an empty one is refused as
        any other that is not this listing's). ``where`` keeps the rows a filter
        matches; ``scope`` names the query a
        cursor belongs to (``secret`` signs it); ``back`` reads the page before a
        cursor. ``BadCursor`` when the cursor is not one of this listing's.
        """
        if limit < 1:
            raise ValueError("a page holds at least one row")
        if self.style == "cursors":
            if key is None:
                raise TypeError("cursor paging needs the key rows are sorted by")
            codec = Tokens(secret if self.signed else None)
            return keyset(rows, key, limit, cursor, codec, scope, where=where, back=back)
        kept = list(rows) if where is None else [row for row in rows if where(row)]
        start = self.position(cursor, limit)
        end = start + limit
        after = None
        if end < len(kept):
            after = self.template.format(end) if self.style == "offsets" else str(end // limit + 1)
        return Paged(kept[start:end], next=after, total=len(kept))


def _number(cursor: str | int, template: str) -> int:
    if isinstance(cursor, int):
        if cursor < 0:
            raise BadCursor("forged", "a position is not negative")
        return cursor
    head, _, tail = template.partition("{}")
    digits = cursor[len(head) : len(cursor) - len(tail)]
    if not (cursor.startswith(head) and cursor.endswith(tail) and digits.isdigit()):
        raise BadCursor("forged", f"{cursor!r} is not a cursor of this listing")
    return int(digits)


class Tokens:
    """Encodes a key and the scope it belongs to as an opaque, URL-safe token; signed
    (``payload.mac``) when given a secret."""

    def __init__(self, secret: bytes | None) -> None:
        self._secret = secret

    def make(self, key: Key, scope: str) -> str:
        """A token resuming after ``key`` in the query ``scope``."""
        payload = json.dumps([key, _digest(scope)], separators=(",", ":")).encode()
        if self._secret is None:
            return _encode(payload)
        return f"{_encode(payload)}.{_encode(self._mac(payload))}"

    def read(self, token: str, scope: str) -> Key:
        """The key in ``token``; ``BadCursor`` when forged or from another scope."""
        forged = BadCursor("forged", "not a cursor this listing issued")
        head, dot, tail = token.partition(".")
        try:
            payload = _decode(head)
            if self._secret is not None:
                if not dot or not hmac.compare_digest(_decode(tail), self._mac(payload)):
                    raise forged
            elif dot:
                raise forged
            key, issued_for = json.loads(payload)
        except (ValueError, TypeError, binascii.Error):
            raise forged from None
        if issued_for != _digest(scope):
            raise BadCursor("scope", "the cursor belongs to another query")
        return _tuple(key)

    def _mac(self, payload: bytes) -> bytes:
        assert self._secret is not None
        # 12 bytes are 16 base64 characters, none with spare bits: any change is caught.
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]


def _digest(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def _tuple(key: Any) -> Key:
    if isinstance(key, list):
        return tuple(_tuple(part) for part in key)
    if isinstance(key, bool) or not isinstance(key, int | float | str | tuple):
        raise BadCursor("forged", "not a cursor this listing issued")
    return key


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode(text: str) -> bytes:
    if not text:
        raise ValueError("empty")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def keyset(
    rows: Sequence[T],
    key: Callable[[T], Key],
    limit: int,
    cursor: str | int | None,
    codec: Tokens,
    scope: str,
    *,
    where: Callable[[T], bool] | None = None,
    back: bool = False,
    start: Key | None = None,
    stop: Key | None = None,
) -> Paged[T]:
    """A page of ``rows`` sorted by ``key``, after (or, ``back``, before) the cursor's key,
    among rows with ``start <= key < stop``."""
    if isinstance(cursor, int):
        raise BadCursor("forged", "not a cursor this listing issued")
    boundary = None if cursor is None else codec.read(cursor, scope)
    low = 0 if start is None else bisect.bisect_left(rows, start, key=key)
    high = len(rows) if stop is None else bisect.bisect_left(rows, stop, key=key)
    keep = where or (lambda row: True)

    def forward(index: int) -> Iterator[int]:
        return (i for i in range(max(index, low), high) if keep(rows[i]))

    def backward(index: int) -> Iterator[int]:
        return (i for i in range(min(index, high) - 1, low - 1, -1) if keep(rows[i]))

    if back and boundary is not None:
        before = bisect.bisect_left(rows, boundary, key=key)
        chosen = [i for _, i in zip(range(limit), backward(before), strict=False)][::-1]
    else:
        first = 0 if boundary is None else bisect.bisect_right(rows, boundary, key=key)
        chosen = [i for _, i in zip(range(limit), forward(first), strict=False)]
    if not chosen:
        return Paged([])
    after = next(forward(chosen[-1] + 1), None)
    ahead = next(backward(chosen[0]), None)
    return Paged(
        [rows[i] for i in chosen],
        next=None if after is None else codec.make(key(rows[chosen[-1]]), scope),
        previous=None if ahead is None else codec.make(key(rows[chosen[0]]), scope),
    )
