"""Built-in runbridge adapter for the Kognitos API 1.0 (organizations, workspaces, automations).

Registered through the ``runbridge.adapters`` entry point as provider ``kognitos-api``.
Targets name an automation by resource name,
``"organizations/<o>/workspaces/<w>/automations/<a>[@draft]"``, and a run's id is its
resource name; see ``docs/providers/kognitos-api.md`` for the capability matrix and the
mappings. The emulator lives in ``runbridge_kognitos_api.emulator``.
"""

from __future__ import annotations

from collections.abc import Callable

from runbridge.adapter import Adapter, hookimpl

from ._adapter import KognitosApiAdapter, KognitosApiSettings
from ._values import Value

__all__ = ["KognitosApiAdapter", "KognitosApiSettings", "Value"]


@hookimpl
def runbridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Register the Kognitos API adapter."""
    register(KognitosApiAdapter)
