"""The synchronous side of the test kit: ``runbridge_sync_client`` and
``emulated_sync_client``, with an emulator served on a thread of its own."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from runbridge import RunStatus, SyncRunClient
from runbridge.emulation import Emulator, PollingClock
from runbridge.testing import emulated_providers, emulated_sync_client, load_emulator

BUILTIN = emulated_providers(builtin=True)


def emulator_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("runbridge-emulator")]


def refuses(base_url: str) -> bool:
    parts = urlsplit(base_url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return False
    except OSError:
        return True


@pytest.mark.runbridge_clock("manual")
@pytest.mark.runbridge_providers(*BUILTIN)
def test_the_sync_fixture_follows_the_manual_clock(
    runbridge_sync_client: SyncRunClient, runbridge_emulator: Emulator
) -> None:
    runbridge_emulator.plan_next(queued=5, running=10)
    run = runbridge_sync_client.create(runbridge_emulator.default_target)
    assert runbridge_sync_client.get(run).status is RunStatus.PENDING
    runbridge_emulator.advance(7)
    assert runbridge_sync_client.get(run).status is RunStatus.RUNNING
    runbridge_emulator.advance(10)
    assert runbridge_sync_client.get(run).status is RunStatus.SUCCEEDED


@pytest.mark.runbridge_providers(*BUILTIN)
def test_the_sync_fixture_lists_a_seeded_history(
    runbridge_sync_client: SyncRunClient, runbridge_emulator: Emulator
) -> None:
    now, target = datetime.now(UTC), runbridge_emulator.default_target
    ids = [runbridge_emulator.seed(target, created_at=now - timedelta(hours=h)) for h in (1, 2, 3)]
    listed = runbridge_sync_client.list(target=target, page_size=2).collect()
    assert [run.id for run in listed] == ids


@pytest.mark.parametrize("provider", BUILTIN)
def test_leaving_closes_the_client_and_stops_the_server(provider: str) -> None:
    emulator = load_emulator(provider, clock=PollingClock())
    with emulated_sync_client(provider, emulator=emulator) as (client, _):
        base_url = client.base_url.removesuffix("/v2")
        assert not refuses(base_url) and emulator_threads()
    assert client.closed
    assert refuses(base_url)
    assert emulator_threads() == []


def test_an_error_inside_still_stops_everything() -> None:
    seen: list[SyncRunClient] = []

    def use_and_fail() -> None:
        with emulated_sync_client("runflow") as (client, _):
            seen.append(client)
            _ = 1 / 0

    with pytest.raises(ZeroDivisionError):
        use_and_fail()
    [client] = seen
    base_url = client.base_url
    assert client.closed and refuses(base_url) and emulator_threads() == []
