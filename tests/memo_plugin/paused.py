"""Memo whose docs list one more status, ``PAUSED`` (a running run on hold), that the
emulator's clock never produces: for the broken variant that misreads it (``broken``)."""

from __future__ import annotations

import attrs

from .emulator import MemoEmulator


class PausingEmulator(MemoEmulator):
    """The memo emulator, documenting ``PAUSED`` as a running status."""

    statuses = attrs.evolve(MemoEmulator.statuses, extra={"PAUSED": "running"})
