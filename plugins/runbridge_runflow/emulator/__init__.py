"""An emulator of Runflow's runs API, served by aiohttp on loopback.

It is a witness for the ``runflow`` adapter, never a helper: it imports nothing
from the adapter and serves the documented shapes (``runflow.md``) by default:
bearer keys (an ``rf_live_*`` one and an admin ``rf_svc_*`` one), run records with
exactly the documented fields, statuses ``queued`` -> ``dispatching`` ->
``running`` -> outcome on the emulator clock, ``{items, first, next, previous}``
listings with ``q`` filters, ``PATCH`` merge, admin cancellation, batches with
``Idempotency-Key`` replay, and ``{code, message, errors}`` error bodies.
Undocumented conveniences are named ``extras``, off unless a test asks.
"""

from __future__ import annotations

from ._server import RunflowEmulator

__all__ = ["RunflowEmulator"]
