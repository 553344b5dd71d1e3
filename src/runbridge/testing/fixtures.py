"""The ``runbridge`` pytest plugin (entry point ``pytest11``): fixtures that serve an emulator.

Name the provider under test with the ``runbridge_provider`` fixture (override or
parametrize it), or mark a test ``@pytest.mark.runbridge_providers`` to run it
against every installed provider with an emulator; then ask for
``runbridge_client`` (or ``runbridge_sync_client``, for code using the
synchronous API) and ``runbridge_emulator``; ``runbridge_events`` has the emulator
deliver its run events to a receiver, with a client of its own.

The fixture's emulator runs on a ``PollingClock``: every request moves emulator
time forward, so runs finish as the application polls them, with no sleeping.
``@pytest.mark.runbridge_clock("manual")`` gives a ``ManualClock`` instead (time
moves only with ``runbridge_emulator.advance``); ``runbridge_clock("real",
speed=...)`` a sped-up wall clock; ``runbridge_clock("polling", step=...)`` another
step (default 60 emulated seconds per request). (In runbridge 0.1 the fixture's
emulator ran on a ``ManualClock``.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from .._client._run_client import RunClient
from .._plugins._registry import default_registry
from .._sync._client import SyncRunClient
from ..emulation import Clock, Emulator, ManualClock, PollingClock, RealClock
from . import (
    EmulatedEvents,
    emulated_client,
    emulated_events,
    emulated_providers,
    emulated_sync_client,
    load_emulator,
)

CLOCK_MARKER = "runbridge_clock"
PROVIDERS_MARKER = "runbridge_providers"


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers."""
    config.addinivalue_line(
        "markers",
        f"{CLOCK_MARKER}(kind, **options): clock of the runbridge_emulator fixture: "
        "'polling' (default; step=60 emulated seconds per request), 'manual' "
        "(moves only with emulator.advance) or 'real' (speed=1000)",
    )
    config.addinivalue_line(
        "markers",
        f"{PROVIDERS_MARKER}(*names): run the test once per provider (default: every "
        "installed provider whose adapter ships an emulator)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``runbridge_provider`` for tests marked ``runbridge_providers``."""
    marker = metafunc.definition.get_closest_marker(PROVIDERS_MARKER)
    if marker is None or "runbridge_provider" not in metafunc.fixturenames:
        return
    names = [str(name) for name in marker.args] or emulated_providers()
    metafunc.parametrize("runbridge_provider", names, ids=names)


def _clock(marker: pytest.Mark | None) -> Clock:
    if marker is None:
        return PollingClock()
    kind = marker.args[0] if marker.args else marker.kwargs.get("kind", "polling")
    options = {k: v for k, v in marker.kwargs.items() if k != "kind"}
    if kind == "polling":
        return PollingClock(**options)
    if kind == "manual":
        return ManualClock(**options)
    if kind == "real":
        return RealClock(**{"speed": 1000.0, **options})
    raise pytest.UsageError(f"{CLOCK_MARKER} takes 'polling', 'manual' or 'real', not {kind!r}")


@pytest.fixture
def runbridge_provider() -> str:
    """Name of the provider under test; override or parametrize this fixture, or mark
    the test ``@pytest.mark.runbridge_providers``."""
    raise pytest.UsageError(
        "override the 'runbridge_provider' fixture to name the provider under test, "
        "or mark the test @pytest.mark.runbridge_providers"
    )


@pytest.fixture
def runbridge_emulator(runbridge_provider: str, request: pytest.FixtureRequest) -> Emulator:
    """A fresh emulator of the provider under test, on the clock ``runbridge_clock``
    chooses (a ``PollingClock`` by default: runs finish as they are polled)."""
    clock = _clock(request.node.get_closest_marker(CLOCK_MARKER))
    return load_emulator(runbridge_provider, clock=clock)


@pytest_asyncio.fixture
async def runbridge_client(
    runbridge_provider: str, runbridge_emulator: Emulator
) -> AsyncIterator[RunClient]:
    """A client connected to ``runbridge_emulator`` served on 127.0.0.1."""
    async with emulated_client(runbridge_provider, emulator=runbridge_emulator) as (client, _):
        yield client


@pytest.fixture
def runbridge_sync_client(
    runbridge_provider: str, runbridge_emulator: Emulator
) -> Iterator[SyncRunClient]:
    """A synchronous client connected to ``runbridge_emulator``, which is served on a
    thread of its own; for plain ``def`` tests of code that uses ``connect_sync``."""
    with emulated_sync_client(runbridge_provider, emulator=runbridge_emulator) as (client, _):
        yield client


@pytest_asyncio.fixture
async def runbridge_events(
    runbridge_provider: str, runbridge_emulator: Emulator
) -> AsyncIterator[EmulatedEvents]:
    """``runbridge_emulator`` delivering its run events to a receiver on 127.0.0.1, with a
    client whose waits finish on them (``.client``, ``.receiver``, ``.create_options``,
    ``await .next_event()``); skipped for a provider that pushes no run events."""
    if not default_registry.adapter(runbridge_provider).capabilities.events:
        pytest.skip(f"{runbridge_provider} pushes no run events")
    async with emulated_events(runbridge_provider, emulator=runbridge_emulator) as events:
        yield events
