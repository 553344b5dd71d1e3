"""Memo with sensitive inputs: a create's ``secrets`` go to a vault, never into the run.

For the broken variants that say they take secrets (``broken``); the memo emulator
itself takes none. Like it, this imports nothing of the adapter.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from runbridge.emulation import read_json

from .emulator import MemoEmulator


class VaultEmulator(MemoEmulator):
    """The memo emulator, keeping each create's ``secrets`` in a vault by run id."""

    secret_fields = frozenset({"secrets"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vault: dict[str, dict[str, Any]] = {}

    def secrets_of(self, run_id: str) -> dict[str, Any] | None:
        return self.vault.get(run_id)

    async def _create(self, request: web.Request) -> web.Response:
        response = await super()._create(request)
        body = await read_json(request)  # read again: aiohttp keeps the body
        secrets = body.get("secrets") if isinstance(body, dict) else None
        if (
            response.status == 201
            and isinstance(secrets, dict)
            and isinstance(response.body, bytes)
        ):
            self.vault[json.loads(response.body)["id"]] = dict(secrets)
        return response
