"""What application developers' tests rely on from an emulator: the runs created and the
calls made, plans per target and plans that never finish, seeded histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ... import RunClient, RunStatus
from ...emulation import Emulator
from ._base import SETTLE, UPGRADING, ConformanceBase


class AppTestingConformance(ConformanceBase):
    """The emulator as an application's test double (``docs/testing.md``): ``created``,
    ``calls``, ``plan_next(target=...)``, plans that stay running, and ``seed``."""

    async def test_created_runs_say_what_was_asked(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        run = await client.create(target, inputs={"n": 1})
        assert [c.id for c in emulator.created] == [run.id], (
            f"the {self.provider} emulator must note each run its API creates "
            f"(call record_created from the create handler; new in runbridge 0.2, {UPGRADING})"
        )
        created = emulator.created[0]
        assert created.target == emulator.target_key(target)
        assert dict(created.inputs) == {"n": 1}

    async def test_calls_are_counted_per_operation(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        run = await client.create(target)
        read_by_create = emulator.calls["get"]  # a create may read its new run back
        await client.get(run)
        expected = {"create": 1, "get": read_by_create + 1}
        if self.supports(client, "list"):
            await client.list_page(target=target)
            expected["list"] = 1
        got = {name: emulator.calls[name] for name in expected}
        assert got == expected, (
            f"the {self.provider} emulator named its calls {dict(emulator.calls)}; declare "
            "its routes in `operations`, by (METHOD, route path) (new in runbridge 0.2; "
            f"{UPGRADING})"
        )

    async def test_a_plan_for_the_target_is_followed(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(outcome=RunStatus.FAILED, target=target)
        done = await self.settle(client, emulator, await client.create(target))
        assert done.status is RunStatus.FAILED, (
            f"the {self.provider} emulator ignored a plan for target {target!r}: "
            "pass the run's target (as target_key gives it) to take_plan (new in runbridge "
            f"0.2; {UPGRADING})"
        )

    async def test_a_run_planned_to_stay_running_stays(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(outcome=RunStatus.RUNNING)
        run = await client.create(target)
        emulator.advance(SETTLE * 1000)
        assert (await client.get(run)).status is RunStatus.RUNNING

    async def test_a_seeded_history_reads_back(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        now = datetime.fromtimestamp(emulator.now(), UTC)
        try:
            older = emulator.seed(target, status="failed", created_at=now - timedelta(hours=2))
        except NotImplementedError as exc:
            pytest.skip(f"{exc}: implement seed_run so application tests can seed histories")
        newer = emulator.seed(target, created_at=now - timedelta(hours=1))
        assert emulator.created == []
        read = await client.get(older)
        assert read.status is RunStatus.FAILED
        if "created_at" in client.capabilities.reports:
            assert read.created_at is not None
            assert abs(read.created_at - (now - timedelta(hours=2))) < timedelta(seconds=1)
        if self.supports(client, "list"):
            listed = [run.id async for run in client.list(target=target)]
            assert set(listed) == {older, newer}
            if client.capabilities.newest_first:
                assert listed == [newer, older]
