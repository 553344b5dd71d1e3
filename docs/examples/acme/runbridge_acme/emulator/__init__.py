"""The Acme Jobs emulator: a witness of Acme's documented API, for tests and demos."""

from __future__ import annotations

from ._server import AcmeEmulator

__all__ = ["AcmeEmulator"]
