"""The provider options each operation takes, as data the core checks before any request.

Each option is a field of the request body Cyberdesk documents for the
operation (SDK 2.2.69); its type is what that field takes as JSON. UUID fields
take a ``uuid.UUID`` too, which is sent as its string.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from runbridge.adapter import Option, Options

_UUID = (str, UUID)
_LIST = (list, tuple)

_PLACEMENT = {
    "is_priority": Option(bool, "assign an eligible machine to this run first"),
    "machine_id": Option(_UUID, "the machine to run on"),
    "pool_ids": Option(_LIST, "pools the machine must belong to (all of them)"),
    "session_id": Option(_UUID, "an existing session to join"),
    "start_session": Option(bool, "start a session on the run's machine"),
}
"""Where runs go: the options ``RunCreate``, ``RunBulkCreate`` and ``RunRetry`` share."""

_SESSION = {
    "session_alias": Option(str, "persist outputs under this alias in the session"),
    "release_session_after": Option(bool, "release the session after the run succeeds"),
}

CREATE_OPTIONS = Options(
    {
        **_PLACEMENT,
        **_SESSION,
        "main_prompt": Option(str, "a prompt that replaces the workflow's for this run"),
        "main_agent_model_id": Option(_UUID, "the main agent model for this run"),
        "model_metadata": Option(Mapping, "model configuration for this run"),
    },
    canonical={
        "workflow_id": "RunRequest.target",
        "input_values": "RunRequest.inputs",
        "sensitive_input_values": "RunRequest.secrets",
        "file_inputs": "RunRequest.files",
    },
)
"""``RunCreate`` fields a ``RunRequest`` may carry in ``options``."""

BULK_FIELDS = frozenset(_PLACEMENT) | {
    "workflow_id",
    "input_values",
    "file_inputs",
    "sensitive_input_values",
}
"""Every field of a create body that ``RunBulkCreate`` also takes (besides ``count``)."""

UPDATE_OPTIONS = Options(
    {
        "output_attachment_ids": Option(_LIST, "ids of the run's output attachments"),
        "run_message_history": Option(_LIST, "the run's message objects"),
        "usage_metadata": Option(Mapping, "free-form usage metadata (the run's cost)"),
        "post_run_checks": Option(_LIST, "post-run check snapshots"),
        "release_session_after": _SESSION["release_session_after"],
    },
    canonical={
        "status": "RunUpdate.status",
        "output_data": "RunUpdate.outputs",
        "input_values": "RunUpdate.inputs",
        "error": "RunUpdate.failure",
        "started_at": "RunUpdate.started_at",
        "ended_at": "RunUpdate.finished_at",
    },
)
"""``RunUpdate`` fields without a canonical counterpart, passed through from ``options``."""

UPDATE_FIELDS = frozenset({"status", "outputs", "inputs", "failure", "started_at", "finished_at"})
"""Canonical ``RunUpdate`` fields Cyberdesk runs have: no cost and no progress."""

RETRY_ALIASES = {
    "inputs": "input_values",
    "secrets": "sensitive_input_values",
    "files": "file_inputs",
}
"""Canonical spellings ``retry`` also takes, and the ``RunRetry`` field each fills."""

RETRY_OPTIONS = Options(
    {
        **_PLACEMENT,
        **_SESSION,
        "reuse_session": Option(bool, "keep the run's session (the default)"),
        "input_values": Option(Mapping, "new input values"),
        "inputs": Option(Mapping, "new input values"),
        "sensitive_input_values": Option(Mapping, "new sensitive inputs, vaulted"),
        "secrets": Option(Mapping, "new sensitive inputs, vaulted"),
        "file_inputs": Option(_LIST, "new FileInput objects, replacing the run's files"),
        "files": Option(_LIST, "new runbridge.File objects, replacing the run's files"),
    }
)
"""``RunRetry`` fields ``retry`` passes through, and their canonical spellings."""

FILE_OPTIONS = Options(
    {
        "target_path": Option(str, "where on the machine (default ~/CyberdeskTransfers/)"),
        "cleanup_imports_after_run": Option(bool, "delete the file after the run"),
    }
)
"""``FileInput`` fields a ``File`` may carry in ``options``."""
