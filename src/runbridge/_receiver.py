"""``EventReceiver``: an HTTP endpoint that verifies run events and hands them on once.

A delivery is answered 2xx only after it was verified and accepted (handed to every
callback, or put on the queue); a bad or missing signature, a stale timestamp, an
oversized or malformed body get a 4xx and nothing is processed. An event id seen
before is answered 2xx and not delivered again (the last ``remember`` ids are kept).
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from ._errors import ConfigError
from ._events import DEFAULT_TOLERANCE, EventRejected, RunEvent
from ._model import RunRef

if TYPE_CHECKING:
    from aiohttp import web

    from ._client import RunClient

log = logging.getLogger("runbridge.events")

Callback = Callable[[RunEvent], Awaitable[None] | None]

_STATUS = {"signature": 401, "headers": 400, "stale": 400, "too_large": 413, "malformed": 400}


class EventReceiver:
    """Receives the run events of one client per provider over HTTP.

    Mount ``app()`` in an aiohttp application (``POST /{provider}``), or use
    ``handler(provider)`` as a route handler, or ``async with receiver.serve(host,
    port) as url`` standalone. Consume with ``async for event in receiver`` or
    ``receiver.on_event(callback)``: with callbacks registered, events go to them
    (a callback that raises makes the delivery fail with 500, so the provider sends
    it again); without, they are queued for iteration.
    """

    def __init__(
        self,
        *clients: RunClient,
        tolerance: float = DEFAULT_TOLERANCE,
        remember: int = 10_000,
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
        if isinstance(remember, bool) or not isinstance(remember, int) or remember < 1:
            raise ConfigError("remember must be a positive integer", field="remember")
        self.clients = by_provider
        for client in by_provider.values():
            # Its clients' waits now finish on this receiver's events (and poll slowly).
            client._receiver = self
        self._watches: dict[RunRef, list[asyncio.Event]] = {}
        self.tolerance = tolerance
        self.remember = remember
        self._seen: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()
        self._busy: set[tuple[str, str]] = set()
        self._callbacks: list[Callback] = []
        self._queue: asyncio.Queue[RunEvent] = asyncio.Queue()

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
        ``app.add_subapp("/hooks/", receiver.app())``."""
        from aiohttp import web

        cap = max(c.max_event_bytes for c in self.clients.values())
        app = web.Application(client_max_size=cap + 1)
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
        which ``<provider>`` is appended."""
        from aiohttp import web

        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0][1] if runner.addresses else port
            shown = f"[{host}]" if ":" in host else host
            yield f"http://{shown}:{bound}/"
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
        body = await _read(request, cap)
        if body is None:
            return _refused(provider, "too_large", "delivery is over the size cap")
        try:
            event = await client.parse_event(dict(request.headers), body, tolerance=self.tolerance)
        except EventRejected as exc:
            if exc.reason == "ignored":
                return web.json_response({"status": "ignored"}, status=200)
            return _refused(provider, exc.reason, exc.message)
        key = (provider, event.id)
        if key in self._seen:
            return web.json_response({"status": "duplicate"}, status=200)
        if key in self._busy:
            # The same event is being handed on right now: have the provider send it again.
            return web.json_response({"error": "in progress"}, status=409)
        self._busy.add(key)
        try:
            await self._deliver(event)
        except Exception:
            log.exception("an event callback failed on %s event %s", provider, event.id)
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
        for callback in list(self._callbacks):
            result = callback(event)
            if inspect.isawaitable(result):
                await result


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

    log.warning("refused a %s event delivery (%s): %s", provider, reason, message)
    return web.json_response({"error": reason}, status=_STATUS.get(reason, 400))
