"""What the emulator stores: runs and the input files handed to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbridge.emulation import Timeline


@dataclass
class EmulatedRun:
    """One run as the emulator keeps it; its status comes from ``timeline``."""

    id: str
    workflow_id: str
    timeline: Timeline
    seq: int
    """Creation order, to break ties between runs created at the same instant."""
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
    patched: dict[str, Any] = field(default_factory=dict)
    """Fields set by ``PATCH`` (``PATCHABLE``), shown instead of the lifecycle's."""


@dataclass(frozen=True)
class Attachment:
    """An input file handed to a run (a ``FileInput`` decoded)."""

    id: str
    run_id: str
    filename: str
    content: bytes = field(repr=False)
    target_path: str | None = None
    cleanup_imports_after_run: bool = False
