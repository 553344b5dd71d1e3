"""The memo provider: a minimal plugin that tests the core as a third party's would.

Registered by ``tests/conftest.py`` as an entry point would register it. The
adapter is in ``_adapter``; the emulator, which never imports it, in ``emulator``.
"""

from __future__ import annotations

from collections.abc import Callable

from runbridge.adapter import Adapter, hookimpl

from ._adapter import STATUSES, MemoAdapter, MemoSettings

__all__ = ["STATUSES", "MemoAdapter", "MemoSettings"]


@hookimpl
def runbridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Register the memo adapter."""
    register(MemoAdapter)
