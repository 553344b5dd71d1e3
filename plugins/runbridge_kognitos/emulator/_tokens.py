"""Continuation tokens: the position after a page's last run, signed and bound to its query.

The documented token is an opaque string; these are URL-safe, reusable, and valid
only with the filters (agent, process, stage, limit) that produced them
(ASSUMPTION of the provider facts).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets

from ._checks import Invalid, detail

Position = tuple[float, int]
"""Creation time and sequence number of a run: where a newest-first listing stands."""


def scope(agent_id: str, process_id: str, stage: str | None, limit: int) -> str:
    """A digest of the query a token belongs to."""
    query = json.dumps([agent_id, process_id, stage, limit]).encode()
    return hashlib.sha256(query).hexdigest()[:16]


class Tokens:
    """Issues and checks continuation tokens with a key of its own."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def make(self, position: Position, query: str) -> str:
        """A token resuming after ``position`` for the query digest ``query``."""
        payload = json.dumps([position[0], position[1], query]).encode()
        return _b64(payload) + "." + _b64(self._mac(payload))

    def read(self, token: str, query: str) -> Position:
        """The position in ``token``; ``Invalid`` when forged or from another query."""
        bad = Invalid([detail("continuation_token", "invalid continuation token")])
        head, _, tail = token.partition(".")
        try:
            payload, mac = _unb64(head), _unb64(tail)
        except (ValueError, binascii.Error):
            raise bad from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise bad
        created, seq, token_query = json.loads(payload)
        if token_query != query:
            raise Invalid([detail("continuation_token", "token belongs to another query")])
        return float(created), int(seq)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:12]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
