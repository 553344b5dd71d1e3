"""Built-in runbridge adapter for Cyberdesk.

Registered through the ``runbridge.adapters`` entry point as ``cyberdesk``::

    async with runbridge.connect("cyberdesk", token=api_key) as client:
        run = await client.create(workflow_id, inputs={"invoice": "INV-1"})

Its emulator lives in ``runbridge_cyberdesk.emulator``. See
``docs/providers/cyberdesk.md`` for capabilities, mappings and the emulator.
"""

from __future__ import annotations

from collections.abc import Callable

from runbridge.adapter import Adapter, hookimpl

from ._adapter import CyberdeskAdapter

__all__ = ["CyberdeskAdapter", "runbridge_register_adapters"]


@hookimpl
def runbridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Register the Cyberdesk adapter."""
    register(CyberdeskAdapter)
