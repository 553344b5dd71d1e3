"""What the synchronous API runs on: a process-bound runner that hands each call to a
``LoopThread`` and blocks for its result, the handle every sync object shares, and
``SyncRunIterator``, an async listing driven as a plain iterator.

A runner belongs to the process that made it. In a forked child, its calls raise
``ConfigError`` (connect again there) and ``close()`` lets go without closing
anything: the sessions, sockets and journal it holds are still the parent's.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from .._model._errors import ConfigError
from .._model._run import Page, Run
from .._wire._pagination import RunIterator
from ._loop_thread import LoopThread

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


T = TypeVar("T")


class Runner:
    """A loop thread plus the async resource opened on it, closed together once."""

    def __init__(
        self,
        name: str,
        opener: Callable[[], Awaitable[Any]],
        closer: Callable[[], Awaitable[Any]],
        *,
        kind: str = "client",
        maker: str = "connect_sync",
    ) -> None:
        self.thread = LoopThread(name)
        self._opener, self._closer = opener, closer
        self._kind, self._maker = kind, maker
        self._lock = threading.Lock()
        self._opened = False
        self.closed = False

    def call(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        if self.thread.forked:
            raise self._forked()
        if not self._opened:
            self._open()
        return self.thread.call(fn, *args, **kwargs)

    @property
    def can_call(self) -> bool:
        """Whether a call can be handed to the loop from here and now."""
        return not self.closed and not self.thread.forked and not self.thread.in_loop_thread()

    def _forked(self) -> ConfigError:
        return ConfigError(
            f"this synchronous runbridge {self._kind} was made in process "
            f"{self.thread.pid} and cannot be used in process {os.getpid()}, a fork of it: "
            "its event-loop thread did not survive the fork, and its HTTP connections and "
            f"journal belong to the parent. Connect again in the child: call {self._maker}() "
            "after the fork (in a worker's initializer, for a process pool)"
        )

    def _open(self) -> None:
        with self._lock:
            if self.closed:
                raise RuntimeError(f"this synchronous runbridge {self._kind} is closed")
            if not self._opened:
                self.thread.call(self._opener)
                self._opened = True

    def close(self) -> None:
        if self.thread.forked:
            # The parent's connections and journal (its TLS sessions, its journal's claim
            # lock) must not be closed from under it: let go of them, and of the lock,
            # which another of the parent's threads may have held at the fork.
            self.closed = True
            self.thread.stop()
            return
        with self._lock:
            if self.closed:
                return
            self.closed = True
        if self.thread.in_loop_thread():
            # Dropped on its own loop: close as the loop ends, since nothing can wait here.
            self.thread.stop(self._closer)
            return
        try:
            # Never opened: closing still releases what connect() made (an owned journal).
            self.thread.call(self._closer)
        finally:
            self.thread.stop()


def _finalize(runner: Runner) -> None:
    runner.close()


class SyncRunIterator:
    """Iterator over runs, fetching pages lazily on the client's loop; ``pages()`` for pages."""

    def __init__(self, runner: Runner, runs: RunIterator) -> None:
        self._runner = runner
        self._runs = runs

    def __iter__(self) -> Iterator[Run]:
        for page in self.pages():
            yield from page.items

    def pages(self) -> Iterator[Page]:
        """Yield each page in turn; each page's ``next_cursor`` resumes after it."""
        return drive(self._runner, self._runs.pages())

    def collect(self) -> list[Run]:
        """Every run, in a list (mind the size of the listing)."""
        return list(self)


def drive(runner: Runner, stream: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async iterator on the runner's loop, one hand-off per item."""
    step = stream.__anext__
    try:
        while True:
            try:
                item: T = runner.call(step)
            except StopAsyncIteration:
                return
            yield item
    finally:
        closer = getattr(stream, "aclose", None)
        if closer is not None and runner.can_call:
            runner.call(closer)


class SyncHandle:
    """What every sync object shares: its runner, ``with``, ``close()`` and ``closed``;
    a finaliser closes it if it is dropped or the interpreter exits first."""

    _runner: Runner

    def _start(self, runner: Runner) -> None:
        self._runner = runner
        self._finalizer = weakref.finalize(self, _finalize, runner)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close what it drives, stop the loop and join its thread; idempotent."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._runner.closed
