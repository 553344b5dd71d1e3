"""``LoopThread``: a private event loop on a daemon thread, for the synchronous API.

The thread starts on first use and stops on ``stop()``. ``call`` runs a coroutine
function on the loop and blocks the calling thread for its result: the result, or
the very exception object the coroutine raised. Ctrl+C while blocked cancels the
coroutine and re-raises ``KeyboardInterrupt``. A call from the loop's own thread
raises ``RuntimeError`` rather than waiting forever for itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

_POLL = 0.1
"""Seconds between checks for Ctrl+C while blocked (a result still wakes the caller at once)."""
_SETTLE = 5.0
"""Seconds an interrupted call is given to finish cancelling."""


class LoopThread:
    """An event loop running on its own daemon thread, started lazily."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ident: int | None = None
        self._stopped = False
        self._final: Callable[[], Awaitable[Any]] | None = None

    @property
    def running(self) -> bool:
        """Whether the thread has been started and not stopped."""
        return self._loop is not None and not self._stopped

    def in_loop_thread(self) -> bool:
        """Whether the caller runs on this loop's thread."""
        return self._ident is not None and threading.get_ident() == self._ident

    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, starting its thread on first use."""
        loop = self._loop
        if loop is not None and not self._stopped:
            return loop
        with self._lock:
            if self._stopped:
                raise RuntimeError(f"{self._name} is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._main, args=(loop, ready), name=self._name, daemon=True
                )
                thread.start()
                ready.wait()
                self._thread, self._loop = thread, loop
            return self._loop

    def _main(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        self._ident = threading.get_ident()
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                if self._final is not None:
                    with contextlib.suppress(Exception):
                        loop.run_until_complete(self._final())
                _cancel_leftovers(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def call(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """``await fn(*args, **kwargs)`` on the loop; block for its result."""
        if self.in_loop_thread():
            raise RuntimeError(
                "a synchronous runbridge client was called from its own event-loop thread "
                "(from a callback such as on_poll); that call would wait for itself forever. "
                "Use the async client there."
            )
        loop = self.loop()
        started: list[asyncio.Task[Any]] = []
        future = asyncio.run_coroutine_threadsafe(_tracked(fn(*args, **kwargs), started), loop)
        try:
            while True:
                try:
                    return future.result(_POLL)
                except concurrent.futures.TimeoutError:
                    continue  # woken only to let a pending KeyboardInterrupt in
        except KeyboardInterrupt:
            future.cancel()
            if started and not self._stopped:
                with contextlib.suppress(BaseException):
                    asyncio.run_coroutine_threadsafe(
                        asyncio.wait(started, timeout=_SETTLE), loop
                    ).result(_SETTLE + 1)
            raise

    def stop(self, final: Callable[[], Awaitable[Any]] | None = None) -> None:
        """Stop the loop and join the thread; ``final`` is awaited on the loop as it ends,
        then what still runs is cancelled. From the loop's own thread, it does not join."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._final = final
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if threading.get_ident() != self._ident:
            thread.join()


async def _tracked(coro: Awaitable[T], started: list[asyncio.Task[Any]]) -> T:
    task = asyncio.current_task()
    if task is not None:
        started.append(task)
    return await coro


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what still runs on ``loop`` (a call abandoned at exit) and let it unwind."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not pending:
        return
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
