"""Benchmark plumbing: emulators in their own processes, and client-side measurements."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Served:
    """An emulator running in a child process."""

    provider: str
    base_url: str
    token: str
    target: str
    settings: dict[str, str]
    process: asyncio.subprocess.Process


@contextlib.asynccontextmanager
async def emulator_process(provider: str) -> AsyncIterator[Served]:
    """``runbridge emulate PROVIDER`` in a child process, so its CPU is not the client's.

    The child is this interpreter with this environment (``-m runbridge``), so it runs
    the same runbridge as the benchmark (``PYTHONPATH`` included).
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "runbridge",
        "emulate",
        provider,
        "--port",
        "0",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONOPTIMIZE": "1"},
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        info = json.loads(line)
        yield Served(
            provider,
            info["base_url"],
            info["token"],
            info["target"],
            dict(info.get("settings") or {}),
            process,
        )
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


@dataclass
class Timing:
    """What one side of a comparison cost."""

    calls: int
    wall: float
    cpu: float

    @property
    def cpu_per_call_us(self) -> float:
        """Client CPU microseconds per call."""
        return self.cpu / self.calls * 1e6

    @property
    def per_second(self) -> float:
        """Calls per second of wall time."""
        return self.calls / self.wall


async def measure(
    call: Callable[[], Awaitable[object]], *, calls: int, concurrency: int, repeats: int = 3
) -> Timing:
    """Best of ``repeats`` runs of ``calls`` calls, ``concurrency`` at a time.

    CPU is this process's (the client's) CPU time; the server is elsewhere.
    """
    for _ in range(min(50, calls)):  # warm up connections and caches
        await call()
    best: Timing | None = None
    for _ in range(repeats):
        remaining = calls

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await call()

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        timing = Timing(calls, time.perf_counter() - wall0, time.process_time() - cpu0)
        if best is None or timing.cpu < best.cpu:
            best = timing
    assert best is not None
    return best


async def compare(
    sides: dict[str, Callable[[], Awaitable[object]]],
    *,
    calls: int,
    concurrency: int,
    rounds: int = 5,
) -> dict[str, Timing]:
    """Every side, interleaved round by round so drift hits all alike; each side's best."""
    best: dict[str, Timing] = {}
    for call in sides.values():
        await measure(call, calls=min(calls, 200), concurrency=concurrency, repeats=1)
    for _ in range(rounds):
        for side, call in sides.items():
            timing = await measure(call, calls=calls, concurrency=concurrency, repeats=1)
            if side not in best or timing.cpu < best[side].cpu:
                best[side] = timing
    return best


def cpu_loop(work: Callable[[], object], *, seconds: float = 1.0) -> float:
    """Calls of ``work`` per CPU second, run for about ``seconds``."""
    for _ in range(100):
        work()
    count, start = 0, time.process_time()
    while (elapsed := time.process_time() - start) < seconds:
        for _ in range(100):
            work()
        count += 100
    return count / elapsed


_IMPORT_PROBE = """
import json, sys, time
out = []
for snippet in sys.argv[1:]:
    wall, cpu = time.perf_counter(), time.process_time()
    exec(snippet)
    out.append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
print(json.dumps(out))
"""


def import_times(*snippets: str, runs: int = 7) -> list[dict[str, float]]:
    """Milliseconds each of ``snippets`` takes, run in turn in a fresh interpreter: the
    median over ``runs`` interpreters of wall time (``ms``) and CPU time (``cpu_ms``).

    Bytecode is cached in a directory of its own, as an installed package's would be,
    even where ``PYTHONDONTWRITEBYTECODE`` is set; the source tree is left untouched.
    """
    with tempfile.TemporaryDirectory(prefix="runbridge-bench-pyc-") as cache:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)

        def once() -> list[tuple[float, float]]:
            out = subprocess.run(
                [sys.executable, "-c", _IMPORT_PROBE, *snippets],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            )
            return [tuple(pair) for pair in json.loads(out.stdout)]

        once()  # compile and cache the bytecode, warm the file cache
        samples = [once() for _ in range(runs)]
    return [
        {
            "ms": statistics.median(sample[i][0] for sample in samples),
            "cpu_ms": statistics.median(sample[i][1] for sample in samples),
        }
        for i in range(len(snippets))
    ]


async def requested_url(client: Any, fetch: Callable[[], Awaitable[object]]) -> Any:
    """The URL (query included) ``client`` requests while ``fetch()`` runs; the last one.

    Bench-only: it hooks an aiohttp trace into the client's own session for that one
    call, so that the floor can fetch exactly what runbridge fetches.
    """
    import aiohttp

    seen: list[Any] = []

    async def started(_: object, __: object, params: aiohttp.TraceRequestStartParams) -> None:
        seen.append(params.url)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(started)
    trace.freeze()
    session = client._channel.http._session  # private: the bench looks inside, once
    session._trace_configs.append(trace)
    try:
        await fetch()
    finally:
        session._trace_configs.remove(trace)
    return seen[-1]
