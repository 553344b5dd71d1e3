"""Built-in runbridge adapter for Runflow (``api.runflow.io``).

Registered through the ``runbridge.adapters`` entry point as ``runflow``::

    async with runbridge.connect("runflow", token="rf_live_...") as client:
        run = await client.create("models/acme/echo/v1", inputs={"prompt": "hi"})

Its emulator lives in ``runbridge_runflow.emulator`` (``RunflowEmulator``).
"""

from __future__ import annotations

from collections.abc import Callable

from runbridge.adapter import Adapter, hookimpl

from ._adapter import RunflowAdapter, RunflowSettings

__all__ = ["RunflowAdapter", "RunflowSettings"]


@hookimpl
def runbridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Register the Runflow adapter."""
    register(RunflowAdapter)
