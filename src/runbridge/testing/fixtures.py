"""The ``runbridge`` pytest plugin (entry point ``pytest11``): fixtures that serve an emulator.

Set the ``runbridge_provider`` fixture (or parametrize it) and ask for
``runbridge_client`` and ``runbridge_emulator``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from .._client import RunClient
from ..emulation import Emulator
from . import emulated_client, load_emulator


@pytest.fixture
def runbridge_provider() -> str:
    """Name of the provider under test; override or parametrize this fixture."""
    raise pytest.UsageError(
        "override the 'runbridge_provider' fixture to name the provider under test"
    )


@pytest.fixture
def runbridge_emulator(runbridge_provider: str) -> Emulator:
    """A fresh emulator of the provider under test (manual clock)."""
    return load_emulator(runbridge_provider)


@pytest_asyncio.fixture
async def runbridge_client(
    runbridge_provider: str, runbridge_emulator: Emulator
) -> AsyncIterator[RunClient]:
    """A client connected to ``runbridge_emulator`` served on 127.0.0.1."""
    async with emulated_client(runbridge_provider, emulator=runbridge_emulator) as (client, _):
        yield client
