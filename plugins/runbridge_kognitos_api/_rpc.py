"""``rpcStatus`` error bodies: gRPC codes, by number or name, and the field at fault."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import runbridge
from runbridge.adapter import ErrorInfo, ErrorMap

CODES = {
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}
"""gRPC status codes by number; ``rpcStatus.code`` carries the number."""

ERRORS = ErrorMap(
    codes={
        "INVALID_ARGUMENT": runbridge.InvalidRequest,
        "OUT_OF_RANGE": runbridge.InvalidRequest,
        "FAILED_PRECONDITION": runbridge.Conflict,
        "ALREADY_EXISTS": runbridge.Conflict,
        "ABORTED": runbridge.Conflict,
        "NOT_FOUND": runbridge.NotFound,
        "UNAUTHENTICATED": runbridge.AuthError,
        "PERMISSION_DENIED": runbridge.AuthError,
        "RESOURCE_EXHAUSTED": runbridge.RateLimited,
        "UNAVAILABLE": runbridge.ProviderUnavailable,
        "DEADLINE_EXCEEDED": runbridge.ProviderUnavailable,
        "CANCELLED": runbridge.ProviderUnavailable,
        "INTERNAL": runbridge.ProviderUnavailable,
    }
)
"""The error each gRPC code means, whatever HTTP status carries it: the spec declares
none (ASSUMPTION: the usual gateway mapping), so the code decides."""

_FIELDS = {"stage": "target", "page_token": "cursor", "filter": "created_after"}
"""Request fields as the canonical names callers use."""


def code_name(code: object) -> str | None:
    """The gRPC code's name, from a number, a numeric string or a name."""
    if isinstance(code, bool):
        return None
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if isinstance(code, int):
        return CODES.get(code)
    if isinstance(code, str) and code.upper() in CODES.values():
        return code.upper()
    return None


def _field(details: object) -> str | None:
    # google.rpc.BadRequest lists field_violations (fieldViolations in camelCase).
    for detail in details if isinstance(details, list) else ():
        if not isinstance(detail, Mapping):
            continue
        violations = detail.get("field_violations") or detail.get("fieldViolations")
        for violation in violations if isinstance(violations, list) else ():
            field = violation.get("field") if isinstance(violation, Mapping) else None
            if isinstance(field, str) and field:
                top = field.split(".")[0].split("[")[0]
                return _FIELDS.get(top, top)
    return None


def parse_status(body: Any) -> ErrorInfo | None:
    """What an ``rpcStatus`` body says, or ``None`` when ``body`` is not one."""
    if not isinstance(body, Mapping) or not ({"code", "message"} & body.keys()):
        return None
    message = body.get("message")
    return ErrorInfo(
        message=message if isinstance(message, str) and message else None,
        code=code_name(body.get("code")),
        field=_field(body.get("details")),
    )
