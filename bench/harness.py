"""Benchmark plumbing: emulators in their own processes, and client-side measurements."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

RUNBRIDGE = shutil.which("runbridge", path=str(Path(sys.executable).parent)) or "runbridge"


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
    """``runbridge emulate PROVIDER`` in a child process, so its CPU is not the client's."""
    process = await asyncio.create_subprocess_exec(
        RUNBRIDGE,
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


def import_time(code: str, *, runs: int = 7) -> float:
    """Median milliseconds a fresh interpreter takes to run ``code`` (an import)."""

    def once(snippet: str) -> float:
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import time; t=time.perf_counter(); {snippet}; print(time.perf_counter()-t)",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return float(out.stdout) * 1000

    once(code)  # warm the file cache
    return statistics.median(once(code) for _ in range(runs))
