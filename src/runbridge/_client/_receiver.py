"""``EventReceiver``: an HTTP endpoint that verifies run events and hands them on once.

A delivery is answered 2xx only after it was verified and accepted (handed to every
callback, or put on the queue); a bad or missing signature, a stale timestamp, an
oversized or malformed body get a 4xx and nothing is processed. An event seen before
(by its ``replay_key``, which only signed material makes) is answered 2xx and not
delivered again (the last ``remember`` keys are kept). Bodies and callbacks have
timeouts; ``serve()`` adds header timeouts and a connection cap (``_receiver_limits``).
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from .._model._errors import ConfigError
from .._model._events import DEFAULT_TOLERANCE, EventRejected, RunEvent
from .._model._run import RunRef
from ._quiet_logs import RateLimitedLog, one_line

if TYPE_CHECKING:
    from aiohttp import web

    from ._run_client import RunClient

log = logging.getLogger("runbridge.events")
_log = RateLimitedLog(log)

Callback = Callable[[RunEvent], Awaitable[None] | None]

_STATUS = {
    "signature": 401,
    "headers": 400,
    "stale": 400,
    "too_large": 413,
    "malformed": 400,
    "timeout": 408,
    "incomplete": 400,
}
_GRACE = 5.0
"""Seconds a request may run past its body and callback timeouts before ``serve()``
closes its connection (the handler answers well before)."""
_SHUTDOWN = 5.0
"""Seconds ``serve()`` lets deliveries in progress finish when it stops."""


class _CallbackTimeout(Exception):
    """The callbacks did not finish within ``callback_timeout``."""


class EventReceiver:
    """Receives the run events of one client per provider over HTTP.

    Mount ``app()`` in an aiohttp application (``POST /{provider}``), or use
    ``handler(provider)`` as a route handler, or ``async with receiver.serve(host,
    port) as url`` standalone. Consume with ``async for event in receiver`` or
    ``receiver.on_event(callback)``: with callbacks registered, events go to them
    (a callback that raises makes the delivery fail with 500; one that does not finish
    within ``callback_timeout`` seconds is cancelled and the delivery answered 503: either
    way the provider sends it again); without, they are queued for iteration.

    Limits: a body must arrive within ``body_timeout`` seconds (else 408); ``serve()``
    also closes a connection that sends no complete request within ``header_timeout``
    seconds and keeps at most ``max_connections`` open (see ``docs/events.md``).
    """

    def __init__(
        self,
        *clients: RunClient,
        tolerance: float = DEFAULT_TOLERANCE,
        remember: int = 10_000,
        header_timeout: float = 10.0,
        body_timeout: float = 30.0,
        callback_timeout: float = 10.0,
        max_connections: int = 256,
    ) -> None:
        by_provider: dict[str, RunClient] = {}
        for client in clients:
            client._require_events()
            if client.provider in by_provider:
                raise ConfigError(
                    f"two clients for {client.provider}: a receiver takes one per provider",
                    field="clients",
                    provider=client.provider,
                )
            by_provider[client.provider] = client
        if not by_provider:
            raise ConfigError("an EventReceiver needs at least one client", field="clients")
        for name, count in (("remember", remember), ("max_connections", max_connections)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ConfigError(f"{name} must be a positive integer", field=name)
        timeouts = {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "callback_timeout": callback_timeout,
        }
        for name, seconds in timeouts.items():
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not math.isfinite(seconds)
                or seconds <= 0
            ):
                raise ConfigError(f"{name} must be a positive number of seconds", field=name)
        self.clients = by_provider
        for client in by_provider.values():
            # Its clients' waits now finish on this receiver's events (and poll slowly).
            client._receiver = self
        self._watches: dict[RunRef, list[asyncio.Event]] = {}
        self.tolerance = tolerance
        self.remember = remember
        self.header_timeout = float(header_timeout)
        self.body_timeout = float(body_timeout)
        self.callback_timeout = float(callback_timeout)
        self.max_connections = max_connections
        # Replay keys (``RunEvent.replay_key``) by provider: signed material only.
        self._seen: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()
        self._busy: set[tuple[str, str]] = set()
        self._callbacks: list[Callback] = []
        self._queue: asyncio.Queue[RunEvent] = asyncio.Queue()
        self._abandoned: set[asyncio.Future[None]] = set()

    def __repr__(self) -> str:
        return f"<EventReceiver {', '.join(self.clients)}>"

    # -- consuming ------------------------------------------------------------------------

    def on_event(self, callback: Callback) -> Callback:
        """Hand every accepted event to ``callback`` (a function or coroutine function);
        usable as a decorator. Once one is registered, events are no longer queued."""
        self._callbacks.append(callback)
        return callback

    def __aiter__(self) -> AsyncIterator[RunEvent]:
        return self

    async def __anext__(self) -> RunEvent:
        return await self._queue.get()

    # -- HTTP ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """An aiohttp application with ``POST /{provider}``; mount it with
        ``app.add_subapp("/hooks/", receiver.app())``.

        Body and callback timeouts apply; header timeouts and the connection cap are
        ``serve()``'s (in your own server, they are your server's to set)."""
        return self._app()

    def _app(self, middlewares: tuple[Any, ...] = ()) -> web.Application:
        from aiohttp import web

        cap = max(c.max_event_bytes for c in self.clients.values())
        app = web.Application(client_max_size=cap + 1, middlewares=middlewares)
        app.router.add_post("/{provider}", self._route)
        return app

    def handler(self, provider: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """An aiohttp handler receiving ``provider``'s events, for a route of your own."""
        if provider not in self.clients:
            raise ConfigError(
                f"this receiver has no client for {provider!r}", field="provider", provider=provider
            )

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._receive(provider, request)

        return handle

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve ``app()`` standalone; yields its base URL (``http://host:port/``), to
        which ``<provider>`` is appended.

        Connections are accepted behind ``header_timeout`` and ``max_connections``
        (never more than half the process's open-file limit); see ``docs/events.md``.
        """
        from aiohttp import web

        from ._quiet_logs import SERVER_LOG
        from ._receiver_limits import ConnectionGuard

        guard = ConnectionGuard(
            header_timeout=self.header_timeout,
            request_timeout=self.body_timeout + self.callback_timeout + _GRACE,
            max_connections=self.max_connections,
            log=_log,
        )
        runner = web.AppRunner(
            self._app(middlewares=(guard.middleware(),)),
            access_log=None,
            logger=SERVER_LOG,
            keepalive_timeout=self.header_timeout,
            shutdown_timeout=_SHUTDOWN,
        )
        await runner.setup()
        try:
            assert runner.server is not None
            async with guard.listen(runner.server, host, port) as addresses:
                shown = f"[{host}]" if ":" in host else host
                yield f"http://{shown}:{addresses[0][1]}/"
        finally:
            await runner.cleanup()

    async def _route(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        provider = request.match_info["provider"]
        if provider not in self.clients:
            return web.json_response({"error": "unknown provider"}, status=404)
        return await self._receive(provider, request)

    async def _receive(self, provider: str, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        client = self.clients[provider]
        cap = client.max_event_bytes
        if request.content_length is not None and request.content_length > cap:
            return _refused(provider, "too_large", "delivery is over the size cap")
        try:
            async with asyncio.timeout(self.body_timeout):
                body = await _read(request, cap)
        except TimeoutError:
            message = f"its body did not arrive within {self.body_timeout:g} s"
            return _refused(provider, "timeout", message)
        except (OSError, web.RequestPayloadError) as exc:  # the sender went away
            return _refused(provider, "incomplete", one_line(exc))
        if body is None:
            return _refused(provider, "too_large", "delivery is over the size cap")
        try:
            event = await client.parse_event(dict(request.headers), body, tolerance=self.tolerance)
        except EventRejected as exc:
            if exc.reason == "ignored":
                return web.json_response({"status": "ignored"}, status=200)
            return _refused(provider, exc.reason, exc.message)
        key = (provider, event.replay_key)
        if key in self._seen:
            return web.json_response({"status": "duplicate"}, status=200)
        if key in self._busy:
            # The same event is being handed on right now: have the provider send it again.
            return web.json_response({"error": "in progress"}, status=409)
        self._busy.add(key)
        try:
            await self._deliver(event)
        except _CallbackTimeout:
            _log.log(
                logging.WARNING,
                f"callback-timeout:{provider}",
                "an event callback did not finish within %g s on %s event %s: cancelled, "
                "answered 503 (the provider sends it again)",
                self.callback_timeout,
                provider,
                event.id,
            )
            return web.json_response({"error": "callback timed out"}, status=503)
        except Exception:
            _log.log(
                logging.ERROR,
                f"callback:{provider}",
                "an event callback failed on %s event %s",
                provider,
                event.id,
                exc_info=True,
            )
            return web.json_response({"error": "callback failed"}, status=500)
        finally:
            self._busy.discard(key)
        self._seen[key] = None
        while len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        return web.json_response({"status": "accepted"}, status=200)

    def watch(self, ref: RunRef) -> asyncio.Event:
        """An event flag set whenever a delivery about ``ref`` is accepted; ``unwatch`` it."""
        flag = asyncio.Event()
        self._watches.setdefault(ref, []).append(flag)
        return flag

    def unwatch(self, ref: RunRef, flag: asyncio.Event) -> None:
        """Stop setting ``flag`` for ``ref``."""
        flags = self._watches.get(ref, [])
        if flag in flags:
            flags.remove(flag)
        if not flags:
            self._watches.pop(ref, None)

    async def _deliver(self, event: RunEvent) -> None:
        for flag in self._watches.get(event.run.ref, ()):
            flag.set()
        if not self._callbacks:
            self._queue.put_nowait(event)
            return
        # The callbacks run in a task of their own, so that the delivery is answered
        # in time even when one of them ignores being cancelled.
        task = asyncio.ensure_future(self._call_back(event))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.callback_timeout)
        except asyncio.CancelledError:  # the server stops, or the sender went away
            self._abandon(task)
            raise
        if not done:
            self._abandon(task)
            raise _CallbackTimeout
        task.result()

    async def _call_back(self, event: RunEvent) -> None:
        for callback in list(self._callbacks):
            result = callback(event)
            if inspect.isawaitable(result):
                await result

    def _abandon(self, task: asyncio.Future[None]) -> None:
        """Cancel callbacks that overran; hold the task until it ends (so that it is not
        collected half-way) without waiting for it."""
        task.cancel()
        self._abandoned.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Future[None]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.debug("a timed-out event callback ended with %s", one_line(exc))


async def _read(request: web.Request, cap: int) -> bytes | None:
    """The body, or ``None`` once it is over ``cap`` bytes (never read further)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(65536):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(provider: str, reason: str, message: str) -> web.StreamResponse:
    from aiohttp import web

    _log.log(
        logging.WARNING,
        f"refused:{provider}:{reason}",
        "refused a %s event delivery (%s): %s",
        provider,
        reason,
        " ".join(message.split())[:300],
    )
    return web.json_response({"error": reason}, status=_STATUS.get(reason, 400))
