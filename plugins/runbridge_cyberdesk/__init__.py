"""Built-in runbridge adapter for Cyberdesk, and an emulator of its runs API.

Registered through the ``runbridge.adapters`` entry point as ``cyberdesk``::

    async with runbridge.connect("cyberdesk", token=api_key) as client:
        run = await client.create(workflow_id, inputs={"invoice": "INV-1"})

See ``docs/providers/cyberdesk.md`` for capabilities, mappings and the emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import runbridge

from ._adapter import CyberdeskAdapter

if TYPE_CHECKING:
    from ._emulator import CyberdeskEmulator

__all__ = ["CyberdeskAdapter", "CyberdeskEmulator", "runbridge_register_adapters"]


@runbridge.hookimpl
def runbridge_register_adapters(register: Callable[[type[runbridge.Adapter]], None]) -> None:
    """Register the Cyberdesk adapter."""
    register(CyberdeskAdapter)


def __getattr__(name: str) -> Any:
    # The emulator (and aiohttp's server) is imported only when asked for, so that
    # loading the adapter stays cheap.
    if name == "CyberdeskEmulator":
        from ._emulator import CyberdeskEmulator

        return CyberdeskEmulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
