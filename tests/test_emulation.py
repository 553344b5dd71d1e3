"""Emulator behaviour shared through the base class, for every emulator."""

from __future__ import annotations

import aiohttp
import pytest

import runbridge
from runbridge.emulation import load_emulator

SHAPES = {
    "memo": lambda body: "error" in body,
    "cyberdesk": lambda body: isinstance(body.get("detail"), str),
    "kognitos": lambda body: body.get("status_code") in (404, 405) and "message" in body,
    "runflow": lambda body: body.get("code") in ("NOT_FOUND", "METHOD_NOT_ALLOWED", "ERROR"),
}


@pytest.mark.parametrize("provider", list(SHAPES))
async def test_unrouted_requests_get_the_providers_error_shape(provider: str) -> None:
    emulator = load_emulator(provider)
    adapter = next(p.adapter for p in runbridge.providers() if p.name == provider)
    auth = adapter().auth_headers(emulator.token)
    async with emulator.serve() as base_url, aiohttp.ClientSession(headers=auth) as session:
        for method, path, status in (("GET", "/no/such/path", 404), ("PUT", "/v1/runs", 405)):
            if provider in ("memo", "kognitos") and status == 405:
                path = "/runs" if provider == "memo" else "/v2/runs"
            url = base_url.split("/v2")[0] + path
            async with session.request(method, url) as response:
                assert response.status == status, (method, path)
                assert response.content_type == "application/json"
                assert SHAPES[provider](await response.json())
