"""Test support: a pytest plugin that serves an adapter's emulator and yields a client.

Registered as the ``runbridge`` pytest plugin (entry point ``pytest11``). Set the
``runbridge_provider`` fixture (or parametrize it) and ask for ``runbridge_client``
and ``runbridge_emulator``. ``runbridge.testing.conformance`` holds the reusable
conformance suite for adapter authors.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from .._client import RunClient
from .._connect import connect
from .._http import ClientOptions
from .._registry import Registry
from .._retry import RetryPolicy
from ..emulation import Emulator, load_emulator

__all__ = ["emulated_client", "load_emulator", "testing_options"]


def testing_options(**overrides: Any) -> ClientOptions:
    """Client options for tests: retries as in production but without sleeping."""
    fields: dict[str, Any] = {"retry": RetryPolicy.testing(), "deadline": 30.0, "timeout": 10.0}
    fields.update(overrides)
    return ClientOptions(**fields)


testing_options.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


@contextlib.asynccontextmanager
async def emulated_client(
    provider: str,
    *,
    emulator: Emulator | None = None,
    registry: Registry | None = None,
    options: ClientOptions | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[RunClient, Emulator]]:
    """Serve an emulator on 127.0.0.1 and yield ``(client, emulator)`` connected to it."""
    emulator = emulator or load_emulator(provider, registry=registry)
    async with emulator.serve() as base_url:
        merged = {**emulator.client_settings(), **settings}
        client = connect(
            provider,
            token=emulator.token,
            base_url=base_url,
            options=options or testing_options(),
            registry=registry,
            **merged,
        )
        async with client:
            yield client, emulator


try:
    import pytest
    import pytest_asyncio
except ImportError:  # pragma: no cover - the fixtures need pytest-asyncio
    pass
else:

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
        async with emulated_client(runbridge_provider, emulator=runbridge_emulator) as (
            client,
            _,
        ):
            yield client
