"""Fault profiles: how often an emulator misbehaves, and in which ways.

A ``Faults`` profile holds one probability per kind of fault. For each request an
emulator is allowed to spoil, it draws at most one of the *exclusive* kinds
(those that replace or lose the response), and independently whether to delay
the response and whether to garble the run objects in it.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Literal

import attrs
import orjson

FaultKind = Literal[
    "rate_limited",
    "rate_limited_bare",
    "server_error",
    "reset_before",
    "reset_after",
    "truncated",
    "malformed",
    "slow",
    "unknown_status",
    "missing_fields",
]

EXCLUSIVE: tuple[FaultKind, ...] = (
    "rate_limited",
    "rate_limited_bare",
    "server_error",
    "reset_before",
    "reset_after",
    "truncated",
    "malformed",
)
"""Kinds that replace or lose the response; at most one of them hits a request."""

INDEPENDENT: tuple[FaultKind, ...] = ("slow", "unknown_status", "missing_fields")
"""Kinds drawn on their own, so they may hit a request together with another."""

KINDS: tuple[FaultKind, ...] = EXCLUSIVE + INDEPENDENT
"""Every fault kind, in the order a request's draws are made."""

SERVER_ERRORS = (500, 502, 503)
"""Statuses a ``server_error`` fault answers with, one picked at random."""

MALFORMED_BODY = b"{\"status\": ok, 'items': [1, 2,]"
"""What a ``malformed`` fault sends instead of a success body: not JSON."""

_MIXED_SPLIT: dict[FaultKind, float] = {
    "rate_limited": 0.15,
    "rate_limited_bare": 0.05,
    "server_error": 0.20,
    "reset_before": 0.10,
    "reset_after": 0.10,
    "truncated": 0.05,
    "malformed": 0.05,
    "slow": 0.10,
    "unknown_status": 0.10,
    "missing_fields": 0.10,
}


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{attribute.name} must be a number, not {type(value).__name__}")
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise ValueError(f"{attribute.name} must be a probability from 0 to 1, got {value!r}")


