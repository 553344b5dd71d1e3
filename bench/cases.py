"""The benchmark cases: each returns rows of measurements for the report."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import orjson
from harness import (
    Served,
    Timing,
    compare,
    cpu_loop,
    emulator_process,
    import_times,
    requested_url,
)

import runbridge
from runbridge import RunRequest

Row = dict[str, Any]
Sides = dict[str, Callable[[], Awaitable[Any]]]

FLOOR = "raw aiohttp + orjson"
SDK = "cyberdesk SDK 2.2.69"


def _connect(served: Served) -> runbridge.RunClient:
    return runbridge.connect(
        served.provider, token=served.token, base_url=served.base_url, **served.settings
    )


def _sdk(served: Served) -> Any:
    from cyberdesk import CyberdeskClient
    from cyberdesk.client import RetryConfig

    return CyberdeskClient(served.token, base_url=served.base_url, retry=RetryConfig(max_retries=0))


async def _close_sdk(sdk: Any) -> None:
    await sdk._client.get_async_httpx_client().aclose()


def _rows(name: str, sides: dict[str, Timing]) -> list[Row]:
    base = sides[FLOOR]
    return [
        {
            "case": name,
            "side": side,
            "cpu_us": t.cpu_per_call_us,
            "per_s": t.per_second,
            "cpu_ratio": t.cpu / base.cpu,
            "rate_ratio": t.per_second / base.per_second,
        }
        for side, t in sides.items()
    ]


async def _seed(client: runbridge.RunClient, target: str, count: int) -> list[str]:
    """``count`` runs on the emulator; their ids."""
    ids: list[str] = []
    for start in range(0, count, 1000):
        batch = [RunRequest(target=target, inputs={"i": start + n}) for n in range(1000)]
        result = await client.create_many(batch[: count - start])
        assert result.ok, result.errors[:1]
        ids += [run.id for run in result.runs]
    return ids


async def _floor(
    session: aiohttp.ClientSession, client: runbridge.RunClient, fetch: Callable[[], Awaitable[Any]]
) -> Callable[[], Awaitable[Any]]:
    """The floor for ``fetch``: the URL runbridge requests (query included), fetched with
    the same auth header, and its body parsed with ``orjson.loads``."""
    url = await requested_url(client, fetch)

    async def raw() -> Any:
        async with session.get(url) as resp:
            return orjson.loads(await resp.read())

    return raw


async def per_call(calls: int, *, rounds: int = 5) -> list[Row]:
    """1. Cyberdesk ``get`` and pages of 100 and 1,000: runbridge vs the floor vs the SDK."""
    rows: list[Row] = []
    async with emulator_process("cyberdesk") as served, _connect(served) as client:
        run_id = (await _seed(client, served.target, 1000))[0]
        sdk = _sdk(served)
        headers = dict(client.adapter.auth_headers(served.token))
        async with aiohttp.ClientSession(headers=headers) as session:

            async def rb_get() -> Any:
                return await client.get(run_id)

            async def rb_page() -> Any:
                return await client.list_page(page_size=100)

            async def rb_page_1000() -> Any:
                return await client.list_page(page_size=1000)

            async def sdk_get() -> Any:
                response = await sdk.runs.get(run_id)
                assert response.error is None
                return response.data

            async def sdk_page() -> Any:
                response = await sdk.runs.list(limit=100)
                assert response.error is None
                return response.data

            async def sdk_page_1000() -> Any:
                response = await sdk.runs.list(limit=1000)
                assert response.error is None
                return response.data

            cases: list[tuple[str, Sides, int, tuple[int, ...]]] = [
                (
                    "cyberdesk get",
                    {
                        "runbridge": rb_get,
                        FLOOR: await _floor(session, client, rb_get),
                        SDK: sdk_get,
                    },
                    calls,
                    (1, 32),
                ),
                (
                    "cyberdesk page of 100",
                    {
                        "runbridge": rb_page,
                        FLOOR: await _floor(session, client, rb_page),
                        SDK: sdk_page,
                    },
                    max(calls // 10, 20),
                    (1, 32),
                ),
                (
                    "cyberdesk page of 1,000",
                    {
                        "runbridge": rb_page_1000,
                        FLOOR: await _floor(session, client, rb_page_1000),
                        SDK: sdk_page_1000,
                    },
                    max(calls // 100, 4),
                    (1,),
                ),
            ]
            for name, sides, n, levels in cases:
                for concurrency in levels:
                    timings = await compare(sides, calls=n, concurrency=concurrency, rounds=rounds)
                    rows += _rows(f"{name} (concurrency {concurrency})", timings)
        await _close_sdk(sdk)
    return rows


async def pages(calls: int, *, rounds: int = 5) -> list[Row]:
    """2. A page of 100 on the Kognitos, Kognitos API and Runflow emulators: runbridge vs
    the floor."""
    rows: list[Row] = []
    for provider in ("kognitos", "kognitos-api", "runflow"):
        async with emulator_process(provider) as served, _connect(served) as client:
            await _seed(client, served.target, 120)
            # Kognitos lists the runs of one process (the Kognitos API of one automation);
            # Runflow lists them all.
            target = served.target if provider.startswith("kognitos") else None

            async def rb_page(c: runbridge.RunClient = client, t: str | None = target) -> Any:
                return await c.list_page(target=t, page_size=100)

            headers = dict(client.adapter.auth_headers(served.token))
            async with aiohttp.ClientSession(headers=headers) as session:
                sides: Sides = {"runbridge": rb_page, FLOOR: await _floor(session, client, rb_page)}
                n = max(calls // 10, 20)
                timings = await compare(sides, calls=n, concurrency=1, rounds=rounds)
            rows += _rows(f"{provider} page of 100 (concurrency 1)", timings)
    return rows


async def translation(seconds: float) -> list[Row]:
    """3. Provider payload -> canonical Run per CPU second, per adapter; SDK parsing too."""
    rows: list[Row] = []
    for provider in ("cyberdesk", "kognitos", "kognitos-api", "runflow"):
        async with emulator_process(provider) as served, _connect(served) as client:
            run = await client.create(served.target, inputs={"invoice": "INV-1", "n": 3})
            payload = dict(run.raw)
            rate = cpu_loop(lambda p=payload, c=client: c.parse_run(p), seconds=seconds)
            rows.append({"case": "payload -> Run", "side": f"runbridge {provider}", "per_s": rate})
            if provider == "cyberdesk":
                from cyberdesk import RunResponse

                sdk_rate = cpu_loop(lambda p=payload: RunResponse.from_dict(p), seconds=seconds)
                rows.append(
                    {
                        "case": "payload -> Run",
                        "side": "cyberdesk SDK RunResponse.from_dict",
                        "per_s": sdk_rate,
                    }
                )
    return rows


async def streaming(total: int) -> list[Row]:
    """4. Stream ``total`` runs with ``list``: peak memory growth and runs per second."""
    async with emulator_process("cyberdesk") as served, _connect(served) as client:
        await _seed(client, served.target, total)
        # Speed, without tracing.
        wall0 = time.perf_counter()
        count = 0
        async for _ in client.list(page_size=1000):
            count += 1
        wall = time.perf_counter() - wall0
        assert count == total, count
        # Memory, traced: peak growth over what was allocated before listing.
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        async for _ in client.list(page_size=1000):
            pass
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
    return [
        {
            "case": f"stream {total:,} runs",
            "side": "runbridge list(page_size=1000)",
            "per_s": total / wall,
            "peak_mb": peak / 1e6,
        }
    ]


async def fanout(per_level: int) -> list[Row]:
    """5. Creates per second across the three emulators at several concurrencies."""
    rows: list[Row] = []
    async with AsyncExitStack() as stack:
        clients = []
        for provider in ("cyberdesk", "kognitos", "runflow"):
            served = await stack.enter_async_context(emulator_process(provider))
            client = await stack.enter_async_context(_connect(served))
            client.profile = runbridge.Profile(
                name=provider, provider=provider, token_env="-", targets={"job": served.target}
            )
            clients.append(client)
        for concurrency in (1, 16, 64, 256):
            async with runbridge.fanout(clients, concurrency=concurrency) as fan:
                fan_outs = max(per_level // 3, concurrency)
                gate = asyncio.Semaphore(concurrency)

                async def one(fan: runbridge.Fanout = fan, gate: asyncio.Semaphore = gate) -> int:
                    async with gate:
                        outcomes = await fan.create("job", inputs={"n": 1})
                    return sum(o.ok for o in outcomes)

                wall0 = time.perf_counter()
                created = sum(await asyncio.gather(*(one() for _ in range(fan_outs))))
                wall = time.perf_counter() - wall0
            rows.append(
                {
                    "case": "fan-out creates, 3 emulators",
                    "side": f"concurrency {concurrency}",
                    "per_s": created / wall,
                    "created": created,
                }
            )
    return rows


def imports(runs: int) -> list[Row]:
    """6. Import time of runbridge, of the built-in adapters on top, and of aiohttp."""
    first, then = import_times("import runbridge", "runbridge.providers()", runs=runs)
    (aiohttp_alone,) = import_times("import aiohttp", runs=runs)
    return [
        {"side": "import runbridge", **first},
        {"side": "runbridge.providers() on top (all built-in adapters)", **then},
        {"side": "reference: import aiohttp", **aiohttp_alone},
    ]
