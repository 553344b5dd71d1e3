"""The receiver under a hostile sender, over real loopback HTTP: connections that send
their headers a byte at a time are cut, a flood of connections is held to the cap (in
process, and in ``runbridge listen`` at a low open-file limit) while signed deliveries
still go through, and a callback that hangs gets its delivery answered 5xx so that the
provider's redelivery is handed on."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest

import runbridge
from runbridge import EventReceiver, RunEvent, RunStatus
from runbridge.testing import emulated_client
from runbridge_runflow.emulator import RunflowEmulator
from support import until

SECRET = "runflow-callback-secret-limits"
RUN_ID = "0190f1f2-3c4d-7e8f-9a0b-1c2d3e4f5a6b"


def signed_delivery(n: int = 0) -> tuple[dict[str, str], bytes]:
    """A Runflow callback (one of many: ``n`` makes the body differ) and its headers."""
    body = orjson.dumps(
        {
            "event": "run.completed",
            "run_id": RUN_ID,
            "status": "succeeded",
            "output": {"n": n},
            "duration_ms": 4000,
            "created_at": "2026-11-30T12:00:00+00:00",
            "completed_at": "2026-11-30T12:00:05+00:00",
            "metadata": {},
        }
    )
    headers = {
        "Runflow-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "Runflow-Request-Id": f"req_{uuid.uuid4().hex}",
        "content-type": "application/json",
    }
    return headers, body


async def post(url: str, headers: dict[str, str], body: bytes) -> int:
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        await response.read()
        return response.status


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1].split("/")[0])


class Connections:
    """Client connections that the test holds open; each notices when the server closes it."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []
        self.closed: set[int] = set()
        self._watching: list[asyncio.Task[None]] = []

    async def open(self, port: int, count: int, first: bytes = b"") -> None:
        for _ in range(count):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if first:
                writer.write(first)
            index = len(self.writers)
            self.writers.append(writer)
            self._watching.append(asyncio.create_task(self._watch(index, reader)))

    async def _watch(self, index: int, reader: asyncio.StreamReader) -> None:
        try:
            while await reader.read(4096):
                pass
        except OSError:
            pass
        self.closed.add(index)

    async def drip(self, byte: bytes = b"a") -> None:
        """Send each open connection one more header byte, again and again."""
        while True:
            for index, writer in enumerate(self.writers):
                if index not in self.closed and not writer.is_closing():
                    writer.write(byte)
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for task in self._watching:
            task.cancel()
        await asyncio.gather(*self._watching, return_exceptions=True)
        for writer in self.writers:
            writer.close()


@asynccontextmanager
async def held(port: int, count: int, first: bytes = b"") -> AsyncIterator[Connections]:
    connections = Connections()
    try:
        await connections.open(port, count, first)
        yield connections
    finally:
        await connections.close()


def receiver(**limits: Any) -> EventReceiver:
    client = runbridge.connect(
        "runflow", token="t0ken-for-tests", base_url="http://127.0.0.1:9", webhook_secrets=[SECRET]
    )
    return EventReceiver(client, **limits)


# -- in process ---------------------------------------------------------------------------


async def test_slow_drip_connections_are_cut_while_a_delivery_goes_through() -> None:
    hooks = receiver(header_timeout=0.5)
    async with hooks.serve() as url:
        # Headers that never end: the request line, then one header byte at a time.
        start = b"POST /runflow HTTP/1.1\r\nHost: x\r\nX-Drip: "
        async with held(port_of(url), 30, start) as drips:
            dripping = asyncio.create_task(drips.drip())
            try:
                headers, body = signed_delivery()
                assert await post(f"{url}runflow", headers, body) == 200
                event = await asyncio.wait_for(anext(aiter(hooks)), 10)
                assert event.run.id == RUN_ID
                await until(lambda: len(drips.closed) == 30)  # each cut by the server
            finally:
                dripping.cancel()


