"""What the emulator stores: runs, attachments and the requests it has seen."""

from __future__ import annotations

from typing import Any

import attrs

from runbridge.emulation import Timeline

PATCHABLE = (
    "error",
    "output_data",
    "output_attachment_ids",
    "run_message_history",
    "usage_metadata",
    "post_run_checks",
    "started_at",
    "ended_at",
)
"""``RunUpdate`` fields stored as given, overriding what the lifecycle would show."""

CLEARED_BY_RETRY = (
    "error",
    "output_data",
    "output_attachment_ids",
    "run_message_history",
    "post_run_checks",
    "started_at",
    "ended_at",
)
"""Patched fields a retry forgets: outputs, history and the previous attempt's story."""

BASE_FIELDS = ("id", "workflow_id", "machine_id", "status", "created_at")
"""Fields every run has in a list, whatever the ``fields`` projection asks for."""

OPTIONAL_FIELDS = frozenset(
    {
        "user_id",
        "organization_id",
        "is_priority",
        "error",
        "output_data",
        "input_attachment_ids",
        "output_attachment_ids",
        "run_message_history",
        "input_values",
        "main_prompt",
        "model_metadata",
        "pool_ids",
        "sensitive_input_aliases",
        "usage_metadata",
        "post_run_checks",
        "session_id",
        "session_alias",
        "release_session_after",
        "started_at",
        "ended_at",
    }
)
"""``RunResponse`` fields that are not required: all but ``BASE_FIELDS`` (whose
``machine_id`` key is required, its value nullable)."""


@attrs.define
class EmulatedRun:
    """One run as the emulator keeps it; its status comes from ``timeline`` and patches."""

    id: str
    workflow_id: str
    timeline: Timeline
    seq: int
    input_values: dict[str, Any] | None = None
    machine_id: str | None = None
    pool_ids: list[str] | None = None
    session_id: str | None = None
    session_alias: str | None = None
    release_session_after: bool | None = None
    is_priority: bool = False
    main_prompt: str | None = None
    model_metadata: dict[str, Any] | None = None
    sensitive_input_aliases: dict[str, str] | None = None
    input_attachment_ids: list[str] | None = None
    pinned: str | None = None
    """A non-terminal status set by ``PATCH``; the clock no longer moves the run."""
    patched: dict[str, Any] = attrs.field(factory=dict)
    """Fields set by ``PATCH`` (``PATCHABLE``), shown instead of the lifecycle's."""


@attrs.frozen
class Attachment:
    """An input file handed to a run."""

    id: str
    run_id: str
    filename: str
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")
    target_path: str | None = None
    cleanup_imports_after_run: bool = False


@attrs.frozen
class Seen:
    """A request as the emulator received it (sensitive values masked)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    idempotency_key: str | None
    body: Any

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        return next((v for k, v in self.query if k == name), None)
