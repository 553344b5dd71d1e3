"""``HostedEmulator``: an emulator served by a process of its own, driven from a test."""

from __future__ import annotations

import asyncio
import json
import sys
from types import TracebackType
from typing import Any, Self

import attrs


@attrs.frozen
class HostedState:
    """What a hosted emulator holds: its default target, the runs it created (with their
    inputs), the 429s its rate limit answered, the requests it saw, the faults it injected."""

    default_target: str
    runs: tuple[dict[str, Any], ...]
    refused: int
    requests: int
    faults: dict[str, int]


class HostedEmulator:
    """``async with HostedEmulator("kognitos", rate_limit="40/s") as emulator:`` serves
    the emulator in a child process (``python -m runbridge.testing.host``); ``url`` is
    its API, ``state()`` reads it back, ``set_faults()`` changes its fault profile.

    Keyword arguments are the host config: ``token``, ``rate_limit``, ``extras``,
    ``faults`` (``Faults`` fields), ``speed`` and ``offset`` of its real clock.
    """

    def __init__(self, provider: str, **config: Any) -> None:
        self.config = {"provider": provider, **config}
        self.url = ""
        self.control = ""
        self._process: asyncio.subprocess.Process | None = None

    def __repr__(self) -> str:
        return f"<HostedEmulator {self.config['provider']} {self.url or 'not started'}>"

    async def __aenter__(self) -> Self:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "runbridge.testing.host",
            json.dumps(self.config),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 60)
        if not line:
            raise RuntimeError(f"the {self.config['provider']} emulator host did not start")
        self.url, self.control = line.decode().split()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        import aiohttp

        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.control + path, json=body) as response,
        ):
            response.raise_for_status()
            return await response.json()

    async def state(self) -> HostedState:
        """What the emulator holds now."""
        data = await self._call("GET", "/state")
        return HostedState(
            data["default_target"],
            tuple(data["runs"]),
            data["refused"],
            data["requests"],
            data["faults"],
        )

    async def set_faults(self, **faults: Any) -> None:
        """Set the fault profile (``Faults`` fields); none given: no faults."""
        await self._call("PUT", "/faults", faults or {})
