"""Shared fixtures: the memo test provider is registered as a plugin would be."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import memo_provider
from memo_emulator import MemoEmulator
from runbridge import RunClient
from runbridge.adapter import register_plugin
from runbridge.testing import emulated_client

register_plugin(memo_provider, name="memo-tests")


@pytest.fixture
def memo() -> MemoEmulator:
    return MemoEmulator()


@pytest.fixture
async def client(memo: MemoEmulator) -> AsyncIterator[RunClient]:
    async with emulated_client("memo", emulator=memo) as (client, _):
        yield client
