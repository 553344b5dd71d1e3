"""Runflow callbacks: the signed POSTs Runflow sends when a run finishes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runbridge.adapter import (
    EventRejected,
    VerifiedId,
    body_replay_key,
    header,
    verify_hmac_hex,
)

SIGNATURE_HEADER = "Runflow-Signature"
"""Hex HMAC-SHA256 of the raw body, keyed with the callback secret."""
REQUEST_ID_HEADER = "Runflow-Request-Id"
"""The delivery's id: the event id. Not signed, so replay protection does not key on it."""

RUN_EVENTS = {
    "run.completed": "succeeded",
    "run.failed": "failed",
    "run.cancelled": "canceled",
    "run.partial_succeeded": "partial_succeeded",
}
"""Run events and the ``status_code`` each implies when the payload gives none."""


def verify(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], provider: str
) -> VerifiedId:
    """Check ``Runflow-Signature`` against each secret; return ``Runflow-Request-Id``.

    The signature covers the body alone (no timestamp, not the request id), so the replay
    key is the body's digest: a captured callback resent with a fresh request id is
    still the same delivery.
    """
    verify_hmac_hex(
        header(headers, SIGNATURE_HEADER),
        body,
        secrets,
        provider=provider,
        header_name=SIGNATURE_HEADER,
    )
    request_id = header(headers, REQUEST_ID_HEADER)
    if not request_id or not request_id.strip():
        raise EventRejected(
            f"delivery lacks its {REQUEST_ID_HEADER} header",
            reason="headers",
            provider=provider,
            operation="event",
        )
    return VerifiedId(request_id.strip(), replay_key=body_replay_key(body))


def run_payload(payload: Mapping[str, Any], provider: str) -> tuple[str, dict[str, Any]]:
    """The event type and a (partial) run record built from a callback payload.

    ``batch.*`` and unknown events raise ``EventRejected(reason="ignored")``.
    """
    kind = payload.get("event")
    if kind not in RUN_EVENTS:
        raise EventRejected(
            f"callback event {str(kind)[:64]!r} is not a run event runbridge reads",
            reason="ignored" if isinstance(kind, str) else "malformed",
            provider=provider,
            operation="event",
        )
    status = payload.get("status")
    status = status if isinstance(status, str) and status else RUN_EVENTS[kind]
    output = payload.get("output")
    record: dict[str, Any] = {
        "id": payload.get("run_id"),
        "status_code": status,
        "duration_ms": payload.get("duration_ms"),
        "created_at": payload.get("created_at"),
        "completed_at": payload.get("completed_at"),
    }
    if isinstance(payload.get("metadata"), Mapping):
        record["metadata"] = payload["metadata"]
    if kind == "run.failed":
        # On failure ``output`` is an error envelope: read as the SDK's {code, message}.
        record["error"] = output
    elif isinstance(output, Mapping):
        record["output"] = output
    return str(kind), record
