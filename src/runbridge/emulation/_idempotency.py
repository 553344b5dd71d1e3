"""Replay of writes that carry an ``Idempotency-Key``, as providers do."""

from __future__ import annotations

import hashlib
from typing import Any

import attrs


@attrs.frozen
class Stored:
    """The first response given for a key, and a fingerprint of its request."""

    fingerprint: str
    status: int
    body: Any


class IdempotencyCache:
    """Remembers the first response per key; a replay with another body is a conflict."""

    def __init__(self) -> None:
        self._entries: dict[str, Stored] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def fingerprint(method: str, path: str, body: bytes) -> str:
        """A digest identifying one request."""
        return hashlib.sha256(b"\0".join((method.encode(), path.encode(), body))).hexdigest()

    def lookup(self, key: str | None, fingerprint: str) -> Stored | bool | None:
        """The stored response to replay, ``None`` if the key is new, ``False`` on a clash."""
        if key is None:
            return None
        stored = self._entries.get(key)
        if stored is None:
            return None
        return stored if stored.fingerprint == fingerprint else False

    def store(self, key: str | None, fingerprint: str, status: int, body: Any) -> None:
        """Remember the response given for ``key``."""
        if key is not None and key not in self._entries:
            self._entries[key] = Stored(fingerprint, status, body)