async def test_connections_over_the_cap_close_the_idle_ones_and_deliveries_go_through() -> None:
    # No header timeout within the test: only the cap can close these connections.
    hooks = receiver(max_connections=4, header_timeout=600)
    async with hooks.serve() as url, held(port_of(url), 20) as idle:
        for n in range(3):
            headers, body = signed_delivery(n)
            assert await post(f"{url}runflow", headers, body) == 200
        await until(lambda: len(idle.closed) >= 20 - 4)
    events = [hooks._queue.get_nowait() for _ in range(hooks._queue.qsize())]
    assert [e.run.outputs for e in events] == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_a_hanging_callback_is_answered_503_and_the_redelivery_is_handed_on() -> None:
    emulator = RunflowEmulator()
    hang = True
    cancelled: list[str] = []
    got: list[RunEvent] = []
    async with emulated_client(
        "runflow", emulator=emulator, webhook_secrets=[emulator.callback_secret]
    ) as (client, _):
        hooks = EventReceiver(client, callback_timeout=0.2)

        @hooks.on_event
        async def handle(event: RunEvent) -> None:
            nonlocal hang
            if hang:
                hang = False
                try:
                    await asyncio.Event().wait()  # never set: hangs until cancelled
                except asyncio.CancelledError:
                    cancelled.append(event.id)
                    raise
            got.append(event)

        async with hooks.serve() as url:
            emulator.plan_next(outcome=RunStatus.SUCCEEDED, queued=1, running=1)
            run = await client.create(emulator.default_target, callback_url=f"{url}runflow")
            emulator.advance(5)  # the run finishes; the emulator posts its callback
            await until(lambda: any(d.attempts for d in emulator.deliveries_of(run.id)))
            (delivery,) = emulator.deliveries_of(run.id)
            assert [a.status for a in delivery.attempts] == [503]
            emulator.advance(emulator.delivery_backoff)  # Runflow retries a non-2xx
            await until(lambda: delivery.state == "delivered")
    assert [a.status for a in delivery.attempts] == [503, 200]
    assert [e.run.id for e in got] == [run.id]
    assert cancelled == [delivery.id]  # the hung callback was cancelled, not left running


# -- runbridge listen ---------------------------------------------------------------------


LOW_LIMIT = """
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
sys.argv = ["runbridge", *sys.argv[1:]]
runpy.run_module("runbridge", run_name="__main__")
"""
"""``python -m runbridge`` with 64 file descriptors (``-c LOW_LIMIT listen ...``)."""


@asynccontextmanager
async def listening() -> AsyncIterator[tuple[asyncio.subprocess.Process, str, list[bytes]]]:
    """``runbridge listen`` for Runflow with 64 file descriptors; yields the process, its
    URL, and (once it has stopped, by SIGTERM on the way out) what it wrote to stderr."""
    env = {**os.environ, "RUNBRIDGE_TOKEN": "t0ken-for-tests", "RF_HOOK_SECRET": SECRET}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LOW_LIMIT, "listen", "--provider", "runflow",
        "--base-url", "http://127.0.0.1:9", "--secret-env", "RF_HOOK_SECRET",
        "--port", "0", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    errors: list[bytes] = []
    try:
        url = orjson.loads(await asyncio.wait_for(proc.stdout.readline(), 30))["listening"]
        yield proc, url, errors
    finally:
        proc.terminate()
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        errors.append(stderr)


async def deliver_and_see_it_printed(proc: asyncio.subprocess.Process, url: str, n: int) -> None:
    assert proc.stdout is not None
    headers, body = signed_delivery(n)
    assert await post(url, headers, body) == 200
    line = orjson.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
    assert line["event_id"] == headers["Runflow-Request-Id"]


def assert_quiet(proc: asyncio.subprocess.Process, errors: list[bytes], most: int) -> None:
    assert proc.returncode == 0
    text = b"".join(errors).decode(errors="replace")
    assert "Traceback" not in text
    assert len(text.splitlines()) < most, text  # a few lines per kind of trouble, not one each
    assert SECRET not in text


@pytest.mark.skipif(sys.platform == "win32", reason="open-file limits are POSIX")
async def test_listen_at_a_low_open_file_limit_serves_deliveries_through_a_flood() -> None:
    async with listening() as (proc, url, errors), contextlib.AsyncExitStack() as stack:
        # More connections than the process has file descriptors, none sending anything.
        flood = await stack.enter_async_context(held(port_of(url), 150))
        for n in range(3):
            await deliver_and_see_it_printed(proc, url, n)
        assert flood.closed  # the server closed some to make room
    assert_quiet(proc, errors, 40)


async def _drip_for_ever(port: int) -> None:
    """One attacker's connection: headers a byte at a time; reconnect when cut."""
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            continue
        try:
            writer.write(b"POST /runflow HTTP/1.1\r\nHost: x\r\nX-Drip: ")
            while not reader.at_eof():
                writer.write(b"a")
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(reader.read(1024), 0.1)
        except OSError:
            pass
        finally:
            writer.close()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="open-file limits are POSIX")
async def test_listen_soak_under_a_sustained_slow_drip_attack() -> None:
    async with listening() as (proc, url, errors):
        attackers = [asyncio.create_task(_drip_for_ever(port_of(url))) for _ in range(300)]
        try:
            loop = asyncio.get_running_loop()
            end, n = loop.time() + 15, 0
            while loop.time() < end:  # deliveries for as long as the attack lasts
                await deliver_and_see_it_printed(proc, url, n)
                n += 1
        finally:
            for task in attackers:
                task.cancel()
            await asyncio.gather(*attackers, return_exceptions=True)
    assert n >= 3
    assert_quiet(proc, errors, 80)
