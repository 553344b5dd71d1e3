"""``LoopThread``: a private event loop on a daemon thread, for the synchronous API.

The thread starts on first use and stops on ``stop()``. ``call`` runs a coroutine
function on the loop and blocks the calling thread for its result: the result, or
the very exception object the coroutine raised. Whatever is raised in the calling
thread while it is blocked (Ctrl+C, an exception from a signal handler) cancels the
coroutine and goes on up unchanged. A call from the loop's own thread raises
``RuntimeError`` rather than waiting forever for itself.

A loop thread belongs to the process that made it: threads do not survive
``fork()``, and the loop's selector and sockets are shared with the parent. In a
forked child ``call`` raises and ``stop`` lets go without touching any of it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

_POLL = 0.1
"""Seconds between checks for Ctrl+C while blocked, for platforms where a signal does not
interrupt a lock wait (a result still wakes the caller at once)."""
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
        self._pid = os.getpid()

    @property
    def running(self) -> bool:
        """Whether the thread has been started and not stopped."""
        return self._loop is not None and not self._stopped

    @property
    def pid(self) -> int:
        """The process that made this loop thread, the only one it runs in."""
        return self._pid

    @property
    def forked(self) -> bool:
        """Whether this is a forked child of the process that made this loop thread."""
        return os.getpid() != self._pid

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
        if self.forked:
            raise RuntimeError(
                f"{self._name} was made in process {self._pid} and cannot run in its "
                f"forked child (process {os.getpid()}): make a new one there"
            )
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
            _block(future)
        except BaseException:
            # The caller's own exception (Ctrl+C, a signal handler's TimeoutError, ...):
            # nobody waits for the result any more, so cancel the work, let it unwind (a
            # create keeps its journal entry and token), and raise the exception unchanged.
            future.cancel()
            if started and not self._stopped:
                self._settle(loop, started)
            raise
        return future.result()

    def _settle(self, loop: asyncio.AbstractEventLoop, tasks: list[asyncio.Task[Any]]) -> None:
        """Give cancelled ``tasks`` a moment to unwind (a second exception of the caller's
        while it waits goes on up, as from any cleanup)."""
        settling = asyncio.wait(tasks, timeout=_SETTLE)
        try:
            waited = asyncio.run_coroutine_threadsafe(settling, loop)
        except RuntimeError:  # the loop closed meanwhile: nothing is left running
            settling.close()
            return
        _block(waited, timeout=_SETTLE + 1)

    def stop(self, final: Callable[[], Awaitable[Any]] | None = None) -> None:
        """Stop the loop and join the thread; ``final`` is awaited on the loop as it ends,
        then what still runs is cancelled. From the loop's own thread, it does not join."""
        if self.forked:
            # The loop, its selector and its sockets are the parent's, its thread is gone,
            # and the lock may have been held at the fork: let go without touching them.
            self._stopped = True
            return
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


def _block(future: concurrent.futures.Future[Any], *, timeout: float | None = None) -> None:
    """Wait until ``future`` is done, or for ``timeout`` seconds.

    It raises nothing of its own, so what comes out of it was raised in this thread
    while it waited (Ctrl+C, a signal handler). ``future.result(timeout)`` would not
    do: the ``TimeoutError`` it raises is the very class a caller's alarm raises.
    """
    done = threading.Event()
    future.add_done_callback(lambda _: done.set())
    end = None if timeout is None else time.monotonic() + timeout
    while not done.wait(_POLL):  # a bounded wait lets Ctrl+C in on every platform
        if end is not None and time.monotonic() >= end:
            return


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
