"""What the Runflow docs say, restated for the emulator (never imported from the adapter).

Sources are the provider facts (``runflow.md``) and the reference payload of
``PATCH /v1/runs/{id}``. Everything marked ASSUMPTION is not documented; it is
the emulator's plausible choice, and the provider doc lists it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from runbridge.emulation import NativeStatuses

STATUSES = NativeStatuses(
    pending=("queued", "dispatching"),
    running=("running",),
    succeeded="succeeded",
    failed={"task": "failed", "system": "failed", "timeout": "failed"},
    cancelled="canceled",
    extra={"partial_succeeded": "succeeded"},
)
"""``status_code`` values of ``/concepts/runs``: ``canceled`` with one l; every failure
kind is ``failed`` (the kind shows in ``failure_code``/``failure_stage_code``)."""

SUCCEEDED = frozenset({"succeeded", "partial_succeeded"})
"""Statuses whose run has outputs and a cost."""

RUN_FIELDS = (
    # GET /v1/runs/{id} and the PATCH reference, in the reference payload's order.
    "id", "flow_id", "model_id", "comfyui_workflow_id", "target_type", "target_version",
    "org_id", "status_code", "source_code", "input", "output", "context", "duration_ms",
    "cost", "nodes_total", "nodes_completed", "jurisdiction_code", "flow_version_id",
    "request_id", "created_by", "created_at", "started_at", "completed_at", "callback_url",
    "metadata", "has_logs", "has_node_runs", "links", "node_runs", "logs", "flow", "model",
    # The newer reference pages (search-runs, create-and-dispatch-a-singleton-model-run).
    "cost_breakdown", "resolved_template_id", "batch_id", "client_ref", "failure_code",
    "failure_message", "failure_stage_code", "feedback_is_positive", "feedback_reason",
    "source_chat_message_id", "current_evaluation_summary",
)  # fmt: skip
"""Every documented field of a run record; the emulator serves exactly these."""

FAILURE_FIELDS = ("failure_code", "failure_message", "failure_stage_code")
"""Failure fields of the newer reference pages; the get-run page has none of them."""

NODE_RUN_FIELDS = (
    "id", "run_id", "node_id", "flow_id", "state_code", "input", "output", "input_signature",
    "preview_type", "preview_value", "duration_ms", "cost", "retry_count", "error_message",
    "created_at", "started_at", "completed_at",
)  # fmt: skip
"""Fields of ``node_runs[]`` (all nullable)."""

LOG_FIELDS = ("id", "run_id", "level_code", "message", "timestamp", "meta", "run")
"""Fields of ``logs[]``; ``run`` is ``null`` when embedded."""

OPTIONAL_FIELDS = frozenset(RUN_FIELDS) - {
    "id", "status_code", "created_at", "target_type", "model_id", "comfyui_workflow_id",
    "flow_id", "org_id", "model", "flow",
}  # fmt: skip
"""Fields a ``missing_fields`` fault may drop: every field is nullable in the API, but
the id, status, creation time and what names the target stay."""

TARGET_TYPES = {"models": "model", "comfyui-workflows": "comfyui_workflow"}
"""``target_type`` per kind: ``model`` is documented; ``comfyui_workflow`` is an ASSUMPTION."""

FAILURES = {
    "task": ("MODEL_ERROR", "execution", "the model failed on this input"),
    "system": ("DISPATCH_FAILED", "dispatch", "the execution provider could not be reached"),
    "timeout": ("TIMEOUT", "execution", "the run exceeded its time limit"),
}
"""``failure_code``, ``failure_stage_code``, ``failure_message`` per failure kind.
ASSUMPTION: the docs give only the stage example ``dispatch``; the codes are invented."""

DOCUMENTED_CODES: Mapping[int, str] = {
    401: "UNAUTHORIZED",
    402: "INSUFFICIENT_CREDIT",
    403: "PERMISSION_DENIED",
    404: "RUN_NOT_FOUND",
    409: "CONFLICT",
    429: "RATE_LIMITED",
}
"""Error ``code`` per status where the docs name one (``/concepts/errors``)."""

ASSUMED_CODES: Mapping[int, str] = {
    400: "BAD_REQUEST",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
"""ASSUMPTION: codes for statuses the docs give none for (other 4xx ``BAD_REQUEST``,
other 5xx ``INTERNAL_ERROR``), and ``NOT_FOUND``, ``MODEL_NOT_FOUND``,
``BATCH_NOT_FOUND`` for what is not a run."""

QUERY_FIELDS = frozenset(
    {
        "id", "status_code", "target_type", "model_id", "comfyui_workflow_id", "flow_id",
        "org_id", "batch_id", "client_ref", "source_code", "request_id",
    }
)  # fmt: skip
"""ASSUMPTION: the fields ``q`` may filter on (the docs give ``status_code`` only, by
example). The ``query_fields`` option narrows them."""

DEFAULT_LIMIT = 50
"""ASSUMPTION: the page size when ``limit`` is not given (1-500 is documented)."""

MAX_LIMIT = 500

SORTS = ("created_at:desc", "created_at:asc")
"""``sort_by`` values served; the first is the (assumed) default."""

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def uuid_text(text: str) -> str | None:
    """``text`` as a lower-case UUID, or ``None`` (path ids are ``string<uuid>``)."""
    return text.lower() if _UUID.fullmatch(text) else None


def split_name(kind: str, name: str) -> tuple[str, str] | None:
    """``(owner, slug)`` of a model (``owner/slug[/more...]``) or workflow (``owner/slug``).

    Model paths may be deeper than two segments (``/concepts/runs``); a workflow
    path is ``{owner}/{slug}``.
    """
    parts = name.split("/")
    if not all(_SEGMENT.fullmatch(p) and p.strip(".") for p in parts):
        return None
    if (kind == "models" and len(parts) >= 2) or (kind == "comfyui-workflows" and len(parts) == 2):
        return parts[0], "/".join(parts[1:])
    return None
