"""Observers: what a client tells those who watch it (tracing, metrics, logs, hooks).

Off by default: a client without observers pays one ``is None`` check per operation
and per attempt. With observers (``connect(..., observers=[...])``, ``RUNBRIDGE_LOG``,
``runbridge.otel``), each is called at these points, with records that never carry a
credential, an input, a client token or a body:

- ``operation_started`` / ``operation_ended``: each client operation (an ``Operation``);
- ``attempt_started`` / ``attempt_ended``: each HTTP attempt (an ``Attempt``), with the
  reason it failed in a way a retry may cure (``429``, ``5xx``, ``connect``, ``timeout``,
  ``reset``, ``garbled``, ``in_progress``);
- ``create_unconfirmed`` / ``create_resolved``: a create whose outcome is unknown, and
  its settling;
- ``claim_taken_over``: a create another process left, taken over to be settled;
- ``event_received``: a run event delivery, accepted or rejected (with the reason);
- ``wait_polled``: each read of a run that ``wait`` or ``watch`` makes.

An observer implements any of these methods, plain or ``async``; one that raises is
logged (``runbridge.observe``) and never breaks the call. An async hook runs as a task
of its own: the call does not wait for it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sized
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

if TYPE_CHECKING:
    from .._model._run import Run

log = logging.getLogger("runbridge.observe")

HOOKS = (
    "operation_started",
    "operation_ended",
    "attempt_started",
    "attempt_ended",
    "create_unconfirmed",
    "create_resolved",
    "claim_taken_over",
    "event_received",
    "wait_polled",
)


@attrs.define(eq=False)
class Operation:
    """One client operation as observers see it: what it is about, and how it ended."""

    provider: str
    operation: str
    target: str | None = None
    run_id: str | None = None
    batch_size: int | None = None
    started: float = attrs.field(factory=time.monotonic)
    """When it started (monotonic clock)."""
    duration: float | None = None
    """Seconds it took, once ended."""
    run: Run | None = None
    """The run it returned, if any."""
    error: BaseException | None = None
    """What it raised, if it did (its message is redacted; it never carries a credential)."""
    state: dict[Any, Any] = attrs.field(factory=dict)
    """Room for each observer's own state (its span, say), keyed as it likes."""

    @property
    def run_ref(self) -> str | None:
        """``provider:id`` of the run it is about."""
        if self.run is not None:
            return str(self.run.ref)
        return f"{self.provider}:{self.run_id}" if self.run_id else None


@attrs.define(eq=False)
class Attempt:
    """One HTTP attempt: never the raw URL (its path template instead), never a body."""

    provider: str
    operation: str
    method: str
    url_template: str
    server_address: str
    server_port: int | None
    resend_count: int = 0
    """Attempts of the same request before this one."""
    started: float = attrs.field(factory=time.monotonic)
    duration: float | None = None
    status: int | None = None
    """The HTTP status answered, if any answer came."""
    retry_reason: str | None = None
    """Why it failed in a way a retry may cure; ``None`` when it did not."""
    error_type: str | None = None
    """The status as text for an error answer, else the failure's class name."""
    state: dict[Any, Any] = attrs.field(factory=dict)


class Observer:
    """A base for observers: every hook, doing nothing. Subclass it and override what you
    want (plain or ``async`` methods), or give ``connect(observers=...)`` any object with
    some of these methods."""

    def operation_started(self, op: Operation) -> Any:
        """A client operation starts."""

    def operation_ended(self, op: Operation) -> Any:
        """It ended: ``op.duration``, and ``op.run`` or ``op.error``."""

    def attempt_started(self, attempt: Attempt) -> Any:
        """An HTTP attempt starts."""

    def attempt_ended(self, attempt: Attempt) -> Any:
        """It ended: ``status``, ``retry_reason``, ``error_type``, ``duration``."""

    def create_unconfirmed(self, provider: str) -> Any:
        """A create's outcome is unknown (``CreateUnconfirmed``)."""

    def create_resolved(self, provider: str, outcome: str) -> Any:
        """``resolve`` settled a create: ``outcome`` is ``run`` or ``none``."""

    def claim_taken_over(self, provider: str, sends: int) -> Any:
        """A create another process left is taken over (it was sent ``sends`` times)."""

    def event_received(self, provider: str, outcome: str) -> Any:
        """A run event delivery: ``accepted``, or ``rejected:<reason>``."""

    def wait_polled(self, provider: str, run: Run) -> Any:
        """``wait`` or ``watch`` read the run."""


