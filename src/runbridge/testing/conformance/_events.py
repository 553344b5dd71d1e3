"""Run events: the emulator's own deliveries, read by the adapter through ``parse_event``.

The deliveries are received over real HTTP by a plain aiohttp endpoint, then handed
to the client as an application's webhook handler would: signed by the emulator
with the provider's scheme, never by runbridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import web

from ... import EventRejected, RunClient, UnsupportedOperation, connect
from ...emulation import Emulator, EventRoute
from .._emulated import connect_arguments, load_emulator
from ._base import SETTLE, ConformanceBase

ARRIVAL = 10.0
"""Real seconds a delivery has to arrive once its run has finished."""


@attrs.define
class _Delivery:
    headers: dict[str, str]
    body: bytes


@attrs.define
class _Endpoint:
    url: str = ""
    got: list[_Delivery] = attrs.field(factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append(_Delivery(dict(request.headers), await request.read()))
        return web.Response(status=204)

    async def first(self) -> _Delivery:
        """The first delivery, polled for until ``ARRIVAL`` seconds pass."""
        end = time.monotonic() + ARRIVAL
        while not self.got:
            if time.monotonic() > end:
                pytest.fail(f"no event delivery arrived within {ARRIVAL:g} s of the run ending")
            await asyncio.sleep(0.01)
        return self.got[0]


@contextlib.asynccontextmanager
async def _endpoint() -> AsyncIterator[_Endpoint]:
    endpoint = _Endpoint()
    app = web.Application()
    app.router.add_post("/events", endpoint.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        endpoint.url = f"http://{host}:{port}/events"
        yield endpoint
    finally:
        await runner.cleanup()


class EventConformance(ConformanceBase):
    """``parse_event`` against the emulator's own signed deliveries, where the adapter
    declares events; refused without them."""

    async def test_events_are_refused_without_the_capability(self, client: RunClient) -> None:
        if client.capabilities.events:
            pytest.skip(f"{self.provider} declares run events")
        with pytest.raises(UnsupportedOperation):
            await client.parse_event({}, b"{}")

    def _route(self, emulator: Emulator, client: RunClient, url: str) -> EventRoute:
        if not client.capabilities.events:
            pytest.skip(f"{self.provider} declares no run events")
        try:
            return emulator.send_events_to(url)
        except NotImplementedError as exc:
            pytest.skip(f"{exc}: implement send_events_to so the kit can check deliveries")

    def _receiving(self, client: RunClient, emulator: Emulator, **settings: Any) -> RunClient:
        """Another client of the served emulator, with event settings (secrets, a cap)."""
        arguments = connect_arguments(emulator, client.base_url, registry=self.registry, **settings)
        return connect(self.provider, **arguments)

    async def _delivered(
        self, client: RunClient, emulator: Emulator, target: str, endpoint: _Endpoint
    ) -> tuple[str, EventRoute, _Delivery]:
        route = self._route(emulator, client, endpoint.url)
        run = await client.create(target, **route.options)
        emulator.advance(SETTLE)
        return run.id, route, await endpoint.first()

    async def test_a_delivery_reads_as_the_run_it_announces(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        async with _endpoint() as endpoint:
            run_id, route, delivery = await self._delivered(client, emulator, target, endpoint)
        async with self._receiving(client, emulator, webhook_secrets=[route.secret]) as receiving:
            # Signed at the wall clock, whatever the emulator's clock says.
            event = await receiving.parse_event(delivery.headers, delivery.body)
        current = await client.get(run_id)
        assert event.run.id == run_id
        assert event.run.status is current.status and current.status.is_terminal

    async def test_a_tampered_foreign_or_oversized_delivery_is_rejected(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        async with _endpoint() as endpoint:
            _, route, delivery = await self._delivered(client, emulator, target, endpoint)
            foreign = load_emulator(self.provider, registry=self.registry)
            other = foreign.send_events_to(endpoint.url).secret
        body, middle = delivery.body, len(delivery.body) // 2
        tampered = body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :]
        cases = {
            "tampered": ([route.secret], tampered, len(body)),
            "signed with another secret": ([other], body, len(body)),
            "one byte over the cap": ([route.secret], body, len(body) - 1),
        }
        accepted = []
        for what, (secrets, sent, cap) in cases.items():
            settings = {"webhook_secrets": secrets, "max_event_bytes": cap}
            async with self._receiving(client, emulator, **settings) as receiving:
                try:
                    await receiving.parse_event(delivery.headers, sent)
                except EventRejected:
                    continue
            accepted.append(what)
        assert not accepted, f"{self.provider} accepted deliveries {', '.join(accepted)}"
