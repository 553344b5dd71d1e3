"""The runbridge pytest plugin's fixtures, as a user's own test suite would use them."""

from __future__ import annotations

import pytest

from runbridge import RunClient, RunStatus
from runbridge.emulation import Emulator
from runbridge.testing import emulated_providers


@pytest.fixture(params=emulated_providers(builtin=True))
def runbridge_provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.runbridge_clock("manual")
async def test_fixtures_serve_the_emulator_and_connect_a_client(
    runbridge_client: RunClient, runbridge_emulator: Emulator, runbridge_provider: str
) -> None:
    assert runbridge_client.provider == runbridge_provider
    assert runbridge_client.base_url.startswith("http://127.0.0.1:")
    runbridge_emulator.plan_next(outcome=RunStatus.SUCCEEDED, outputs={"ok": True})
    run = await runbridge_client.create(runbridge_emulator.default_target, inputs={"k": "v"})
    runbridge_emulator.advance(3600)
    done = await runbridge_client.wait(run, timeout=5, poll_interval=0.01)
    assert done.status is RunStatus.SUCCEEDED
    assert done.outputs is not None and done.outputs.get("ok") is True
    assert runbridge_emulator.requests
