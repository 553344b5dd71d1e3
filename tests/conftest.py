"""Shared fixtures: the memo test plugin, registered as an entry point would register it,
and a served emulator of ``provider`` with clients and plain HTTP access to it.

``provider`` is each built-in provider in turn, as the registry lists them. A module
about one provider (or about the memo plugin) names it once, by overriding the
fixture, and every other fixture here follows::

    @pytest.fixture
    def provider() -> str:
        return "kognitos"
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import memo_plugin
from journals import journal_kind, journal_location, postgres_server, postgres_url
from memo_plugin.emulator import MemoEmulator
from runbridge import RetryPolicy, RunClient
from runbridge.adapter import register_plugin
from runbridge.emulation import Emulator
from runbridge.testing import (
    RawClient,
    emulated_client,
    load_emulator,
    raw_client,
    testing_options,
)
from support import PROVIDERS

register_plugin(memo_plugin, name="memo-tests")

__all__ = ["journal_kind", "journal_location", "postgres_server", "postgres_url"]


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    """Each built-in provider in turn (a test that asks for it runs once per provider)."""
    return str(request.param)


@pytest.fixture
def emulator(provider: str) -> Emulator:
    """A new emulator of ``provider``."""
    return load_emulator(provider)


@pytest.fixture
def target(emulator: Emulator) -> str:
    """The emulator's default target."""
    return emulator.default_target


@pytest.fixture
async def client(provider: str, emulator: Emulator) -> AsyncIterator[RunClient]:
    """A client of ``emulator`` served on loopback; it retries as in production, unslept."""
    async with emulated_client(provider, emulator=emulator) as (client, _):
        yield client


@pytest.fixture
async def once(provider: str, emulator: Emulator) -> AsyncIterator[RunClient]:
    """A client of ``emulator`` that never retries, to see each answer as the server gave it."""
    options = testing_options(retry=RetryPolicy.never())
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        yield client


@pytest.fixture
async def api(emulator: Emulator) -> AsyncIterator[RawClient]:
    """Plain HTTP access to ``emulator`` served on loopback, for tests of the emulator."""
    async with raw_client(emulator) as api:
        yield api


@pytest.fixture
def memo(emulator: Emulator) -> MemoEmulator:
    """The emulator, in a module about the memo plugin (its ``provider`` is ``"memo"``)."""
    assert isinstance(emulator, MemoEmulator), "this module's provider is not 'memo'"
    return emulator
