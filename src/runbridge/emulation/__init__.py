"""Building blocks for provider emulators: aiohttp servers that behave like the real API.

Each adapter ships an ``Emulator`` subclass. Tests, demos and users' own tests
serve it on loopback with ``async with emulator.serve() as base_url``; a
``Faults`` profile makes it misbehave (429s, 5xx, dropped connections, bad bodies).
"""

from __future__ import annotations

from ._clock import Clock, ManualClock, RealClock, iso
from ._faults import FaultKind, Faults
from ._idempotency import IdempotencyCache, Stored
from ._lifecycle import Phase, Plan, Timeline
from ._server import Emulator, json_response, load_emulator, read_json

__all__ = [
    "Clock",
    "Emulator",
    "FaultKind",
    "Faults",
    "IdempotencyCache",
    "ManualClock",
    "Phase",
    "Plan",
    "RealClock",
    "Stored",
    "Timeline",
    "iso",
    "json_response",
    "load_emulator",
    "read_json",
]