def _methods(value: Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    return frozenset(method.upper() for method in value)


def _pattern(instance: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"paths is not a regular expression: {exc}") from None


@attrs.frozen(kw_only=True)
class Faults:
    """How often an emulator injects each kind of fault: probabilities from 0 to 1.

    ``rate_limited`` answers 429 with ``Retry-After: 0``, ``rate_limited_bare``
    429 without it, ``server_error`` one of ``server_statuses`` (500, 502 or 503 by
    default). ``reset_before`` drops the
    connection before the request is handled (nothing changes server-side);
    ``reset_after`` handles it, keeps the change, and drops the connection
    instead of answering. ``truncated`` cuts a success body short and
    ``malformed`` replaces it with text that is not JSON. These seven replace
    the response, so at most one hits a request and their rates must add up to
    at most 1. ``slow`` delays the response by ``slow_seconds``;
    ``unknown_status`` gives every run object in a success body a status the
    adapter has never seen and ``missing_fields`` strips its optional fields
    (both need the emulator to declare its run objects). These three are drawn
    independently.

    ``seed`` makes the sequence of faults reproducible for a given sequence of
    requests. ``methods`` (e.g. ``{"GET"}``) and ``paths`` (a regular expression
    searched in the request path) limit which requests may be hit.
    """

    rate_limited: float = attrs.field(default=0.0, validator=_rate)
    rate_limited_bare: float = attrs.field(default=0.0, validator=_rate)
    server_error: float = attrs.field(default=0.0, validator=_rate)
    reset_before: float = attrs.field(default=0.0, validator=_rate)
    reset_after: float = attrs.field(default=0.0, validator=_rate)
    truncated: float = attrs.field(default=0.0, validator=_rate)
    malformed: float = attrs.field(default=0.0, validator=_rate)
    slow: float = attrs.field(default=0.0, validator=_rate)
    unknown_status: float = attrs.field(default=0.0, validator=_rate)
    missing_fields: float = attrs.field(default=0.0, validator=_rate)
    slow_seconds: float = 0.02
    """How long a ``slow`` fault delays the response."""
    server_statuses: tuple[int, ...] = attrs.field(default=SERVER_ERRORS, converter=tuple)
    """The statuses a ``server_error`` fault picks from at random."""
    seed: int | None = None
    """Seed of the random draws; ``None`` draws differently every time."""
    methods: frozenset[str] | None = attrs.field(default=None, converter=_methods)
    """HTTP methods that may be hit; ``None``: all."""
    paths: str | None = attrs.field(default=None, validator=_pattern)
    """Regular expression a request path must contain to be hit; ``None``: all paths."""

    KINDS: ClassVar[tuple[FaultKind, ...]] = KINDS

    def __attrs_post_init__(self) -> None:
        if not self.server_statuses or not all(
            isinstance(s, int) and 500 <= s <= 599 for s in self.server_statuses
        ):
            raise ValueError(f"server_statuses must be 5xx statuses, not {self.server_statuses}")
        if not (isinstance(self.slow_seconds, int | float) and 0 <= self.slow_seconds < math.inf):
            raise ValueError(f"slow_seconds must be a non-negative number, not {self.slow_seconds}")
        total = sum(self.rate(kind) for kind in EXCLUSIVE)
        if total > 1.0 + 1e-9:
            raise ValueError(
                f"the rates of {', '.join(EXCLUSIVE)} add up to {total:g}; "
                "at most one of them can hit a request, so their sum must be at most 1"
            )

    @classmethod
    def none(cls) -> Faults:
        """A profile that injects nothing."""
        return cls()

    @classmethod
    def mixed(cls, total: float = 0.2, *, seed: int | None = None) -> Faults:
        """``total`` spread over every kind (a chaos profile for clients' retry logic).

        The split, in shares of ``total``: ``server_error`` 20%, ``rate_limited``
        15%, ``reset_before``, ``reset_after``, ``slow``, ``unknown_status`` and
        ``missing_fields`` 10% each, ``rate_limited_bare``, ``truncated`` and
        ``malformed`` 5% each.
        """
        if isinstance(total, bool) or not isinstance(total, int | float):
            raise TypeError(f"total must be a number, not {type(total).__name__}")
        if not 0.0 <= total <= 1.0:
            raise ValueError(f"total must be a probability from 0 to 1, got {total!r}")
        rates: dict[str, Any] = {kind: total * share for kind, share in _MIXED_SPLIT.items()}
        return cls(seed=seed, **rates)

    def rate(self, kind: FaultKind) -> float:
        """The probability of ``kind``."""
        value: float = getattr(self, kind)
        return value

    @property
    def active(self) -> bool:
        """Whether any kind has a rate above zero."""
        return any(self.rate(kind) > 0 for kind in KINDS)

    def covers(self, method: str, path: str) -> bool:
        """Whether a request to ``method path`` may be hit under ``methods`` and ``paths``."""
        if self.methods is not None and method.upper() not in self.methods:
            return False
        return self.paths is None or re.search(self.paths, path) is not None

    def draw(self, rng: random.Random) -> list[FaultKind]:
        """The kinds that hit one request; always consumes the same number of draws."""
        chosen: list[FaultKind] = []
        roll, edge = rng.random(), 0.0
        for kind in EXCLUSIVE:
            edge += self.rate(kind)
            if roll < edge:
                chosen.append(kind)
                break
        for kind in INDEPENDENT:
            if rng.random() < self.rate(kind):
                chosen.append(kind)
        return chosen


def truncate(body: bytes) -> bytes | None:
    """``body`` cut short so that it is no longer JSON, ``None`` if cutting cannot do that."""
    for size in (len(body) // 2, len(body) - 1):
        if size < 1:
            continue
        cut = body[:size]
        try:
            orjson.loads(cut)
        except orjson.JSONDecodeError:
            return cut
    return None


def walk_runs(
    value: Any, is_run: Callable[[dict[str, Any]], bool], visit: Callable[[dict[str, Any]], None]
) -> int:
    """Call ``visit`` on every run object in decoded JSON ``value``; return how many.

    Objects inside a run object are not searched: runs do not nest.
    """
    if isinstance(value, dict):
        if is_run(value):
            visit(value)
            return 1
        return sum(walk_runs(item, is_run, visit) for item in value.values())
    if isinstance(value, list):
        return sum(walk_runs(item, is_run, visit) for item in value)
    return 0
