"""Writes to runs: ``create_many``, ``update``, ``cancel``, ``retry``, ``delete``; each
where the capabilities say it works, and refused without a request where they do not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from ... import (
    OPERATIONS,
    IllegalTransition,
    NotFound,
    RunClient,
    RunRef,
    RunRequest,
    RunStatus,
    Support,
    UnsupportedOperation,
)
from ...adapter import can_transition
from ...emulation import Emulator
from ._base import ConformanceBase


class WriteConformance(ConformanceBase):
    """``create_many``, ``update``, ``cancel``, ``retry`` and ``delete``."""

    async def test_create_many_reports_every_run(self, client: RunClient, target: str) -> None:
        self.need(client, "create_many")
        requests = [RunRequest(target=target, inputs={"i": i}) for i in range(3)]
        result = await client.create_many(requests)
        assert result.ok, result.errors
        assert len({run.ref for run in result.runs}) == 3

    async def test_cancel_a_pending_run(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        self.need(client, "cancel")
        emulator.plan_next(queued=10_000)
        run = await client.create(target)
        cancelled = await client.cancel(run)
        assert cancelled.status is RunStatus.CANCELLED
        assert (await client.get(run)).status is RunStatus.CANCELLED
        with pytest.raises(IllegalTransition):
            await client.cancel(run)

    async def test_retry_a_finished_run(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        self.need(client, "retry")
        emulator.plan_next(outcome=RunStatus.FAILED)
        run = await client.create(target, inputs={"n": 7})
        await self.settle(client, emulator, run)
        retried = await client.retry(run)
        assert not retried.status.is_terminal
        if client.capabilities.support("retry") is Support.NATIVE:
            assert retried.ref == run.ref
        else:
            assert retried.ref != run.ref
        with pytest.raises(IllegalTransition):
            await client.retry(retried)

    async def test_update_moves_status_legally_only(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        self.need(client, "update")
        emulator.plan_next(queued=10_000)
        run = await client.create(target)
        moved = await client.update(run, status=RunStatus.RUNNING)
        assert moved.status is RunStatus.RUNNING
        finished = await client.update(run, status=RunStatus.SUCCEEDED)
        assert finished.status is RunStatus.SUCCEEDED
        transitions = client.adapter.transitions
        if can_transition(RunStatus.SUCCEEDED, RunStatus.RUNNING, transitions=transitions):
            return  # the provider documents this move (Adapter.transitions)
        with pytest.raises(IllegalTransition):
            await client.update(run, status=RunStatus.RUNNING)

    async def test_delete_removes_the_run(self, client: RunClient, target: str) -> None:
        self.need(client, "delete")
        run = await client.create(target)
        await client.delete(run)
        with pytest.raises(NotFound):
            await client.get(run)

    async def test_unsupported_operations_say_so_without_a_request(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        ref = RunRef(self.provider, emulator.unknown_id())
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "create_many": lambda: client.create_many([RunRequest(target=target)]),
            "update": lambda: client.update(ref, status=RunStatus.RUNNING),
            "cancel": lambda: client.cancel(ref),
            "retry": lambda: client.retry(ref),
            "delete": lambda: client.delete(ref),
            "pause": lambda: client.pause(ref),
            "resume": lambda: client.resume(ref),
        }
        for operation in OPERATIONS:
            if operation not in calls or self.supports(client, operation):
                continue
            seen = len(emulator.requests)
            with pytest.raises(UnsupportedOperation) as caught:
                await calls[operation]()
            assert caught.value.provider == self.provider
            assert caught.value.operation == operation
            assert self.provider in str(caught.value) and operation in str(caught.value)
            assert len(emulator.requests) == seen
