"""An emulator of Cyberdesk's runs API that serves the documented shape by default.

It imports nothing from the adapter it checks: every status, field and limit is
restated from the provider facts (``_schemas``).
"""

from __future__ import annotations

from ._emulator import CyberdeskEmulator

__all__ = ["CyberdeskEmulator"]
