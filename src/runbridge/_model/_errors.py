"""The typed error hierarchy every provider's failures are translated into."""

from __future__ import annotations

from typing import Any


class RunbridgeError(Exception):
    """Base of every error runbridge raises.

    Carries the provider and operation it happened in, the HTTP status when there
    was a response, the provider's own error ``code`` when its body gave one, and
    the response body with secrets redacted.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        operation: str | None = None,
        status: int | None = None,
        body: Any = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.operation = operation
        self.status = status
        self.body = body
        self.code = code

    def __str__(self) -> str:
        where = ".".join(p for p in (self.provider, self.operation) if p)
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{where}: {self.message}{status}" if where else f"{self.message}{status}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole (a shard's errors travel back from a Dask worker): the default
        # would call the class with the message alone and lose the keyword arguments.
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[RunbridgeError], message: str, state: dict[str, Any]) -> RunbridgeError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class AuthError(RunbridgeError):
    """The provider refused the credentials (missing, invalid, or not permitted)."""


class NotFound(RunbridgeError):
    """The run (or the target it names) does not exist for these credentials."""


class InvalidRequest(RunbridgeError):
    """Bad input, caught locally or reported by the provider; ``field`` names it."""

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field = field

    def __str__(self) -> str:
        text = super().__str__()
        if self.field and f"'{self.field}'" not in text:
            return f"{text} [field '{self.field}']"
        return text


class ConfigError(InvalidRequest):
    """Client or profile configuration is wrong; ``field`` names the setting."""


class Conflict(RunbridgeError):
    """The provider refused the write because of the run's current state or a key clash."""


class RateLimited(RunbridgeError):
    """The provider throttled the call; ``retry_after`` is in seconds when it said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderUnavailable(RunbridgeError):
    """The provider could not be reached or answered with a server error.

    ``delivered`` is ``False`` when the request certainly never reached the
    provider (no connection could be made), ``None`` when that is unknown.
    """

    def __init__(self, message: str, *, delivered: bool | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.delivered = delivered


class TLSError(RunbridgeError):
    """The provider's TLS certificate could not be verified: a configuration or security
    problem, never retried."""


class UnsupportedOperation(RunbridgeError):
    """The provider has no such operation and the core cannot emulate it."""


class ResponseError(RunbridgeError):
    """The provider answered something runbridge cannot understand."""


class PluginError(RunbridgeError):
    """An adapter plugin failed to load or registered a clashing name."""

    def __init__(self, message: str, *, plugin: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.plugin = plugin


class JournalError(RunbridgeError):
    """The create journal cannot be used: ``store`` names it (a file, or a database
    without its password) and ``reason`` says what is wrong: ``locked``, ``corrupt``,
    ``read-only``, ``unwritable``, ``unreachable``, ``schema`` or ``closed``."""

    def __init__(self, message: str, *, store: str, reason: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.store = store
        self.reason = reason
