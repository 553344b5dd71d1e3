"""Built-in runbridge adapter for the Kognitos REST API v2 (process/agent style).

Registered through the ``runbridge.adapters`` entry point as provider ``kognitos``.
Targets name a process of an agent, ``"<agent_id>/<process_id>[@Draft|@Published]"``;
see ``docs/providers/kognitos.md`` for the capability matrix and mappings. The
emulator lives in ``runbridge_kognitos.emulator``.
"""

from __future__ import annotations

from collections.abc import Callable

from runbridge.adapter import Adapter, hookimpl

from ._adapter import KognitosAdapter, KognitosSettings

__all__ = ["KognitosAdapter", "KognitosSettings"]


@hookimpl
def runbridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Register the Kognitos adapter."""
    register(KognitosAdapter)
