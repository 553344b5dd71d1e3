"""Cyberdesk's ``run_complete`` webhook, as Svix delivers it (restated from the docs).

The body is ``{"event_id", "event_type": "run_complete", "occurred_at", "run":
<RunResponse>}``; Svix signs ``{svix-id}.{svix-timestamp}.{body}`` with HMAC-SHA256
under the endpoint secret's bytes (the base64 after ``whsec_``) and sends
``svix-signature: v1,<base64>``. Signed here with the standard library: an emulator
never uses the libraries the client side verifies with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

EVENT_TYPE = "run_complete"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a documented prefix, not a secret


def new_secret() -> str:
    """A fresh endpoint secret in Svix's ``whsec_<base64>`` form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    """The signing key of a ``whsec_`` secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def message_id() -> str:
    """A Svix-style message id (``msg_`` and 27 characters)."""
    return "msg_" + secrets.token_hex(14)[:27]


def svix_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Svix headers of one attempt."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(timestamp),
        "svix-signature": "v1," + base64.b64encode(digest).decode(),
    }
