"""A run's lifecycle as the emulator's clock plays it: success, failure, running, waiting."""

from __future__ import annotations

import pytest

from ... import RunClient, RunStatus, WaitTimeout
from ...emulation import Emulator
from ._base import ConformanceBase


class LifecycleConformance(ConformanceBase):
    """Runs that succeed, fail, are seen running, and ``wait`` that times out."""

    async def test_run_succeeds(self, client: RunClient, emulator: Emulator, target: str) -> None:
        emulator.plan_next(outcome=RunStatus.SUCCEEDED)
        run = await client.create(target, inputs={"n": 1})
        done = await self.settle(client, emulator, run)
        assert done.status is RunStatus.SUCCEEDED
        assert done.failure is None
        if "finished_at" in client.capabilities.reports:
            assert done.finished_at is not None and done.finished_at.tzinfo is not None
            assert done.started_at is None or done.started_at <= done.finished_at

    async def test_run_fails_with_a_failure(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(outcome=RunStatus.FAILED)
        run = await client.create(target, inputs={"n": 1})
        done = await self.settle(client, emulator, run)
        assert done.status is RunStatus.FAILED
        assert done.failure is not None
        assert done.failure.kind in ("task", "system", "timeout")

    async def test_running_is_observed_between_queue_and_finish(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(queued=10, running=100)
        run = await client.create(target)
        emulator.advance(50)
        assert (await client.get(run)).status is RunStatus.RUNNING

    async def test_wait_times_out_with_the_last_run(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(queued=10_000)
        run = await client.create(target)
        with pytest.raises(WaitTimeout) as caught:
            await client.wait(run, timeout=0.05, poll_interval=0.01)
        last = caught.value.run
        assert last is not None and last.ref == run.ref
        assert not last.status.is_terminal
