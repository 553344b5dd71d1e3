"""Cyberdesk's wire format: the payloads the adapter reads, and the one converter for them.

Only the fields the adapter uses are declared; every other key of a payload is
ignored when structuring and kept untouched in ``Run.raw``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

import runbridge
from runbridge.adapter import StatusMap, make_converter

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


@attrs.frozen
class WireRun:
    """A ``RunResponse`` (or ``RunResponseWithIncludes``), as far as the adapter reads it."""

    id: str
    workflow_id: str
    status: str
    created_at: datetime
    input_values: dict[str, Any] | None = None
    output_data: dict[str, Any] | None = None
    error: tuple[str, ...] | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    usage_metadata: dict[str, Any] | None = None


@attrs.frozen
class WirePage:
    """The list envelope; items stay plain mappings so each run keeps its raw payload."""

    items: list[dict[str, Any]]
    total: int
    skip: int = 0
    limit: int | None = None


@attrs.frozen
class WireBulk:
    """A ``RunBulkCreateResponse``."""

    created_runs: list[dict[str, Any]]
    failed_count: int = 0
    errors: tuple[str, ...] | None = None


def _strings(value: object, _: object) -> tuple[str, ...] | None:
    # The spec says ``string[]``; a lone string is accepted too, so a server
    # that sends one still yields a readable failure message.
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value if item is not None)
    raise ValueError(f"expected a list of strings, got {type(value).__name__}")


def _mapping(value: object, _: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    raise ValueError(f"expected an object, got {type(value).__name__}")


def _items(value: object, _: object) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError("expected a list of objects")
    return value


converter = make_converter()
converter.register_structure_hook(tuple[str, ...] | None, _strings)
converter.register_structure_hook(dict[str, Any] | None, _mapping)
converter.register_structure_hook_func(lambda t: t == list[dict[str, Any]], _items)
