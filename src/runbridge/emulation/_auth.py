"""How an emulated API reads credentials: declared once per emulator, checked by the base."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

import attrs


@attrs.frozen
class BearerAuth:
    """``Authorization: Bearer <token>``."""

    def token(self, headers: Mapping[str, str]) -> str | None:
        """The credential a request carries, or ``None``."""
        scheme, _, value = headers.get("Authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None

    def headers(self, token: str) -> dict[str, str]:
        """The headers that present ``token``."""
        return {"Authorization": f"Bearer {token}"}


@attrs.frozen
class HeaderAuth:
    """An API key in a header of its own, such as ``x-api-key``."""

    header: str

    def token(self, headers: Mapping[str, str]) -> str | None:
        """The credential a request carries, or ``None``."""
        return headers.get(self.header) or None

    def headers(self, token: str) -> dict[str, str]:
        """The headers that present ``token``."""
        return {self.header: token}


Auth = BearerAuth | HeaderAuth
"""The ways an emulator may read credentials."""


def matching(presented: str | None, accepted: Iterable[str]) -> str | None:
    """The accepted token ``presented`` equals (compared in constant time), or ``None``."""
    if presented is None:
        return None
    found = None
    for token in accepted:
        if hmac.compare_digest(presented.encode(), token.encode()):
            found = token
    return found