class Observers:
    """The observers of one client, called in turn; a failing one is logged and skipped."""

    __slots__ = ("_tasks", "observers")

    def __init__(self, observers: Iterable[object]) -> None:
        self.observers = tuple(observers)
        self._tasks: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return f"<Observers {', '.join(type(o).__name__ for o in self.observers)}>"

    def notify(self, hook: str, *args: Any) -> None:
        """Call ``hook`` on every observer that has it."""
        for observer in self.observers:
            method = getattr(observer, hook, None)
            if method is None:
                continue
            try:
                result = method(*args)
            except Exception as exc:  # an observer never breaks the call
                log.warning("observer %s failed in %s: %s", type(observer).__name__, hook, exc)
                continue
            if inspect.isawaitable(result):
                self._schedule(observer, hook, result)

    def _schedule(self, observer: object, hook: str, result: Any) -> None:
        async def run() -> None:
            try:
                await result
            except Exception as exc:
                log.warning("observer %s failed in %s: %s", type(observer).__name__, hook, exc)

        try:
            task = asyncio.get_running_loop().create_task(run())
        except RuntimeError:  # no loop: an async hook of a sync caller is dropped
            result.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def retry_reason(status: int | None, error: BaseException | None) -> str | None:
    """Why an attempt failed in a way a retry may cure (``None``: it did not)."""
    if status is not None:
        if status == 429:
            return "429"
        if status >= 500:
            return "5xx"
        if status == 408:
            return "timeout"
        if status == 409:
            return "in_progress"
        return None
    if error is None:
        return None
    from .._model._errors import ProviderUnavailable, ResponseError

    if isinstance(error, ProviderUnavailable):
        if error.delivered is False:
            return "connect"
        return "timeout" if "Timeout" in error.message else "reset"
    if isinstance(error, ResponseError):
        return "garbled"
    return None


def error_type(status: int | None, error: BaseException | None) -> str | None:
    """``error.type`` as OpenTelemetry's HTTP conventions spell it."""
    if status is not None and status >= 400:
        return str(status)
    if error is not None:
        return type(error).__name__
    return None


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def observed(name: str, about: str | None = None) -> Callable[[F], F]:
    """Make a client method an observed operation called ``name``.

    ``about`` says where the operation's subject is: ``"run"`` (the first argument is a
    run), ``"request"`` (a request or target), ``"batch"`` (requests), ``"filters"``
    (a listing's filters). Without observers the method is called as is.
    """

    def wrap(method: F) -> F:
        @functools.wraps(method)
        async def operation(self: Any, *args: Any, **kwargs: Any) -> Any:
            observers: Observers | None = self._observers
            if observers is None:
                return await method(self, *args, **kwargs)
            op = Operation(self.provider, name)
            _describe(self, op, about, args)
            observers.notify("operation_started", op)
            try:
                result = await method(self, *args, **kwargs)
            except BaseException as exc:
                op.error = exc
                raise
            else:
                _outcome(op, result)
                return result
            finally:
                op.duration = time.monotonic() - op.started
                observers.notify("operation_ended", op)

        return cast(F, operation)

    return wrap


def _describe(client: Any, op: Operation, about: str | None, args: tuple[Any, ...]) -> None:
    """What the operation is about, read off its arguments without ever failing."""
    subject = args[0] if args else None
    try:
        if about == "run" and subject is not None:
            op.run_id = client.ref(subject).id
        elif about == "request" and subject is not None:
            target = subject if isinstance(subject, str) else getattr(subject, "target", None)
            op.target = client.target(target) if isinstance(target, str) else None
        elif about == "batch" and isinstance(subject, Sized):
            op.batch_size = len(subject)
        elif about == "filters" and subject is not None:
            op.target = getattr(subject, "target", None)
    except Exception:  # a bad argument is the operation's to report, not ours
        return


def _outcome(op: Operation, result: Any) -> None:
    from .._model._run import BulkResult, Page, Run

    if isinstance(result, Run):
        op.run = result
        op.run_id = result.id
        op.target = op.target or result.target
    elif isinstance(result, BulkResult):
        op.batch_size = result.requested
    elif isinstance(result, tuple) and result and isinstance(result[0], Page):
        op.batch_size = len(result[0].items)
