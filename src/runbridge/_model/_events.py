"""Run events: what a provider pushes when a run changes, and how a delivery is verified.

A delivery is checked before anything in it is read: its signature (constant-time,
against each of the secrets in force, so secrets can be rotated, and over the exact bytes
received), its timestamp where the scheme signs one, and its size. ``RunEvent`` is what a
verified delivery says; its ``replay_key`` comes only from what the signature covers.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from ._canonical import Run
from ._errors import RunbridgeError

EventRejection = str
"""Why a delivery was refused: ``signature``, ``headers``, ``stale``, ``too_large``,
``malformed``, or ``ignored`` (verified, but not a run event runbridge reads)."""

MAX_EVENT_BYTES = 1 << 20
"""Default cap on the size of a delivery's body (1 MiB)."""

DEFAULT_TOLERANCE = 300.0
"""Default tolerance, in seconds, between a delivery's signed timestamp and now."""


class VerifiedId(str):
    """What ``Adapter.verify_event`` returns: the event id (this string), and the key the
    receiver's replay protection uses (``replay_key``).

    The event id may come from anywhere in the delivery (an unsigned header, say); the
    replay key must come only from what the signature covers (a signed message id, a
    digest of the signed body), so that a captured delivery resent with a fresh unsigned
    id is still recognised. A plain ``str`` return keeps working: the core then keys
    replay protection on a digest of the body (``body_replay_key``).
    """

    replay_key: str

    def __new__(cls, event_id: str, replay_key: str = "") -> VerifiedId:
        # ``replay_key`` has a default only so that copy and pickle can rebuild one.
        verified = super().__new__(cls, event_id)
        verified.replay_key = replay_key
        return verified


def body_replay_key(body: bytes) -> str:
    """A replay key for a scheme that signs the body: its SHA-256, as ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


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
    replay_key: str = attrs.field(default="", repr=False, eq=False, hash=False)
    """What the receiver remembers to refuse a replay: derived only from signed material
    (Runflow: a digest of the body; Standard Webhooks: the signed message id). Set by
    ``parse_event``; two deliveries of one event share it."""

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
) -> VerifiedId:
    """Verify a Standard Webhooks (Svix) delivery and return its message id.

    Reads ``webhook-id``/``webhook-timestamp``/``webhook-signature`` or their ``svix-``
    spellings; the timestamp must be within ``tolerance`` seconds of ``now``; one of
    the ``v1`` signatures must be the HMAC-SHA256 of ``id.timestamp.body`` under one
    of ``secrets`` (``whsec_...``), computed over the body's exact bytes and compared in
    constant time (signed by the ``standardwebhooks`` library, which signs bytes as they
    are). The replay key is the signed message id: a provider's retries keep
    it (each retry is signed again, with a fresh timestamp), and a replay outside the
    tolerance is refused as stale.
    """
    from standardwebhooks.webhooks import Webhook

    msg_id = header(headers, "webhook-id", "svix-id")
    stamp = header(headers, "webhook-timestamp", "svix-timestamp")
    signature = header(headers, "webhook-signature", "svix-signature")
    if not (msg_id and stamp and signature):
        raise _rejected(
            "delivery lacks its webhook-id, webhook-timestamp or webhook-signature header",
            "headers",
            provider,
        )
    try:
        sent = float(stamp)
    except ValueError:
        sent = math.nan
    if not math.isfinite(sent):
        raise _rejected("webhook-timestamp is not a number", "headers", provider)
    if abs(now - sent) > tolerance:
        raise _rejected(
            f"delivery signed {now - sent:.0f} s from now, outside the {tolerance:g} s tolerance",
            "stale",
            provider,
        )
    try:  # header text as the server decoded it: these are the bytes that came on the wire
        msg_id.encode("utf-8")
    except UnicodeEncodeError:
        raise _rejected("webhook-id is not text", "headers", provider) from None
    offered = [part.partition(",")[2] for part in signature.split() if part.startswith("v1,")]
    when = datetime.fromtimestamp(math.floor(sent), tz=UTC)
    for secret in secrets:
        try:
            signer = Webhook(secret)
        except (ValueError, TypeError):  # not a whsec_ secret: it cannot have signed this
            continue
        # The body's exact bytes: never a decoded text, which could sign what was not sent.
        expected = signer.sign(msg_id, when, body).partition(",")[2]
        if any(_same(expected, candidate) for candidate in offered):
            return VerifiedId(msg_id, replay_key=f"webhook-id:{msg_id}")
    raise _rejected("no webhook secret in force signed this delivery", "signature", provider)


def _same(expected: str, offered: str) -> bool:
    """Constant-time equality of an expected signature and one a sender offered (which
    may hold any character: ``compare_digest`` refuses non-ASCII ``str``)."""
    return hmac.compare_digest(expected.encode(), offered.encode("utf-8", "replace"))


def _rejected(message: str, reason: EventRejection, provider: str) -> EventRejected:
    return EventRejected(message, reason=reason, provider=provider, operation="event")


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
        if _same(expected, offered):
            return
    raise EventRejected(
        "no callback secret in force signed this delivery",
        reason="signature",
        provider=provider,
        operation="event",
    )
