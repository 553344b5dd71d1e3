"""runbridge plugin for Acme Jobs: registration only.

The adapter lives in ``_adapter``; the emulator, which never imports it, in ``emulator``.
"""

from __future__ import annotations

from collections.abc import Callable

from runbridge.adapter import Adapter, hookimpl

from ._adapter import AcmeAdapter

__all__ = ["AcmeAdapter"]


@hookimpl
def runbridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Register the Acme adapter."""
    register(AcmeAdapter)
