"""Errors as the API sends them: ``rpcStatus`` bodies with a numeric gRPC code.

The spec declares only ``default: rpcStatus`` for every operation; the HTTP status
of each code is the provider facts' ASSUMPTION, the usual gRPC-to-HTTP mapping.
"""

from __future__ import annotations

from typing import Any, Literal

Code = Literal[
    "INVALID_ARGUMENT",
    "FAILED_PRECONDITION",
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "ABORTED",
    "RESOURCE_EXHAUSTED",
    "UNAVAILABLE",
    "INTERNAL",
    "UNIMPLEMENTED",
    "DEADLINE_EXCEEDED",
    "UNKNOWN",
]

NUMBERS: dict[str, int] = {
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "UNIMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "UNAUTHENTICATED": 16,
}
"""The gRPC codes the emulator sends, by name (``rpcStatus.code`` is the number)."""

HTTP: dict[str, int] = {
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "UNAUTHENTICATED": 401,
}
"""The HTTP status of each code (ASSUMPTION of the provider facts)."""

_FOR_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class RpcError(Exception):
    """A request the service refuses: answered with an ``rpcStatus`` of ``code``."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code: Code = code
        self.message = message

    @property
    def status(self) -> int:
        """The HTTP status the code is sent with."""
        return HTTP[self.code]


def code_number(status: int, code: str | None = None) -> int:
    """The numeric gRPC code for ``code`` (a name or a number), else the one closest to
    the HTTP ``status`` (a 4xx without its own code reads as INVALID_ARGUMENT, a 5xx as
    INTERNAL)."""
    if code is not None:
        if code in NUMBERS:
            return NUMBERS[code]
        if code.isdigit():
            return int(code)
    name = _FOR_STATUS.get(status)
    if name is None:
        name = "INTERNAL" if status >= 500 else "INVALID_ARGUMENT"
    return NUMBERS[name]


def rpc_status(status: int, message: str, *, code: str | None = None, details: Any = None) -> Any:
    """``rpcStatus``: ``{code, message, details}``, ``details`` a list of ``protobufAny``."""
    return {
        "code": code_number(status, code),
        "message": message,
        "details": details if isinstance(details, list) else [],
    }
