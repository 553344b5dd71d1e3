"""``ListRuns`` page tokens: where the next page starts, signed and bound to the query.

The spec says a token is opaque and that every other parameter must match the call
that produced it; a token used with another automation, filter or page size, or
altered, is INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets

Position = tuple[int, int]
"""The listing key of the last run a page held."""


class BadToken(ValueError):
    """A token this emulator did not issue for this query."""


def query_scope(automation: str, filter_text: str, page_size: int) -> str:
    """A digest of the parameters a token is bound to."""
    query = json.dumps([automation, filter_text, page_size]).encode()
    return hashlib.sha256(query).hexdigest()[:24]


class PageTokens:
    """Issues and reads page tokens with a key of its own."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def issue(self, position: Position, scope: str) -> str:
        """A token for the page after ``position`` of the query ``scope``."""
        payload = json.dumps([position[0], position[1], scope], separators=(",", ":")).encode()
        return f"{_encode(payload)}.{_encode(self._mac(payload))}"

    def read(self, token: str, scope: str) -> Position:
        """The position in ``token``; ``BadToken`` when forged or from another query."""
        head, _, tail = token.partition(".")
        try:
            payload, mac = _decode(head), _decode(tail)
        except (binascii.Error, ValueError):
            raise BadToken("page_token is not a token this service issued") from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise BadToken("page_token is not a token this service issued")
        first, second, issued_for = json.loads(payload)
        if issued_for != scope:
            raise BadToken(
                "page_token was issued for other parameters: every parameter other than "
                "page_token must match the call that provided it"
            )
        return int(first), int(second)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode(text: str) -> bytes:
    if not text:
        raise ValueError("empty")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
