"""The pluggy hook specifications adapter plugins implement."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ._adapter import Adapter

PROJECT = "runbridge"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
"""Decorator for a plugin's hook implementations."""


@hookspec
def runbridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Call ``register(AdapterClass)`` once for each adapter the plugin provides."""
