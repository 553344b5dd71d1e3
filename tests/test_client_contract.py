"""What the core promises whatever the adapter: typed input, honest filters and retries.

Against the memo provider (a third-party-style plugin) over loopback HTTP.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest

import runbridge
from memo_plugin import MemoAdapter
from memo_plugin.emulator import MemoEmulator
from runbridge import (
    Capabilities,
    Failure,
    InvalidRequest,
    Pagination,
    Run,
    RunClient,
    RunRef,
    RunStatus,
    RunUpdate,
    UnsupportedOperation,
    WaitTimeout,
)
from runbridge.adapter import Registry, RunFilter, hookimpl
from runbridge.testing import emulated_client


@pytest.fixture
def provider() -> str:
    return "memo"


async def test_update_takes_a_status_name(client: RunClient, memo: MemoEmulator) -> None:
    memo.plan_next(queued=1000)
    run = await client.create("echo")
    moved = await client.update(run, status="running")
    assert moved.status is RunStatus.RUNNING
    done = await client.update(run, RunUpdate(status="failed"))  # type: ignore[arg-type]
    assert done.status is RunStatus.FAILED


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"status": 3}, "status"),
        ({"status": "unknown"}, "status"),
        ({"outputs": 5}, "outputs"),
        ({"outputs": {"x": object()}}, "outputs"),
        ({"inputs": ["a"]}, "inputs"),
        ({"failure": "broke"}, "failure"),
        ({"started_at": "2024-01-01"}, "started_at"),
        ({"finished_at": datetime(2024, 1, 1)}, "finished_at"),
        ({"cost": 1.5}, "cost"),
        ({"cost": Decimal("NaN")}, "cost"),
        ({"progress": 3}, "progress"),
        ({"options": ["x"]}, "options"),
    ],
)
async def test_wrongly_typed_update_fields_are_named_before_any_request(
    client: RunClient, memo: MemoEmulator, fields: dict[str, Any], field: str
) -> None:
    run = await client.create("echo")
    seen = len(memo.requests)
    with pytest.raises(InvalidRequest) as caught:
        await client.update(run, **fields)
    assert caught.value.field == field
    assert caught.value.provider == "memo"
    assert len(memo.requests) == seen


async def test_an_update_that_is_not_a_run_update_is_refused(client: RunClient) -> None:
    run = await client.create("echo")
    with pytest.raises(InvalidRequest) as caught:
        await client.update(run, {"status": "running"})  # type: ignore[arg-type]
    assert caught.value.field == "update"


def test_a_target_filter_never_passes_a_run_whose_target_is_unknown() -> None:
    now = datetime.now(UTC)
    unknown = Run(ref=RunRef("memo", "a" * 12), status=RunStatus.PENDING, created_at=now)
    known = attrs.evolve(unknown, target="echo")
    other = attrs.evolve(unknown, target="sum")
    assert not RunFilter(target="echo").matches(unknown)
    assert RunFilter(target="echo").matches(known)
    assert not RunFilter(target="echo").matches(other)
    assert RunFilter().matches(unknown)


async def test_an_unknown_native_status_is_logged_once_per_provider_and_value(
    client: RunClient, memo: MemoEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    value = f"WARPED_{id(caplog)}"  # unique: the warning is once per process
    memo.plan_next(native=value, queued=0, running=0)
    run = await client.create("echo")
    with caplog.at_level(logging.WARNING, logger="runbridge"):
        for _ in range(3):
            assert (await client.get(run)).status is RunStatus.UNKNOWN
        assert [r async for r in client.list()]
    warnings = [r.getMessage() for r in caplog.records if value in r.getMessage()]
    assert len(warnings) == 1
    assert "memo" in warnings[0] and "unknown" in warnings[0]


async def test_a_wait_timeout_names_the_last_native_status(
    client: RunClient, memo: MemoEmulator
) -> None:
    memo.plan_next(native="LIMBO", queued=0, running=0)
    run = await client.create("echo")
    with pytest.raises(WaitTimeout) as caught:
        await client.wait(run, timeout=0.05, poll_interval=0.01)
    assert "LIMBO" in str(caught.value)
    assert caught.value.run.native_status == "LIMBO"


class BlindMemo(MemoAdapter):
    """Memo as if its runs did not say what their inputs were."""

    name = "blindmemo"
    retry_from_payload = False

    def retry_request(self, run: Run) -> runbridge.RunRequest:
        raise AssertionError("a blind adapter is never asked to rebuild a request")


@pytest.fixture
def blind_registry() -> Registry:
    registry = Registry(entry_points=False)

    class Plugin:
        @hookimpl
        def runbridge_register_adapters(self, register: Any) -> None:
            register(BlindMemo)

    registry.register_plugin(Plugin(), name="blind")
    return registry


async def test_emulated_retry_sends_the_remembered_request(
    blind_registry: Registry,
) -> None:
    memo = MemoEmulator()
    async with emulated_client("blindmemo", emulator=memo, registry=blind_registry) as (
        client,
        _,
    ):
        memo.plan_next(outcome=RunStatus.FAILED, queued=0, running=0)
        run = await client.create("sum", inputs={"a": 1}, name="first")
        again = await client.retry(run)
        assert again.ref != run.ref
        assert (again.target, again.name, dict(again.inputs)) == ("sum", "first", {"a": 1})


async def test_emulated_retry_of_a_run_it_cannot_rebuild_is_refused_before_any_request(
    blind_registry: Registry,
) -> None:
    memo = MemoEmulator()
    async with emulated_client("blindmemo", emulator=memo, registry=blind_registry) as (
        client,
        _,
    ):
        memo.plan_next(outcome=RunStatus.FAILED, queued=0, running=0)
        run = await client.create("sum", inputs={"a": 1})
    async with emulated_client("blindmemo", emulator=memo, registry=blind_registry) as (
        fresh,
        _,
    ):
        seen = len(memo.requests)
        with pytest.raises(UnsupportedOperation) as caught:
            await fresh.retry(run.ref)
        assert "only runs this client created" in str(caught.value)
        assert caught.value.operation == "retry"
        assert len(memo.requests) == seen


def test_capabilities_refuse_unknown_fields_and_notes() -> None:
    base: dict[str, Any] = {"native": {"get"}, "pagination": Pagination.CURSOR, "max_page_size": 5}
    with pytest.raises(ValueError, match="run fields"):
        Capabilities.of(**base, reports={"colour"})
    with pytest.raises(ValueError, match="notes"):
        Capabilities.of(**base, notes={"teleport": "no"})
    caps = Capabilities.of(**base, reports={"inputs"}, notes={"get": "slow"})
    assert caps.reports == frozenset({"inputs"}) and caps.notes == {"get": "slow"}


def test_failure_is_the_typed_failure_field() -> None:
    update = RunUpdate(status=RunStatus.FAILED, failure=Failure("task", "nope"))
    assert update.failure is not None and update.failure.kind == "task"
