"""Cyberdesk's wire format: the payloads the adapter reads, as msgspec structs.

Only the fields the adapter uses are declared, and responses are decoded from bytes
straight into them; every other key of a payload is skipped, and kept untouched in
``Run.raw`` (decoded only when read).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

import runbridge
from runbridge.adapter import StatusMap

STATUSES = StatusMap(
    {
        "scheduling": runbridge.RunStatus.PENDING,
        "running": runbridge.RunStatus.RUNNING,
        "running_checks": runbridge.RunStatus.RUNNING,
        "success": runbridge.RunStatus.SUCCEEDED,
        "task_failed": runbridge.RunStatus.FAILED,
        "error": runbridge.RunStatus.FAILED,
        "cancelled": runbridge.RunStatus.CANCELLED,
    },
    failures={"task_failed": "task", "error": "system"},
)
"""Every ``RunStatus`` value of the Cyberdesk API and its canonical meaning."""


class WireRun(msgspec.Struct, gc=False):
    """A ``RunResponse`` (or ``RunResponseWithIncludes``), as far as the adapter reads it."""

    id: str
    workflow_id: str
    status: str
    created_at: datetime
    input_values: dict[str, Any] | None = None
    output_data: dict[str, Any] | None = None
    error: list[Any] | str | None = None
    """The spec says ``string[]``; a lone string is read too, so a server that sends one
    still yields a readable failure message."""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    usage_metadata: dict[str, Any] | None = None


class WirePage(msgspec.Struct, gc=False):
    """The list envelope (``PaginatedResponse_RunResponse_``)."""

    items: list[WireRun]
    total: int
    skip: int = 0
    limit: int | None = None


class WireBulk(msgspec.Struct, gc=False):
    """A ``RunBulkCreateResponse``."""

    created_runs: list[WireRun]
    failed_count: int = 0
    errors: list[Any] | str | None = None


def strings(value: list[Any] | str | None) -> tuple[str, ...]:
    """A ``string[]`` field as strings, whatever its items are (``None`` items dropped)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value if item is not None)
