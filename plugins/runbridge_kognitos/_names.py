"""Run names: the caller's, sent unchanged, or a generated one that carries a client token.

Kognitos has no idempotency key and keeps no free text of ours besides the run
name. A name the caller chose is theirs: it goes out as given, and the lost-create
lookup matches it exactly. Only when the caller gives none does runbridge name the
run, ``runbridge <process_id> <UTC time> ~rb:<token>``, so the lookup can match
the token.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

NAME_LIMIT = 100
"""Longest run name the provider accepts."""

_GENERATED = re.compile(
    r"(?P<readable>runbridge [a-zA-Z0-9_-]{1,26} \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"
    r" ~rb:(?P<token>[0-9a-f]{16})"
)
"""A name ``generated_name`` made; its longest form is 78 characters, within the limit."""


def default_name(process_id: str, now: datetime | None = None) -> str:
    """A readable run name for callers who give none: process id and UTC start time."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"runbridge {process_id} {stamp}"


def generated_name(process_id: str, token: str, now: datetime | None = None) -> str:
    """The default name with the client token at its end."""
    return f"{default_name(process_id, now)} ~rb:{token}"


def parse_generated(name: object) -> tuple[str, str] | None:
    """``(readable name, token)`` of a name ``generated_name`` made, else ``None``."""
    match = _GENERATED.fullmatch(name) if isinstance(name, str) else None
    return (match["readable"], match["token"]) if match else None


def display_name(name: str) -> str:
    """The name to show: a generated name without its token, any other name as it is."""
    if " ~rb:" not in name:  # a name of the caller's own: no pattern to run
        return name
    match = _GENERATED.fullmatch(name)
    return match["readable"] if match else name
