"""``emulated_events``: an emulator that delivers its run events to a receiver, in a test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import attrs
from aiohttp import web

from .._client._receiver import EventReceiver
from .._client._run_client import RunClient
from .._model._errors import UnsupportedOperation
from .._model._events import RunEvent
from .._plugins._registry import Registry, default_registry
from .._wire._client_options import ClientOptions
from ..emulation import Emulator
from ._emulated import emulated_client, load_emulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class EmulatedEvents:
    """An emulator delivering signed run events to an ``EventReceiver`` served on 127.0.0.1.

    ``client`` is connected to ``emulator`` with the secret its deliveries are signed
    with; the receiver is attached to it, so its waits finish on events. Pass
    ``create_options`` to each ``create`` whose run should announce itself (Runflow
    names the callback per run; Cyberdesk's endpoint covers every run, so they are
    empty there). Read events with ``await next_event()``, or ``async for event in
    receiver``; a callback registered with ``receiver.on_event`` gets them instead.
    """

    client: RunClient
    emulator: Emulator
    receiver: EventReceiver
    url: str
    """Where the emulator posts its deliveries."""
    create_options: Mapping[str, Any] = attrs.field(hash=False)

    async def next_event(self, *, timeout: float = 10.0) -> RunEvent:
        """The next event the receiver accepted; ``TimeoutError`` after ``timeout`` seconds
        without one (has the run finished? emulator time moves as the client polls, or
        with ``emulator.advance``)."""
        async with asyncio.timeout(timeout):
            return await anext(self.receiver)


@contextlib.asynccontextmanager
async def _endpoint(provider: str, handler: asyncio.Future[Handler]) -> AsyncIterator[str]:
    """Serve ``POST /<provider>`` on 127.0.0.1, handing each delivery to the handler
    ``handler`` resolves to (the receiver's, once its client is connected); yield the URL."""

    async def forward(request: web.Request) -> web.StreamResponse:
        return await (await handler)(request)

    app = web.Application(client_max_size=64 * 1024 * 1024)  # the receiver applies its cap
    app.router.add_post(f"/{provider}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}/{provider}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def emulated_events(
    provider: str,
    *,
    emulator: Emulator | None = None,
    registry: Registry | None = None,
    options: ClientOptions | None = None,
    **settings: Any,
) -> AsyncIterator[EmulatedEvents]:
    """Serve an emulator of ``provider`` and a receiver for its run events, and tell the
    emulator to deliver there; yield them with a client (see ``EmulatedEvents``).

    ``settings`` go to ``connect`` as in ``emulated_client``. ``UnsupportedOperation``
    for a provider that pushes no run events (``capabilities.events`` is false).
    """
    adapter = (registry or default_registry).adapter(provider)
    if not adapter.capabilities.events:
        raise UnsupportedOperation(
            f"{provider} does not push run events", provider=provider, operation="events"
        )
    emulator = emulator or load_emulator(provider, registry=registry)
    handler: asyncio.Future[Handler] = asyncio.get_running_loop().create_future()
    # The emulator's secret comes with the URL it delivers to, the client needs the
    # secret, and the receiver needs the client: the URL is served first, and hands
    # deliveries on once the receiver exists.
    async with _endpoint(provider, handler) as url:
        route = emulator.send_events_to(url)
        async with emulated_client(
            provider,
            emulator=emulator,
            registry=registry,
            options=options,
            webhook_secrets=[route.secret],
            **settings,
        ) as (client, _):
            receiver = EventReceiver(client)
            handler.set_result(receiver.handler(provider))
            yield EmulatedEvents(client, emulator, receiver, url, dict(route.options))
