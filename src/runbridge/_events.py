"""Run events: what a provider pushes when a run changes, and how a delivery is verified.

A delivery is checked before anything in it is read: its signature (constant-time,
against each of the secrets in force, so secrets can be rotated), its timestamp where
the scheme signs one, and its size. ``RunEvent`` is what a verified delivery says.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from ._errors import RunbridgeError
from ._model import Run

EventRejection = str
"""Why a delivery was refused: ``signature``, ``headers``, ``stale``, ``too_large``,
``malformed``, or ``ignored`` (verified, but not a run event runbridge reads)."""

MAX_EVENT_BYTES = 1 << 20
"""Default cap on the size of a delivery's body (1 MiB)."""

DEFAULT_TOLERANCE = 300.0
"""Default tolerance, in seconds, between a delivery's signed timestamp and now."""


class EventRejected(RunbridgeError):
    """A delivery that failed verification; nothing in it was processed.

    ``reason`` says why: ``signature`` (no secret in force signed it), ``headers``
    (a signature header is missing or unreadable), ``stale`` (its signed timestamp is
    outside the tolerance), ``too_large`` (over the body cap), ``malformed`` (signed,
    but not an event this provider sends), ``ignored`` (signed and well formed, but not
    a run event runbridge reads, e.g. Runflow's ``batch.*``: a receiver acknowledges
    it so the provider stops redelivering, and delivers nothing).
    """

    def __init__(self, message: str, *, reason: EventRejection, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reason = reason


@attrs.frozen(kw_only=True)
class RunEvent:
    """One verified delivery: the provider's event id and type, when it happened, and the
    run as the event reports it (fields the event leaves out are ``None``)."""

    id: str
    """The provider's id of the event; a redelivery carries the same id."""
    type: str
    """The provider's event type, verbatim (``run_complete``, ``run.failed``...)."""
    run: Run
    occurred_at: datetime | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False, hash=False)

    @property
    def provider(self) -> str:
        """The provider that sent the event."""
        return self.run.provider


def header(headers: Mapping[str, str], *names: str) -> str | None:
    """The first of ``names`` present in ``headers`` (compared case-insensitively)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in names:
        if (value := lowered.get(name.lower())) is not None:
            return value
    return None


def verify_standard_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    *,
    now: float,
    tolerance: float,
    provider: str,
) -> str:
    """Verify a Standard Webhooks (Svix) delivery and return its message id.

    Reads ``webhook-id``/``webhook-timestamp``/``webhook-signature`` or their ``svix-``
    spellings; the timestamp must be within ``tolerance`` seconds of ``now``; one of
    the ``v1`` signatures must be the HMAC-SHA256 of ``id.timestamp.body`` under one
    of ``secrets`` (``whsec_...``), compared in constant time. Signing is done by the
    ``standardwebhooks`` library.
    """
    from standardwebhooks.webhooks import Webhook

    msg_id = header(headers, "webhook-id", "svix-id")
    stamp = header(headers, "webhook-timestamp", "svix-timestamp")
    signature = header(headers, "webhook-signature", "svix-signature")
    if not (msg_id and stamp and signature):
        raise EventRejected(
            "delivery lacks its webhook-id, webhook-timestamp or webhook-signature header",
            reason="headers",
            provider=provider,
            operation="event",
        )
    try:
        sent = float(stamp)
    except ValueError:
        sent = math.nan
    if not math.isfinite(sent):
        raise EventRejected(
            "webhook-timestamp is not a number",
            reason="headers",
            provider=provider,
            operation="event",
        )
    if abs(now - sent) > tolerance:
        raise EventRejected(
            f"delivery signed {now - sent:.0f} s from now, outside the {tolerance:g} s tolerance",
            reason="stale",
            provider=provider,
            operation="event",
        )
    offered = [part.partition(",")[2] for part in signature.split() if part.startswith("v1,")]
    text = body.decode("utf-8", "replace")
    when = datetime.fromtimestamp(int(sent), tz=UTC)
    for secret in secrets:
        try:
            signer = Webhook(secret)
        except (ValueError, TypeError):  # not a whsec_ secret: it cannot have signed this
            continue
        expected = signer.sign(msg_id, when, text).partition(",")[2]
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return msg_id
    raise EventRejected(
        "no webhook secret in force signed this delivery",
        reason="signature",
        provider=provider,
        operation="event",
    )


def verify_hmac_hex(
    signature: str | None, body: bytes, secrets: Sequence[str], *, provider: str, header_name: str
) -> None:
    """Verify a hex HMAC-SHA256 of the raw body under one of ``secrets`` (constant time)."""
    if not signature:
        raise EventRejected(
            f"delivery lacks its {header_name} header",
            reason="headers",
            provider=provider,
            operation="event",
        )
    offered = signature.strip().lower()
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, offered):
            return
    raise EventRejected(
        "no callback secret in force signed this delivery",
        reason="signature",
        provider=provider,
        operation="event",
    )
