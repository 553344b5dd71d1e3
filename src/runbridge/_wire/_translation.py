"""Error translation: a provider's error response as a typed runbridge error.

Built once per client from its adapter's ``parse_error`` and ``ErrorMap``, so the
layers below never call back into the adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .._model._errors import InvalidRequest, RateLimited, RunbridgeError
from .._model._mapping import ErrorInfo, ErrorMap
from ._http import Response
from ._redact import Redactor
from ._retry import parse_retry_after


@attrs.frozen
class ErrorTranslator:
    """Reads an error body with ``parse_error`` and picks the class from ``errors``."""

    provider: str
    parse_error: Callable[[int, Any], ErrorInfo]
    errors: ErrorMap

    def error(self, response: Response, *, operation: str, redactor: Redactor) -> RunbridgeError:
        """The typed error for ``response``, with secrets redacted from message and body."""
        status = response.status
        # Redact first: adapters may cut messages short, which would hide a secret's
        # prefix from redaction done afterwards.
        body = redactor.body(response.data)
        try:
            info: ErrorInfo | None = self.parse_error(status, body)
        except Exception:  # an unreadable error body must not hide the error itself
            info = None
        code = info.code if info else None
        error_cls = self.errors.error_for(status, code)
        message = (info.message if info else None) or f"provider answered HTTP {status}"
        kwargs: dict[str, Any] = {
            "provider": self.provider,
            "operation": operation,
            "status": status,
            "body": body,
            "code": redactor.text(code) if code else None,
        }
        if issubclass(error_cls, InvalidRequest):
            kwargs["field"] = redactor.text(info.field) if info and info.field else None
        if issubclass(error_cls, RateLimited):
            kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
        if code and code not in message:
            message = f"{message} [{code}]"
        return error_cls(redactor.text(message), **kwargs)
