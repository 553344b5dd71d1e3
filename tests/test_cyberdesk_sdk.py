"""The official ``cyberdesk`` SDK (2.2.69) pointed at the emulator works unchanged.

The SDK is synchronous here and the emulator is served by the test's event loop,
so every SDK call runs in a worker thread through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from runbridge import RunStatus
from runbridge_cyberdesk.emulator import CyberdeskEmulator

cyberdesk = pytest.importorskip("cyberdesk")

from cyberdesk import (  # noqa: E402
    CyberdeskClient,
    FileInput,
    RunCreate,
    RunField,
    RunListSortMode,
    RunResponse,
    RunUpdate,
)
from cyberdesk import RunStatus as SdkStatus  # noqa: E402
from cyberdesk.client import RetryConfig, RunBulkCreate, RunRetry  # noqa: E402

T = TypeVar("T")


@pytest.fixture
def emulator() -> CyberdeskEmulator:
    return CyberdeskEmulator()


@pytest.fixture
async def base_url(emulator: CyberdeskEmulator) -> AsyncIterator[str]:
    async with emulator.serve() as url:
        yield url


@contextmanager
def sdk(base_url: str, token: str, **retry: Any) -> Iterator[Any]:
    config = RetryConfig(**{"max_retries": 0, **retry})
    with CyberdeskClient(api_key=token, base_url=base_url, retry=config) as client:
        yield client


async def in_thread(base_url: str, token: str, work: Callable[[Any], T], **retry: Any) -> T:
    def run() -> T:
        with sdk(base_url, token, **retry) as client:
            return work(client)

    return await asyncio.to_thread(run)


async def test_create_get_and_list(base_url: str, emulator: CyberdeskEmulator) -> None:
    workflow = emulator.default_target

    def work(client: Any) -> tuple[Any, Any, Any, Any]:
        created = client.runs.create_sync(
            RunCreate(
                workflow_id=workflow,
                input_values={"x": "y"},
                sensitive_input_values={"password": "pw-123456"},
                file_inputs=[FileInput(filename="a.txt", content="aGVsbG8=")],
            )
        )
        run_id = str(created.data.id)
        got = client.runs.get_sync(run_id, include=["workflow"])
        page = client.runs.list_sync(
            skip=0,
            limit=50,
            status=SdkStatus.SCHEDULING,
            workflow_id=workflow,
            sort_mode=RunListSortMode.CREATED_AT_DESC,
            fields=[RunField.OUTPUT_DATA, RunField.STARTED_AT],
            include=["workflow", "machine"],
        )
        plain = client.runs.list_sync()
        return created, got, page, plain

    created, got, page, plain = await in_thread(base_url, emulator.token, work)
    assert created.error is None and isinstance(created.data, RunResponse)
    assert created.data.status is SdkStatus.SCHEDULING
    assert str(created.data.workflow_id) == emulator.default_target
    assert got.error is None and got.data.id == created.data.id
    assert got.data.input_values.to_dict() == {"x": "y"}
    assert page.error is None and page.data.total == 1
    assert page.data.items[0].id == created.data.id
    assert plain.error is None and plain.data.total == 1
    (write,) = [s for s in emulator.log if s.method == "POST"]
    assert write.header("idempotency-key")


@pytest.mark.parametrize(
    ("plan", "seconds", "native"),
    [
        ({"queued": 100}, 0, "scheduling"),
        ({"queued": 0, "running": 100}, 10, "running"),
        ({"queued": 0, "running": 100}, 95, "running_checks"),
        ({"outcome": RunStatus.SUCCEEDED}, 3600, "success"),
        ({"outcome": RunStatus.FAILED}, 3600, "task_failed"),
        ({"outcome": RunStatus.FAILED, "failure": "system"}, 3600, "error"),
        ({"outcome": RunStatus.CANCELLED}, 3600, "cancelled"),
    ],
)
async def test_every_status_parses_in_the_sdk(
    base_url: str, emulator: CyberdeskEmulator, plan: dict[str, Any], seconds: float, native: str
) -> None:
    emulator.checks_seconds = 10
    emulator.plan_next(**plan)

    def work(client: Any) -> tuple[Any, Any]:
        run = client.runs.create_sync(RunCreate(workflow_id=emulator.default_target)).data
        emulator.advance(seconds)
        return client.runs.get_sync(str(run.id)), client.runs.list_sync()

    got, page = await in_thread(base_url, emulator.token, work)
    assert got.error is None and got.data.status == SdkStatus(native)
    assert page.error is None and page.data.items[0].status == SdkStatus(native)


async def test_update_retry_and_delete(base_url: str, emulator: CyberdeskEmulator) -> None:
    emulator.plan_next(queued=1000)

    def work(client: Any) -> dict[str, Any]:
        run_id = str(
            client.runs.create_sync(RunCreate(workflow_id=emulator.default_target)).data.id
        )
        out: dict[str, Any] = {}
        out["running"] = client.runs.update_sync(
            run_id, RunUpdate(status=SdkStatus.RUNNING, output_data={"k": 1})
        )
        out["refused"] = client.runs.retry_sync(run_id, RunRetry())
        out["cancelled"] = client.runs.update_sync(run_id, RunUpdate(status=SdkStatus.CANCELLED))
        out["retried"] = client.runs.retry_sync(run_id, RunRetry(input_values={"n": 2}))
        out["deleted"] = client.runs.delete_sync(run_id)
        out["gone"] = client.runs.get_sync(run_id)
        out["id"] = run_id
        return out

    out = await in_thread(base_url, emulator.token, work)
    assert out["running"].data.status is SdkStatus.RUNNING
    assert out["running"].data.output_data.to_dict() == {"k": 1}
    assert out["refused"].error.status_code == 409
    assert out["cancelled"].data.status is SdkStatus.CANCELLED
    retried = out["retried"].data
    assert str(retried.id) == out["id"] and retried.status is SdkStatus.SCHEDULING
    assert retried.output_data is None and retried.input_values.to_dict() == {"n": 2}
    assert out["deleted"].error is None and out["deleted"].data == {"success": True}
    assert out["gone"].error.status_code == 404
    assert out["id"] not in emulator.runs


async def test_bulk_create(base_url: str, emulator: CyberdeskEmulator) -> None:
    emulator.fail_bulk(1, message="pool exhausted")

    def work(client: Any) -> tuple[Any, Any]:
        body = RunBulkCreate(workflow_id=emulator.default_target, count=3)
        return client.runs.bulk_create_sync(body), client.runs.bulk_create_sync(body)

    partial, full = await in_thread(base_url, emulator.token, work)
    assert partial.error is None
    assert len(partial.data.created_runs) == 2
    assert (partial.data.failed_count, partial.data.errors) == (1, ["pool exhausted"])
    assert full.error is None and len(full.data.created_runs) == 3
    assert len(emulator.runs) == 5


async def test_errors_reach_the_sdk_as_documented(
    base_url: str, emulator: CyberdeskEmulator
) -> None:
    def work(client: Any) -> tuple[Any, Any]:
        return client.runs.list_sync(limit=0), client.runs.get_sync(emulator.unknown_id())

    invalid, missing = await in_thread(base_url, emulator.token, work)
    assert invalid.data is None
    assert invalid.error.detail[0].loc == ["query", "limit"]
    assert invalid.error.detail[0].type_ == "greater_than_equal"
    assert missing.error.status_code == 404
    wrong = await in_thread(base_url, "wrong-token", lambda c: c.runs.list_sync())
    assert wrong.error.status_code == 401


async def test_sdk_retries_of_a_lost_write_are_replayed(
    base_url: str, emulator: CyberdeskEmulator
) -> None:
    emulator.lose_responses(1)

    def work(client: Any) -> Any:
        return client.runs.create_sync(RunCreate(workflow_id=emulator.default_target))

    created = await in_thread(
        base_url, emulator.token, work, max_retries=1, min_delay_seconds=0, max_delay_seconds=0
    )
    assert created.error is None
    assert list(emulator.runs) == [str(created.data.id)]
    first, second = [s for s in emulator.log if s.method == "POST"]
    assert first.header("idempotency-key") == second.header("idempotency-key")
