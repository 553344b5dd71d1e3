"""Shared fixtures: the memo test plugin, registered as an entry point would register it,
and ``provider``: each built-in provider in turn, as the registry lists them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import memo_plugin
from memo_plugin.emulator import MemoEmulator
from runbridge import RunClient
from runbridge.adapter import register_plugin
from runbridge.testing import emulated_client, emulated_providers

register_plugin(memo_plugin, name="memo-tests")

BUILTIN = emulated_providers(builtin=True)
"""The providers runbridge ships, each with its emulator."""


@pytest.fixture(params=BUILTIN)
def provider(request: pytest.FixtureRequest) -> str:
    """Each built-in provider in turn (a test that asks for it runs once per provider)."""
    return str(request.param)


@pytest.fixture
def memo() -> MemoEmulator:
    return MemoEmulator()


@pytest.fixture
async def client(memo: MemoEmulator) -> AsyncIterator[RunClient]:
    async with emulated_client("memo", emulator=memo) as (client, _):
        yield client
