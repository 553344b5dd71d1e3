"""Built-in runbridge adapter for Runflow (``api.runflow.io``), and its emulator.

Registered through the ``runbridge.adapters`` entry point as ``runflow``::

    async with runbridge.connect("runflow", token="rf_live_...") as client:
        run = await client.create("models/acme/echo/v1", inputs={"prompt": "hi"})
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import runbridge

from ._adapter import RunflowAdapter, RunflowSettings

if TYPE_CHECKING:
    from ._emulator import RunflowEmulator

__all__ = ["RunflowAdapter", "RunflowEmulator", "RunflowSettings"]


@runbridge.hookimpl
def runbridge_register_adapters(register: Callable[[type[runbridge.Adapter]], None]) -> None:
    """Register the Runflow adapter."""
    register(RunflowAdapter)


def __getattr__(name: str) -> Any:
    # The emulator (and aiohttp's server) is imported only when asked for, so that
    # loading the adapter stays cheap.
    if name == "RunflowEmulator":
        from ._emulator import RunflowEmulator

        return RunflowEmulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
