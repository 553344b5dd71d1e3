"""Reading a provider's event delivery: size, then signature, then the payload.

``RunClient.parse_event`` checks that the client can take events at all and
hands the delivery here. Nothing in a delivery is read before its size and its
signature pass; a delivery that fails raises ``EventRejected`` naming why. The event's
``replay_key`` is the one ``verify_event`` named (``VerifiedId``), else a digest of the
signed body: never an id the signature does not cover.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import attrs

from .._model._errors import ResponseError
from .._model._events import EventRejected, RunEvent, VerifiedId, body_replay_key
from .._plugins._adapter import Adapter
from .._wire._call import Call


def read_event(
    adapter: Adapter,
    call: Call,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Sequence[str],
    max_bytes: int,
    now: float | None,
    tolerance: float,
) -> RunEvent:
    """The run event in a delivery, once its size and signature are checked."""
    provider = adapter.name
    if len(body) > max_bytes:
        raise EventRejected(
            f"delivery of {len(body)} bytes is over the {max_bytes}-byte cap",
            reason="too_large",
            provider=provider,
            operation="event",
        )
    event_id = adapter.verify_event(
        headers,
        body,
        secrets,
        now=time.time() if now is None else now,
        tolerance=tolerance,
    )
    try:
        import orjson

        payload = orjson.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise EventRejected(
            "delivery is signed but its body is not a JSON object",
            reason="malformed",
            provider=provider,
            operation="event",
        )
    replay_key = ""
    if isinstance(event_id, VerifiedId):
        replay_key, event_id = event_id.replay_key, str(event_id)  # the event gets a plain id
    # An adapter written before ``VerifiedId`` returns a plain id, which may be unsigned.
    replay_key = replay_key or body_replay_key(body)
    try:
        event = adapter.event_from(call, payload, event_id)
    except ResponseError as exc:
        raise EventRejected(
            f"delivery is signed but not a run event: {exc.message}",
            reason="malformed",
            provider=provider,
            operation="event",
            body=exc.body,
        ) from None
    return attrs.evolve(event, replay_key=replay_key)
