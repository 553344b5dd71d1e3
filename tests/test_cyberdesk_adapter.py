"""The Cyberdesk adapter through the public API, against its emulator over loopback HTTP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

import runbridge
from runbridge import (
    AuthError,
    Conflict,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    RetryPolicy,
    RunClient,
    RunRequest,
    RunStatus,
    Support,
)
from runbridge.adapter import FILTERS, RUN_FIELDS, format_timestamp
from runbridge.emulation import ManualClock
from runbridge.testing import emulated_client, testing_options
from runbridge_cyberdesk import CyberdeskAdapter
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from support import SETTLE, sent


@pytest.fixture
def provider() -> str:
    return "cyberdesk"


# -- registration -----------------------------------------------------------------------


def test_registered_with_every_operation_native_but_pause() -> None:
    info = {p.name: p for p in runbridge.providers()}["cyberdesk"]
    assert info.adapter is CyberdeskAdapter
    caps = info.capabilities
    held = {"pause", "resume"}  # Cyberdesk runs cannot be paused
    assert all(caps.support(op) is Support.NATIVE for op in set(runbridge.OPERATIONS) - held)
    assert all(caps.support(op) is Support.UNSUPPORTED for op in held)
    assert caps.max_page_size == 1000 and caps.max_batch == 1000
    assert caps.filters == FILTERS
    # Honest for the documented RunResponse: no name, no progress; newest first
    # because list_page asks for sort_mode=created_at_desc.
    assert caps.reports == RUN_FIELDS - {"name", "progress"}
    assert caps.newest_first is True
    assert {"cancel", "retry", "list"} <= set(caps.notes)


async def test_listing_asks_for_newest_first(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    await client.list_page()
    assert emulator.log[-1].param("sort_mode") == "created_at_desc"


# -- statuses ---------------------------------------------------------------------------

STATUS_CASES = [
    # native, plan, seconds to advance, canonical, failure kind
    ("scheduling", {"queued": 100}, 10, RunStatus.PENDING, None),
    ("running", {"queued": 1, "running": 100}, 10, RunStatus.RUNNING, None),
    ("running_checks", {"queued": 1, "running": 100}, 95, RunStatus.RUNNING, None),
    ("success", {"outcome": RunStatus.SUCCEEDED}, SETTLE, RunStatus.SUCCEEDED, None),
    ("task_failed", {"outcome": RunStatus.FAILED}, SETTLE, RunStatus.FAILED, "task"),
    (
        "error",
        {"outcome": RunStatus.FAILED, "failure": "system"},
        SETTLE,
        RunStatus.FAILED,
        "system",
    ),
    ("cancelled", {"outcome": RunStatus.CANCELLED}, SETTLE, RunStatus.CANCELLED, None),
]


@pytest.mark.parametrize(("native", "plan", "seconds", "canonical", "kind"), STATUS_CASES)
async def test_every_native_status_maps(
    client: RunClient,
    emulator: CyberdeskEmulator,
    native: str,
    plan: dict[str, Any],
    seconds: float,
    canonical: RunStatus,
    kind: str | None,
) -> None:
    emulator.checks_seconds = 10
    emulator.plan_next(**plan)
    run = await client.create(emulator.default_target, inputs={"n": 1})
    emulator.advance(seconds)
    got = await client.get(run)
    assert got.native_status == native
    assert got.status is canonical
    assert (got.failure.kind if got.failure else None) == kind
    assert (got.started_at is None) == (native == "scheduling")
    assert (got.finished_at is not None) == canonical.is_terminal
    if native == "error":
        assert got.failure is not None
        assert got.failure.message == emulator.system_error_message
    if native == "task_failed":
        assert got.failure is not None
        assert got.failure.message == emulator.task_failure_message
    if native == "success":
        assert got.outputs == {"echo": {"n": 1}}


@pytest.mark.parametrize("native", [c[0] for c in STATUS_CASES])
async def test_every_forced_native_status_maps(
    client: RunClient, emulator: CyberdeskEmulator, native: str
) -> None:
    # force_status puts a run in any documented status, whatever the clock says.
    canonical, kind = next((c[3], c[4]) for c in STATUS_CASES if c[0] == native)
    emulator.plan_next(queued=0, running=10_000)
    run = await client.create(emulator.default_target)
    emulator.advance(1)
    emulator.force_status(run.id, native)
    got = await client.get(run)
    assert (got.native_status, got.status) == (native, canonical)
    assert (got.failure.kind if got.failure else None) == kind
    assert (got.finished_at is not None) == canonical.is_terminal


async def test_unknown_status_is_unknown_and_raw_is_kept(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(native="paused_for_review")
    run = await client.create(emulator.default_target)
    emulator.advance(SETTLE)
    got = await client.get(run)
    assert got.status is RunStatus.UNKNOWN
    assert got.native_status == "paused_for_review"
    assert got.raw["status"] == "paused_for_review"
    assert got.failure is None


async def test_extra_fields_are_ignored_and_kept_raw(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    run = await client.create(emulator.default_target)
    emulator.inject(200, body={**run.raw, "brand_new": {"nested": [1, 2]}})
    got = await client.get(run)
    assert got.ref == run.ref and got.status is RunStatus.PENDING
    assert got.raw["brand_new"] == {"nested": [1, 2]}


async def test_unreadable_run_is_a_response_error(
    once: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.inject(200, body={"id": emulator.unknown_id(), "status": "running"})
    with pytest.raises(ResponseError) as caught:
        await once.get(emulator.unknown_id())
    assert "workflow_id" in str(caught.value)


async def test_cost_is_read_from_usage_metadata_only_when_present(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    run = await client.create(emulator.default_target)
    assert run.cost is None
    updated = await client.update(
        run, options={"usage_metadata": {"total_cost_usd": 0.42, "tokens": 99}}
    )
    assert updated.cost == Decimal("0.42")
    updated = await client.update(run, options={"usage_metadata": {"tokens": 99}})
    assert updated.cost is None


# -- errors -----------------------------------------------------------------------------

ERROR_CASES = [
    (401, AuthError),
    (403, AuthError),
    (404, NotFound),
    (409, Conflict),
    (422, InvalidRequest),
    (429, RateLimited),
    (500, ProviderUnavailable),
    (502, ProviderUnavailable),
    (503, ProviderUnavailable),
    (504, ProviderUnavailable),
]


@pytest.mark.parametrize(("status", "error"), ERROR_CASES)
async def test_error_statuses_map_to_typed_errors(
    once: RunClient, emulator: CyberdeskEmulator, status: int, error: type[Exception]
) -> None:
    emulator.inject(status, headers={"Retry-After": "3"} if status == 429 else None)
    with pytest.raises(error) as caught:
        await once.get(emulator.unknown_id())
    assert type(caught.value) is error
    assert isinstance(caught.value, runbridge.RunbridgeError)
    assert caught.value.status == status
    assert caught.value.provider == "cyberdesk" and caught.value.operation == "get"
    assert "injected fault" in str(caught.value)
    if status == 429:
        assert isinstance(caught.value, RateLimited)
        assert caught.value.retry_after == 3


async def test_unknown_run_is_not_found(client: RunClient, emulator: CyberdeskEmulator) -> None:
    with pytest.raises(NotFound, match="Run not found"):
        await client.get(emulator.unknown_id())


async def test_unknown_workflow_is_not_found(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    with pytest.raises(NotFound, match="Workflow not found"):
        await client.create(emulator.unknown_id())


async def test_server_validation_names_the_field(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await client.create(emulator.default_target, machine_id="not-a-uuid")
    assert caught.value.status == 422
    assert caught.value.field == "machine_id"
    assert "valid UUID" in str(caught.value) and "uuid_parsing" in str(caught.value)


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (["body", "input_values", "x"], "input_values.x"),
        (["body", "file_inputs", 0, "content"], "file_inputs.0.content"),
        (["query", "limit"], "limit"),
        (["path", "run_id"], "run_id"),
        (["body"], None),
    ],
)
async def test_validation_loc_becomes_the_field(
    once: RunClient, emulator: CyberdeskEmulator, loc: list[Any], field: str | None
) -> None:
    detail = [
        {"type": "value_error", "loc": loc, "msg": "Value error, nope", "input": 1},
        {"type": "missing", "loc": ["body", "other"], "msg": "Field required", "input": {}},
    ]
    emulator.inject(422, body={"detail": detail})
    with pytest.raises(InvalidRequest) as caught:
        await once.get(emulator.unknown_id())
    assert caught.value.field == field
    assert "Value error, nope" in str(caught.value) and "Field required" in str(caught.value)


@pytest.mark.parametrize(
    ("detail", "message"),
    [
        ({"message": "Run is busy", "code": "run_busy"}, "Run is busy [run_busy]"),
        ({"msg": "Run is busy"}, "Run is busy"),
    ],
)
async def test_an_object_detail_is_read(
    once: RunClient, emulator: CyberdeskEmulator, detail: dict[str, str], message: str
) -> None:
    # Not documented, but a FastAPI HTTPException may carry an object as detail.
    emulator.inject(409, body={"detail": detail})
    with pytest.raises(Conflict) as caught:
        await once.get(emulator.unknown_id())
    assert caught.value.message == message


async def test_conflict_from_the_server(client: RunClient, emulator: CyberdeskEmulator) -> None:
    # The core lets a run in an unknown status be retried; the server refuses it.
    emulator.plan_next(native="paused_for_review")
    run = await client.create(emulator.default_target)
    emulator.advance(SETTLE)
    with pytest.raises(Conflict, match="only terminal runs") as caught:
        await client.retry(run)
    assert caught.value.status == 409


async def test_rate_limit_reports_retry_after() -> None:
    emulator = CyberdeskEmulator(rate_limit=2, rate_window=60, clock=ManualClock(start=1000.0))
    options = testing_options(retry=RetryPolicy.never())
    async with emulated_client("cyberdesk", emulator=emulator, options=options) as (client, _):
        run = await client.create(emulator.default_target)
        await client.get(run)
        with pytest.raises(RateLimited) as caught:
            await client.get(run)
        assert caught.value.status == 429
        assert caught.value.retry_after == 20  # the window ends at t=1020
        emulator.advance(20)
        assert (await client.get(run)).ref == run.ref


# -- listing ----------------------------------------------------------------------------


async def make_runs(
    client: RunClient, emulator: CyberdeskEmulator, count: int
) -> list[runbridge.Run]:
    """``count`` runs, one second apart, oldest first."""
    runs = []
    for i in range(count):
        runs.append(await client.create(emulator.default_target, inputs={"i": i}))
        emulator.advance(1)
    return runs


async def test_empty_list(client: RunClient, emulator: CyberdeskEmulator) -> None:
    page = await client.list_page()
    assert page.items == () and page.next_cursor is None
    assert [run async for run in client.list()] == []
    assert len(sent(emulator, "GET", "/v1/runs")) == 2


async def test_exactly_one_page(client: RunClient, emulator: CyberdeskEmulator) -> None:
    runs = await make_runs(client, emulator, 3)
    pages = [page async for page in client.list(page_size=3).pages()]
    assert len(pages) == 1
    assert [r.ref for r in pages[0].items] == [r.ref for r in reversed(runs)]
    assert pages[0].next_cursor is None
    assert len(sent(emulator, "GET", "/v1/runs")) == 1


async def test_offset_pages_walk_newest_first(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    runs = await make_runs(client, emulator, 7)
    pages = [page async for page in client.list(page_size=3).pages()]
    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert [r.ref for p in pages for r in p.items] == [r.ref for r in reversed(runs)]
    queries = sent(emulator, "GET", "/v1/runs")
    assert [q.param("skip") for q in queries] == ["0", "3", "6"]
    assert {q.param("limit") for q in queries} == {"3"}
    assert {q.param("sort_mode") for q in queries} == {"created_at_desc"}


async def test_default_page_size_is_the_servers(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    result = await client.create_many([RunRequest(target=emulator.default_target)] * 101)
    assert result.ok
    pages = [page async for page in client.list().pages()]
    assert [len(p.items) for p in pages] == [100, 1]
    assert [q.param("limit") for q in sent(emulator, "GET", "/v1/runs")] == [None, None]
    top = await client.list_page(page_size=1000)
    assert len(top.items) == 101 and top.next_cursor is None


async def test_short_page_with_a_larger_total_stops(
    once: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.inject(200, body={"items": [], "total": 5, "skip": 0, "limit": 2})
    page = await once.list_page(page_size=2)
    assert page.items == () and page.next_cursor is None


async def test_filters_are_sent_to_the_server(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    other = emulator.add_workflow()
    emulator.plan_next(outcome=RunStatus.SUCCEEDED, queued=0, running=1)
    early = await client.create(other)
    emulator.advance(100)
    emulator.plan_next(outcome=RunStatus.SUCCEEDED, queued=0, running=1)
    middle = await client.create(other)
    emulator.advance(100)
    emulator.plan_next(queued=10_000)
    await client.create(other)  # still scheduling
    await client.create(emulator.default_target)  # another workflow
    emulator.advance(100)
    assert middle.created_at is not None
    found = [
        r.ref
        async for r in client.list(
            target=other,
            status="succeeded",
            created_after=middle.created_at - timedelta(seconds=50),
            created_before=middle.created_at,
        )
    ]
    assert found == [middle.ref]
    query = sent(emulator, "GET", "/v1/runs")[-1]
    assert query.param("workflow_id") == other
    assert query.param("status") == "success"
    assert query.param("created_at_from") == format_timestamp(
        middle.created_at - timedelta(seconds=50)
    )
    assert query.param("created_at_to") == format_timestamp(middle.created_at)
    assert early.ref not in found


async def test_running_filter_covers_both_running_statuses(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.checks_seconds = 50
    emulator.plan_next(queued=0, running=100)
    checking = await client.create(emulator.default_target)
    emulator.advance(60)
    emulator.plan_next(queued=0, running=100)
    running = await client.create(emulator.default_target)
    emulator.plan_next(queued=100)
    await client.create(emulator.default_target)
    emulator.advance(1)
    found = {r.ref: r.native_status async for r in client.list(status=RunStatus.RUNNING)}
    assert found == {checking.ref: "running_checks", running.ref: "running"}
    assert sent(emulator, "GET", "/v1/runs")[-1].param("status") is None
    both = [r async for r in client.list(status=[RunStatus.SUCCEEDED, RunStatus.FAILED])]
    assert both == []
    assert sent(emulator, "GET", "/v1/runs")[-1].param("status") is None


async def test_target_filter_must_be_a_uuid(client: RunClient, emulator: CyberdeskEmulator) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await client.list_page(target="invoices")
    assert caught.value.field == "target"
    assert emulator.log == []
