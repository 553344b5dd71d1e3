"""``emulated_sync_client``: an emulator served on its own thread, and a sync client to it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .._plugins._registry import Registry
from .._sync._client import SyncRunClient, connect_sync
from .._sync._loop_thread import LoopThread
from .._wire._client_options import ClientOptions
from ..emulation import Emulator
from ._emulated import connect_arguments, load_emulator


@contextlib.contextmanager
def emulated_sync_client(
    provider: str,
    *,
    emulator: Emulator | None = None,
    registry: Registry | None = None,
    options: ClientOptions | None = None,
    **settings: Any,
) -> Iterator[tuple[SyncRunClient, Emulator]]:
    """Serve an emulator on 127.0.0.1 and yield ``(client, emulator)``, the client synchronous.

    The emulator runs on an event loop of its own thread, like a server in
    another process; the client runs on its own. Plan and inspect the emulator
    between calls (not from callbacks the client runs).
    """
    emulator = emulator or load_emulator(provider, registry=registry)
    served = contextlib.AsyncExitStack()

    async def start() -> str:
        return await served.enter_async_context(emulator.serve())

    thread = LoopThread(f"runbridge-emulator-{provider}")
    try:
        arguments = connect_arguments(
            emulator, thread.call(start), registry=registry, options=options, **settings
        )
        with connect_sync(provider, **arguments) as client:
            yield client, emulator
    finally:
        thread.stop(served.aclose)
