"""A create and a listing page cross few wings of the core (docs/architecture.md walks
both). Counted by the functions that run, against each built-in emulator over HTTP: the
emulator's own code (``runbridge.emulation``, ``runbridge.testing``) is the witness's
side and not counted."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import runbridge
from runbridge.testing import emulated_client

CORE = Path(runbridge.__file__).parent
WITNESS = frozenset({"emulation", "testing"})


async def _wings_of(operation: Callable[[], Awaitable[Any]]) -> set[str]:
    ran: set[str] = set()
    prefix = str(CORE) + "/"

    def profile(frame: FrameType, event: str, _: object) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(prefix):
            ran.add(frame.f_code.co_filename[len(prefix) :].split("/")[0])

    sys.setprofile(profile)
    try:
        await operation()
    finally:
        sys.setprofile(None)
    return {wing.removesuffix(".py") for wing in ran} - WITNESS


@pytest.mark.parametrize("provider", ["cyberdesk", "kognitos", "kognitos-api", "runflow"])
async def test_a_create_and_a_page_cross_at_most_six_wings(provider: str) -> None:
    async with emulated_client(provider) as (client, emulator):
        target = emulator.default_target
        await client.create(target)  # first use: imports and caches are not the walk

        created = await _wings_of(lambda: client.create(target))
        paged = await _wings_of(lambda: client.list_page(target=target))

    assert created == {"_client", "_creates", "_journal", "_plugins", "_wire", "_model"}
    assert paged == {"_client", "_plugins", "_wire", "_model"}
