"""The typed error hierarchy every provider's failures are translated into."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from ._model import Run, RunStatus


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


class CreateUnconfirmed(RunbridgeError):
    """A create's outcome is unknown: the run may exist, and sending it again could duplicate it.

    ``token`` is the client token the create carried; ``candidates`` holds the
    runs that might be it when the lookup found more than one and would not guess.
    ``settles_at`` (UTC) is when asking ``resolve(token)`` again can settle it: the
    end of the provider's settle window after the last send, or of another
    process's claim on the create; ``None`` when no time can be given.
    """

    def __init__(
        self,
        message: str,
        *,
        token: str,
        candidates: tuple[Run, ...] = (),
        settles_at: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.token = token
        self.candidates = candidates
        self.settles_at = settles_at


class JournalError(RunbridgeError):
    """The create journal cannot be used: ``store`` names it (a file, or a database
    without its password) and ``reason`` says what is wrong: ``locked``, ``corrupt``,
    ``read-only``, ``unwritable``, ``unreachable``, ``schema`` or ``closed``."""

    def __init__(self, message: str, *, store: str, reason: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.store = store
        self.reason = reason


class WaitTimeout(RunbridgeError):
    """``wait`` reached its deadline before the run finished; ``run`` is the last seen
    (``None`` when the provider never answered in time)."""

    def __init__(self, message: str, *, run: Run | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.run = run


class RunHeld(RunbridgeError):
    """``wait`` or ``watch`` met a run that waits for a person or is paused: it will not
    finish on its own. ``run`` is the run as read, ``hold`` its ``Hold`` (kind and
    reason). Act (answer the person's task, ``resume``) and wait again, or pass
    ``on_hold="wait"`` to keep waiting through holds."""

    def __init__(self, message: str, *, run: Run, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.run = run
        self.hold = run.hold


class UnknownStatus(RunbridgeError):
    """``wait`` or ``watch`` read a native status the adapter cannot map for longer than
    the wait's ``unknown_grace``; ``native_status`` names it, ``run`` is the last read."""

    def __init__(self, message: str, *, run: Run, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.run = run
        self.native_status = run.native_status


class IllegalTransition(RunbridgeError):
    """The requested lifecycle move is not allowed from the run's current status."""

    def __init__(
        self, message: str, *, current: RunStatus, requested: RunStatus, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.current = current
        self.requested = requested
