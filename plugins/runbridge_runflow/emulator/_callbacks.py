"""Runflow's run callbacks (``/concepts/callbacks``), restated for the emulator.

A finished run that was created with a ``callback_url`` (or, when the emulator has a
``default_callback_url``, one created without) is POSTed there as
``{"event", "run_id", "status", "output", "duration_ms", "created_at",
"completed_at", "metadata"}`` with ``Runflow-Signature`` (hex HMAC-SHA256 of the
body under the callback secret) and ``Runflow-Request-Id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from runbridge.emulation import Delivery, Outbound, iso

EVENTS = {
    "succeeded": "run.completed",
    "failed": "run.failed",
    "canceled": "run.cancelled",
    "partial_succeeded": "run.partial_succeeded",
}
"""The documented events, by the terminal ``status_code`` that raises them."""


def new_request_id() -> str:
    """An id for one callback delivery, sent as ``Runflow-Request-Id``."""
    return f"req_{secrets.token_hex(12)}"


def payload(record: dict[str, Any]) -> dict[str, Any]:
    """The documented callback body of a run whose record (as served now) is ``record``."""
    status = record["status_code"]
    output = record["output"]
    if status == "failed":
        # ASSUMPTION: the "error envelope" is the error body shape of /concepts/errors.
        output = {
            "code": record.get("failure_code") or "RUN_FAILED",
            "message": record.get("failure_message") or _node_message(record) or "the run failed",
            "errors": None,
        }
    elif status == "canceled":
        output = None
    return {
        "event": EVENTS.get(status, f"run.{status}"),
        "run_id": record["id"],
        "status": status,
        "output": output,
        "duration_ms": record["duration_ms"],
        "created_at": record["created_at"],
        "completed_at": record["completed_at"],
        "metadata": record["metadata"],
    }


def _node_message(record: dict[str, Any]) -> str | None:
    nodes = record.get("node_runs") or []
    return next((n["error_message"] for n in nodes if n.get("error_message")), None)


def outbound(url: str | None, record: dict[str, Any]) -> Outbound | None:
    """What to POST to ``url`` for the run whose record is ``record``; ``None`` without
    a callback URL (the run's own or the emulator's ``default_callback_url``)."""
    if url is None:
        return None
    body = payload(record)
    encoded = json.dumps(body, separators=(",", ":")).encode()
    return Outbound(url=url, event=body["event"], body=encoded)


def signature(secret: str, body: bytes) -> str:
    """``Runflow-Signature``: the hex HMAC-SHA256 of the body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers(secret: str, delivery: Delivery, *, forged: bool) -> dict[str, str]:
    """The headers of one attempt; ``forged`` signs with a key nobody holds."""
    key = secrets.token_hex(16) if forged else secret
    return {"Runflow-Signature": signature(key, delivery.body), "Runflow-Request-Id": delivery.id}


def record(delivery: Delivery) -> dict[str, Any]:
    """ASSUMPTION: a delivery as ``GET /v1/runs/{id}/callback`` lists it (undocumented)."""
    last = delivery.attempts[-1] if delivery.attempts else None
    # A dropped delivery is the provider's belief: it went out.
    status = "delivered" if delivery.state == "dropped" else delivery.state
    return {
        "id": delivery.id,
        "event": delivery.event,
        "url": delivery.url,
        "status": status,
        "attempts": delivery.tries,
        "response_status": last.status if last else None,
        "created_at": iso(delivery.created, z=False),
        "last_attempt_at": iso(last.at, z=False) if last else None,
    }
