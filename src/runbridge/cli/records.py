"""The JSON objects the command line prints: runs and providers, one compact line each."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from runbridge import OPERATIONS, BulkError, PluginInfo, ProviderInfo, Run
from runbridge.adapter import format_timestamp


def iso(value: datetime | None) -> str | None:
    """A timestamp as the command line prints it (UTC, ``Z``); ``None`` stays ``None``."""
    return None if value is None else format_timestamp(value)


def run_to_dict(run: Run) -> dict[str, Any]:
    """A run as the JSON object the command line prints (``raw`` is never included)."""
    failure = run.failure
    progress = run.progress
    return {
        "ref": str(run.ref),
        "provider": run.provider,
        "id": run.id,
        "status": run.status.value,
        "native_status": run.native_status,
        "target": run.target,
        "name": run.name,
        "inputs": dict(run.inputs),
        "outputs": None if run.outputs is None else dict(run.outputs),
        "failure": None
        if failure is None
        else {"kind": failure.kind, "message": failure.message, "code": failure.code},
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration": run.duration,
        "cost": None if run.cost is None else str(run.cost),
        "progress": None
        if progress is None
        else {"completed": progress.completed, "total": progress.total},
        "hold": None if run.hold is None else {"kind": run.hold.kind, "reason": run.hold.reason},
    }


def provider_to_dict(info: ProviderInfo) -> dict[str, Any]:
    """A provider's capabilities as the JSON object ``runbridge providers --json`` prints."""
    caps = info.capabilities
    return {
        "provider": info.name,
        "plugin": info.plugin,
        "pagination": caps.pagination.value,
        "max_page_size": caps.max_page_size,
        "max_batch": caps.max_batch,
        "filters": sorted(caps.filters),
        "secrets": caps.secrets,
        "id_format": info.id_format.name,
        "operations": {op: caps.support(op).value for op in OPERATIONS},
        "reports": sorted(caps.reports),
        "notes": dict(caps.notes),
    }


def plugin_to_dict(info: PluginInfo) -> dict[str, Any]:
    """A plugin as the JSON object ``runbridge plugins --json`` prints; ``entry_point`` is
    ``None`` for a plugin registered by hand."""
    return {
        "plugin": info.name,
        "distribution": info.distribution,
        "version": info.version,
        "providers": list(info.providers),
        "entry_point": info.entry_point,
        "builtin": info.builtin,
    }


def bulk_error_to_dict(error: BulkError) -> dict[str, Any]:
    """A request of a bulk create that produced no run, by its index."""
    kind = type(error.error).__name__ if error.error is not None else "Error"
    record: dict[str, Any] = {
        "index": error.index,
        "error": {"type": kind, "message": error.message},
    }
    if error.token is not None:  # the run may exist: resolve it by this token
        record["token"] = error.token
    return record


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, Decimal) and value.is_finite():  # an exact number: 1.50 stays 1.50
        return orjson.Fragment(str(value).encode())
    return str(value)


def dumps(value: Any) -> str:
    """Compact JSON, one line; values JSON has no type for are written as text."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()
