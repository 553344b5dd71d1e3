"""Built-in runbridge adapter for Runflow (``api.runflow.io``), and its emulator.

Registered through the ``runbridge.adapters`` entry point as ``runflow``::

    async with runbridge.connect("runflow", token="rf_live_...") as client:
        run = await client.create("models/acme/echo/v1", inputs={"prompt": "hi"})
"""

from __future__ import annotations

from collections.abc import Callable

import runbridge

from ._adapter import RunflowAdapter, RunflowSettings
from ._emulator import RunflowEmulator

__all__ = ["RunflowAdapter", "RunflowEmulator", "RunflowSettings"]


@runbridge.hookimpl
def runbridge_register_adapters(register: Callable[[type[runbridge.Adapter]], None]) -> None:
    """Register the Runflow adapter."""
    register(RunflowAdapter)
