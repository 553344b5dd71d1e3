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
from harness import Served, Timing, compare, cpu_loop, emulator_process, import_time

import runbridge
from runbridge import RunRequest

Row = dict[str, Any]


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


def _rows(name: str, sides: dict[str, Timing], floor: str = "raw aiohttp + orjson") -> list[Row]:
    base = sides[floor]
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


async def per_call(calls: int) -> list[Row]:
    """1. ``get`` and a 100-run page: runbridge vs raw aiohttp + orjson vs the official SDK."""
    rows: list[Row] = []
    async with emulator_process("cyberdesk") as served, _connect(served) as client:
        seeded = await client.create_many([RunRequest(target=served.target, inputs={"i": 1})] * 120)
        run_id = seeded.runs[0].id
        headers = {"Authorization": f"Bearer {served.token}"}
        sdk = _sdk(served)
        async with aiohttp.ClientSession(headers=headers) as session:

            async def raw_get() -> Any:
                async with session.get(f"{served.base_url}/v1/runs/{run_id}") as resp:
                    return orjson.loads(await resp.read())

            async def raw_page() -> Any:
                url = f"{served.base_url}/v1/runs"
                params = {"limit": "100", "sort_mode": "created_at_desc"}
                async with session.get(url, params=params) as resp:
                    return orjson.loads(await resp.read())

            async def sdk_get() -> Any:
                response = await sdk.runs.get(run_id)
                assert response.error is None
                return response.data

            async def sdk_page() -> Any:
                response = await sdk.runs.list(limit=100)
                assert response.error is None
                return response.data

            async def rb_get() -> Any:
                return await client.get(run_id)

            async def rb_page() -> Any:
                return await client.list_page(page_size=100)

            cases: list[tuple[str, dict[str, Callable[[], Awaitable[Any]]], int]] = [
                (
                    "get",
                    {
                        "runbridge": rb_get,
                        "raw aiohttp + orjson": raw_get,
                        "cyberdesk SDK 2.2.69": sdk_get,
                    },
                    calls,
                ),
                (
                    "list page of 100",
                    {
                        "runbridge": rb_page,
                        "raw aiohttp + orjson": raw_page,
                        "cyberdesk SDK 2.2.69": sdk_page,
                    },
                    max(calls // 10, 20),
                ),
            ]
            for name, sides, n in cases:
                for concurrency in (1, 32):
                    timings = await compare(sides, calls=n, concurrency=concurrency)
                    rows += _rows(f"{name} (concurrency {concurrency})", timings)
        await _close_sdk(sdk)
    return rows


async def translation(seconds: float) -> list[Row]:
    """2. Provider payload -> canonical Run per CPU second, per adapter; SDK parsing too."""
    rows: list[Row] = []
    for provider in ("cyberdesk", "kognitos", "runflow"):
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
    """3. Stream ``total`` runs with ``list``: peak memory growth and runs per second."""
    async with emulator_process("cyberdesk") as served, _connect(served) as client:
        for start in range(0, total, 1000):
            result = await client.create_many(
                [RunRequest(target=served.target, inputs={"i": 1})] * min(1000, total - start)
            )
            assert result.ok
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
    """4. Creates per second across the three emulators at several concurrencies."""
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


def imports() -> list[Row]:
    """5. Import time of runbridge alone and with all built-in adapters."""
    return [
        {"case": "import time", "side": "import runbridge", "ms": import_time("import runbridge")},
        {
            "case": "import time",
            "side": "runbridge + built-in adapters",
            "ms": import_time("import runbridge; runbridge.providers()"),
        },
        {
            "case": "import time",
            "side": "reference: import aiohttp",
            "ms": import_time("import aiohttp"),
        },
    ]
