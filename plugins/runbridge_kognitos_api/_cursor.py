"""The adapter's list cursor: a page token with the query it is bound to.

"All other parameters must match the call that provided the page token": so the
cursor keeps the ``page_size`` and ``filter`` the token was made with, and a listing
resumed with another page size or other filters asks with the token's own query. A
page of the token's size is handed out in pieces of the size asked for, ``skip`` runs
in: no run lost, none repeated, no page longer than asked.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar

import attrs
import orjson

T = TypeVar("T")


@attrs.frozen
class ListCursor:
    """Where a listing stands: the token, the query it belongs to, runs already seen."""

    token: str | None
    page_size: int | None
    filter: str | None
    skip: int = 0

    def encode(self) -> str:
        """An opaque, URL-safe text."""
        fields = [self.token, self.page_size, self.filter, self.skip]
        return base64.urlsafe_b64encode(orjson.dumps(fields)).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> ListCursor | None:
        """The cursor ``encode`` made, or ``None`` when ``text`` is not one."""
        try:
            fields: Any = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError):
            return None
        if not (isinstance(fields, list) and len(fields) == 4):
            return None
        token, size, where, skip = fields
        if not (
            isinstance(token, str | None)
            and (size is None or (type(size) is int and size > 0))
            and isinstance(where, str | None)
            and type(skip) is int
            and skip >= 0
        ):
            return None
        return cls(token, size, where, skip)

    def cut(
        self, items: Sequence[T], page_size: int | None, following: str | None
    ) -> tuple[Sequence[T], ListCursor | None]:
        """The runs to hand out of the provider's page ``items``, and the cursor after
        them; ``following`` is the token that page named."""
        rest = items[self.skip :]
        if page_size is not None and len(rest) > page_size:
            return rest[:page_size], attrs.evolve(self, skip=self.skip + page_size)
        if not following:
            return rest, None
        return rest, ListCursor(following, self.page_size, self.filter)
