"""Built-in runbridge adapter for the Kognitos REST API v2 (process/agent style).

Registered through the ``runbridge.adapters`` entry point as provider ``kognitos``.
Targets name a process of an agent, ``"<agent_id>/<process_id>[@Draft|@Published]"``;
see ``docs/providers/kognitos.md`` for the capability matrix and mappings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import runbridge

from ._adapter import KognitosAdapter, KognitosSettings

if TYPE_CHECKING:
    from ._emulator import KognitosEmulator

__all__ = ["KognitosAdapter", "KognitosEmulator", "KognitosSettings"]


@runbridge.hookimpl
def runbridge_register_adapters(register: Callable[[type[runbridge.Adapter]], None]) -> None:
    """Register the Kognitos adapter."""
    register(KognitosAdapter)


def __getattr__(name: str) -> Any:
    # The emulator (and aiohttp's server) is imported only when asked for, so that
    # loading the adapter stays cheap.
    if name == "KognitosEmulator":
        from ._emulator import KognitosEmulator

        return KognitosEmulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
