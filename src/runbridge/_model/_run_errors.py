"""The errors that carry runs or statuses: they sit above the canonical model, the rest
of the hierarchy (``_errors``) below it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import RunbridgeError

if TYPE_CHECKING:
    from datetime import datetime

    from ._canonical import Run, RunStatus


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
