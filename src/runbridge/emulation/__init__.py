"""Building blocks for provider emulators: aiohttp servers that behave like the real API.

An emulator is a witness, not a helper: it serves what its provider documents
and nothing more unless a test asks (``extras``), and it never imports the
adapter it checks. Each adapter ships an ``Emulator`` subclass that declares its
provider's auth, documented statuses and error shape; tests, demos and users'
own tests serve it on loopback with ``async with emulator.serve() as base_url``.
A ``Faults`` profile makes it misbehave (429s, 5xx, dropped connections, bad
bodies); ``DeliveryFaults`` spoils the run events it delivers.
A ``RunStore`` keeps an emulator's runs: ids, listing order, pages in the
provider's ``Paging`` style, and idempotent replay. ``runbridge.emulation.fastapi``
answers validation errors the way FastAPI services do.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from ._auth import Auth, BearerAuth, HeaderAuth
from ._clock import Clock, ManualClock, PollingClock, RealClock, iso
from ._deliveries import (
    Delivery,
    DeliveryAttempt,
    DeliveryFaultKind,
    DeliveryFaults,
    EventRoute,
    Outbound,
)
from ._faults import FaultKind, Faults
from ._idempotency import IdempotencyCache, Stored
from ._lifecycle import Meaning, NativeStatuses, Phase, Plan, Timeline
from ._log import MASK, CreatedRun, LoggedRequest
from ._paging import BadCursor, Paged, Paging
from ._rate_limits import RateLimit, RateLimiter
from ._rate_limits import Verdict as RateVerdict
from ._server import CREDENTIAL, Emulator, json_response, read_json
from ._store import RunStore

__all__ = [
    "CREDENTIAL",
    "MASK",
    "Auth",
    "BadCursor",
    "BearerAuth",
    "Clock",
    "CreatedRun",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryFaultKind",
    "DeliveryFaults",
    "Emulator",
    "EventRoute",
    "FaultKind",
    "Faults",
    "HeaderAuth",
    "IdempotencyCache",
    "LoggedRequest",
    "ManualClock",
    "Meaning",
    "NativeStatuses",
    "Outbound",
    "Paged",
    "Paging",
    "Phase",
    "Plan",
    "PollingClock",
    "RateLimit",
    "RateLimiter",
    "RateVerdict",
    "RealClock",
    "RunStore",
    "Stored",
    "Timeline",
    "iso",
    "json_response",
    "read_json",
]


def __getattr__(name: str) -> Any:
    # 0.1 served load_emulator from here; it lives in runbridge.testing since 0.2. The
    # import is made on use: the emulation layer never imports the testing one.
    if name == "Attempt":  # renamed in 0.2: runbridge.Attempt is an HTTP attempt
        warnings.warn(
            "runbridge.emulation.Attempt is deprecated and stops working in runbridge 0.3; "
            "use runbridge.emulation.DeliveryAttempt",
            DeprecationWarning,
            stacklevel=2,
        )
        return DeliveryAttempt
    if name == "load_emulator":
        warnings.warn(
            "runbridge.emulation.load_emulator is deprecated and stops working in "
            "runbridge 0.3; use runbridge.testing.load_emulator",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module("runbridge.testing").load_emulator
    raise AttributeError(f"module 'runbridge.emulation' has no attribute {name!r}")
