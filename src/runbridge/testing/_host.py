"""An emulator in a process of its own, with a control port: for tests and benchmarks
whose clients run in other processes (Dask workers, drivers that get killed).

    python -m runbridge.testing.host '{"provider": "kognitos", "rate_limit": "40/s"}'

prints one line, ``<emulator URL> <control URL>``, once both listen on 127.0.0.1.
The control port is not the provider's API: ``GET /state`` answers what the emulator
holds (its default target; every run it created, with its inputs; the 429s its rate
limit answered; the requests it saw; the faults it injected), ``PUT /faults`` sets a fault profile
(``Faults`` fields as JSON, ``null`` for none), and ``POST /stop`` ends the process.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiohttp import web

from ..emulation import Emulator, Faults, RealClock
from ._emulated import load_emulator


def build(config: dict[str, Any]) -> Emulator:
    """The emulator a host config describes (``provider`` and emulator arguments, with
    ``speed`` and ``offset`` for its real clock, ``faults`` a ``Faults`` mapping)."""
    arguments = {key: config[key] for key in ("token", "rate_limit", "extras") if key in config}
    if "extras" in arguments:
        arguments["extras"] = set(arguments["extras"])
    clock = RealClock(speed=config.get("speed", 1.0), offset=config.get("offset", 0.0))
    emulator = load_emulator(config["provider"], clock=clock, **arguments)
    if config.get("faults"):
        emulator.faults = Faults(**config["faults"])
    return emulator


def control_app(emulator: Emulator, stop: asyncio.Event) -> web.Application:
    """The control port's routes."""

    async def state(request: web.Request) -> web.Response:
        limiter = emulator.rate_limiter
        return web.json_response(
            {
                "runs": [
                    {"id": c.id, "target": c.target, "inputs": dict(c.inputs)}
                    for c in emulator.created
                ],
                "default_target": emulator.default_target,
                "refused": limiter.total_refused if limiter is not None else 0,
                "requests": len(emulator.log),
                "faults": dict(emulator.fault_counts),
            }
        )

    async def faults(request: web.Request) -> web.Response:
        raw = await request.read()
        body = json.loads(raw) if raw.strip() else None
        emulator.faults = Faults(**body) if body else None
        return web.json_response({"faults": body})

    async def finish(request: web.Request) -> web.Response:
        stop.set()
        return web.json_response({"stopping": True})

    app = web.Application()
    app.router.add_get("/state", state)
    app.router.add_put("/faults", faults)
    app.router.add_post("/stop", finish)
    return app


async def host(config: dict[str, Any]) -> None:
    """Serve the emulator and its control port until ``POST /stop`` (or the process ends)."""
    emulator = build(config)
    stop = asyncio.Event()
    runner = web.AppRunner(control_app(emulator, stop), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    control = "http://{}:{}".format(*runner.addresses[0][:2])
    try:
        async with emulator.serve(port=config.get("port", 0)) as url:
            print(url, control, flush=True)
            await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str]) -> int:
    """Entry point: one JSON argument, the host config."""
    asyncio.run(host(json.loads(argv[0]) if argv else {"provider": "cyberdesk"}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
