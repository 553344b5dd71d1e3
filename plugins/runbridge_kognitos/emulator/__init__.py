"""A local emulator of the Kognitos REST API v2 runs resource, served by aiohttp.

A witness, not a helper: by default it serves exactly what the provider documents
(see ``docs/providers/kognitos.md``), and it imports nothing from the adapter it
checks. Undocumented conveniences are named ``extras``, off unless asked for:
``KognitosEmulator(extras={"inputs", "timings"})``.
"""

from ._emulator import KognitosEmulator, StoredRun

__all__ = ["KognitosEmulator", "StoredRun"]
