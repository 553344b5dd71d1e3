"""``ClientOptions``: the tuning of a client's HTTP behaviour, every value checked."""

from __future__ import annotations

import math
from typing import Any

import attrs

from .._model._errors import ConfigError
from ._retry import RetryPolicy


def _seconds(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and number > 0):
        raise ConfigError(
            f"{attribute.name} must be a finite number of seconds above zero, not {value!r:.40}",
            field=attribute.name,
        )


def _count(minimum: int) -> Any:
    def check(_: object, attribute: attrs.Attribute[int], value: object) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ConfigError(
                f"{attribute.name} must be an integer of at least {minimum}, not {value!r:.40}",
                field=attribute.name,
            )

    return check


def _retry_policy(_: object, attribute: attrs.Attribute[RetryPolicy], value: object) -> None:
    if not isinstance(value, RetryPolicy):
        raise ConfigError(
            f"retry must be a runbridge.RetryPolicy, not {type(value).__name__}", field="retry"
        )


def _rate(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        from ._throttle import parse_rate

        parse_rate(value, field=attribute.name)  # type: ignore[arg-type]


def _optional_count(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigError(
            f"{attribute.name} must be a whole number of at least 1, or None, not {value!r:.40}",
            field=attribute.name,
        )


def _optional_seconds(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else -1.0
    if not (math.isfinite(number) and number >= 0):
        raise ConfigError(
            f"{attribute.name} must be a finite number of seconds, zero or more, or None, "
            f"not {value!r:.40}",
            field=attribute.name,
        )


def _flag(_: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(
            f"{attribute.name} must be True or False, not {value!r:.40}", field=attribute.name
        )


@attrs.frozen(kw_only=True)
class ClientOptions:
    """Tuning of a client's HTTP behaviour; every field has a production default.

    Every value is checked here: a wrong one raises ``ConfigError`` naming it.
    """

    timeout: float = attrs.field(default=30.0, validator=_seconds)
    """Seconds one attempt may take, connecting included (never more than the call has left)."""
    connect_timeout: float = attrs.field(default=10.0, validator=_seconds)
    """Seconds to establish a connection."""
    deadline: float = attrs.field(default=120.0, validator=_seconds)
    """Seconds one logical call may take across all its attempts, pauses and lookups."""
    max_connections: int = attrs.field(default=100, validator=_count(1))
    """Connections open at once, across hosts."""
    max_connections_per_host: int = attrs.field(default=0, validator=_count(0))
    """Connections open at once to one host; 0 for no limit beyond ``max_connections``
    (a client talks to one provider host, so the total is usually the limit to set)."""
    max_body_bytes: int = attrs.field(default=32 * 1024 * 1024, validator=_count(1))
    """Largest response body accepted; larger ones raise ``ResponseError``."""
    max_inflight_body_bytes: int = attrs.field(default=64 * 1024 * 1024, validator=_count(1))
    """Bytes of response bodies one client holds at once, across its concurrent calls: a
    body waits for room, and one larger than this raises ``ResponseError``."""
    retry: RetryPolicy = attrs.field(factory=RetryPolicy, validator=_retry_policy)
    """How failed attempts are retried."""
    allow_insecure_http: bool = attrs.field(default=False, validator=_flag)
    """Allow plain ``http://`` to hosts other than loopback."""
    rate: str | None = attrs.field(default=None, validator=_rate)
    """The most requests this client sends, as ``"50/s"`` or ``"3000/min"``; ``None``: no
    limit of its own. With a journal database shared by other processes, the rate holds
    in sum over all of them (see ``docs/scale-out.md``)."""
    max_in_flight: int | None = attrs.field(default=None, validator=_optional_count)
    """The most requests this client has out at once; ``None``: no limit of its own."""
    settle_window: float | None = attrs.field(default=None, validator=_optional_seconds)
    """Seconds after a create was last sent by which a run it made is certainly listed
    (the provider has finished with the request, however slowly): only then may a lookup
    that finds nothing conclude that it made none. ``None``: the provider's own
    (``Adapter.settle_window``, stated per provider in ``docs/providers/``)."""
