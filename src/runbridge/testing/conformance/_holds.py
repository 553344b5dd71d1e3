"""Runs that will not finish on their own: held for a person or paused, pause and resume,
and statuses the adapter cannot map."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from ... import Run, RunChange, RunClient, RunHeld, RunStatus, UnknownStatus
from ...emulation import Emulator
from ._base import ConformanceBase
from ._statuses import UNDECLARED

_DEADLINE = 10.0
"""Seconds a test polls for a state the emulator reaches on its own clock."""


async def _collect(changes: AsyncIterator[RunChange], into: list[RunChange]) -> None:
    async for change in changes:
        into.append(change)


class HoldConformance(ConformanceBase):
    """Every native status the adapter declares as held ends ``wait`` and ``watch`` at
    once with ``RunHeld`` (or is waited through with ``on_hold="wait"``); a status the
    adapter cannot map ends them with ``UnknownStatus`` after the grace; native
    ``pause`` and ``resume`` hold a run and let it go on."""

    async def test_held_statuses_end_waits_at_once(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        statuses = self.declared_statuses(client)
        if not statuses.holds:
            pytest.skip(f"{self.provider} declares no status in which a run is held")
        documented = set(emulator.statuses.documented)
        emulator.plan_next(queued=10_000)
        run = await client.create(target)
        for native, kind in statuses.holds.items():
            emulator.force_status(run.id, native, undocumented=native not in documented)
            with pytest.raises(RunHeld) as caught:
                await client.wait(run, timeout=30, poll_interval=0.01)
            held = caught.value.run
            assert held.hold is not None and held.hold.kind == kind, native
            assert caught.value.hold == held.hold
            assert not held.status.is_terminal
            assert held.native_status == native
            seen: list[RunChange] = []
            with pytest.raises(RunHeld):
                await _collect(client.watch(run, timeout=30, poll_interval=0.01), seen)
            assert seen and seen[-1].run.hold is not None and "hold" in seen[-1].changed

    async def test_on_hold_wait_keeps_waiting_until_the_run_ends(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        statuses = self.declared_statuses(client)
        if not statuses.holds:
            pytest.skip(f"{self.provider} declares no status in which a run is held")
        native = next(iter(statuses.holds))
        emulator.plan_next(queued=10_000)
        run = await client.create(target)
        emulator.force_status(
            run.id, native, undocumented=native not in emulator.statuses.documented
        )
        seen: list[Run] = []

        def poll(current: Run) -> None:
            seen.append(current)
            if len(seen) == 3:  # a person acted: the run finishes
                emulator.force_status(run.id, emulator.statuses.succeeded)

        done = await client.wait(run, timeout=30, poll_interval=0.01, on_hold="wait", on_poll=poll)
        assert done.status is RunStatus.SUCCEEDED and done.hold is None
        assert all(r.hold is not None for r in seen[:3])

    async def test_an_unmappable_status_ends_the_wait_after_the_grace(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(queued=10_000)
        run = await client.create(target)
        emulator.force_status(run.id, UNDECLARED, undocumented=True)
        with pytest.raises(UnknownStatus) as caught:
            await client.wait(run, timeout=30, poll_interval=0.01, unknown_grace=0.05)
        assert caught.value.native_status == UNDECLARED
        assert UNDECLARED in str(caught.value)
        assert caught.value.run.status is RunStatus.UNKNOWN

    async def test_pause_holds_the_run_and_resume_lets_it_go_on(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        self.need(client, "pause")
        self.need(client, "resume")
        emulator.plan_next(queued=0, running=10_000)
        run = await client.create(target)
        paused = await client.pause(run, reason="checked by the conformance kit")
        assert paused.ref == run.ref and not paused.status.is_terminal
        held = await self._until(client, emulator, run, lambda r: r.hold is not None)
        assert held.hold is not None and held.hold.kind == "paused"
        with pytest.raises(RunHeld):
            await client.wait(run, timeout=30, poll_interval=0.01)
        resumed = await client.resume(run)
        assert resumed.ref == run.ref
        going = await self._until(client, emulator, run, lambda r: r.hold is None)
        assert going.status is RunStatus.RUNNING

    async def _until(self, client: RunClient, emulator: Emulator, run: Run, check: object) -> Run:
        """The run, read until ``check`` passes (within ``_DEADLINE`` seconds); a manual
        emulator clock is moved a second between reads (a pause takes effect in time)."""
        assert callable(check)
        end = time.monotonic() + _DEADLINE
        while True:
            with contextlib.suppress(TypeError):  # only a manual clock can be advanced
                emulator.advance(1.0)
            current = await client.get(run)
            if check(current) or time.monotonic() > end:
                assert check(current), f"run {run.ref} never got there: {current}"
                return current
