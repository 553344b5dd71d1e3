"""The adapter's list cursor: a continuation token with the ``limit`` it was made with.

A continuation token is valid only for the query that produced it, ``limit``
included (ASSUMPTION of the provider facts: "valid only with the same filters").
So the cursor keeps the limit, and a listing resumed with another page size asks
with the token's own limit and hands out that page in pieces of the new size,
``skip`` runs in: no run lost, none repeated, no page longer than asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import attrs

T = TypeVar("T")


@attrs.frozen
class ListCursor:
    """Where a listing stands: the token to send, the limit it belongs to, runs to skip."""

    token: str | None
    """The continuation token to send; ``None`` for the first page."""
    limit: int | None
    """The ``limit`` the token was made with; ``None`` when none was sent."""
    skip: int = 0
    """Runs of that page the caller has already seen."""

    @classmethod
    def start(cls, page_size: int | None) -> ListCursor:
        """The first page, of ``page_size`` runs."""
        return cls(None, page_size)

    def encode(self) -> str:
        """``<limit>:<skip>:<token>`` (an empty limit when none was sent)."""
        limit = "" if self.limit is None else str(self.limit)
        return f"{limit}:{self.skip}:{self.token or ''}"

    @classmethod
    def decode(cls, cursor: str) -> ListCursor | None:
        """The cursor ``encode`` made, or ``None`` when ``cursor`` is not one."""
        limit, _, rest = cursor.partition(":")
        skip, colon, token = rest.partition(":")
        if not colon or not skip.isdigit() or not (limit == "" or limit.isdigit()):
            return None
        return cls(token or None, int(limit) if limit else None, int(skip))

    def cut(
        self, items: Sequence[T], page_size: int | None, following: str | None
    ) -> tuple[Sequence[T], ListCursor | None]:
        """The runs to return from the provider's page ``items``, and the cursor after them.

        ``following`` is the continuation token that page named.
        """
        rest = items[self.skip :]
        if page_size is not None and len(rest) > page_size:
            return rest[:page_size], attrs.evolve(self, skip=self.skip + page_size)
        if following is None:
            return rest, None
        return rest, ListCursor(following, self.limit)
