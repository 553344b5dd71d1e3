"""The Cyberdesk adapter through the public API, against its emulator over loopback HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

import runbridge
from runbridge import (
    AuthError,
    Conflict,
    Failure,
    File,
    IllegalTransition,
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
from runbridge.emulation import ManualClock
from runbridge.testing import emulated_client, testing_options
from runbridge_cyberdesk import CyberdeskAdapter, CyberdeskEmulator

SETTLE = 3600.0
SECRET = "hunter2-correct-horse"


@pytest.fixture
def emulator() -> CyberdeskEmulator:
    return CyberdeskEmulator()


@pytest.fixture
async def client(emulator: CyberdeskEmulator) -> AsyncIterator[RunClient]:
    async with emulated_client("cyberdesk", emulator=emulator) as (client, _):
        yield client


@pytest.fixture
async def once(emulator: CyberdeskEmulator) -> AsyncIterator[RunClient]:
    """A client that never retries, to see each error as the server gave it."""
    options = testing_options(retry=RetryPolicy.never())
    async with emulated_client("cyberdesk", emulator=emulator, options=options) as (client, _):
        yield client


def sent(emulator: CyberdeskEmulator, method: str, path: str) -> list[Any]:
    """The requests the emulator saw for ``method`` and ``path``."""
    return [s for s in emulator.seen if s.method == method and s.path == path]


# -- registration -----------------------------------------------------------------------


def test_registered_with_every_operation_native() -> None:
    info = {p.name: p for p in runbridge.providers()}["cyberdesk"]
    assert info.adapter is CyberdeskAdapter
    caps = info.capabilities
    assert all(caps.support(op) is Support.NATIVE for op in runbridge.OPERATIONS)
    assert caps.max_page_size == 1000 and caps.max_batch == 1000
    assert caps.filters == runbridge.FILTERS


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
    assert query.param("created_at_from") == runbridge.format_timestamp(
        middle.created_at - timedelta(seconds=50)
    )
    assert query.param("created_at_to") == runbridge.format_timestamp(middle.created_at)
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
    assert emulator.seen == []


# -- create -----------------------------------------------------------------------------


async def test_create_sends_inputs_secrets_files_and_options(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    machine, pool, session = (emulator.unknown_id() for _ in range(3))
    run = await client.create(
        emulator.default_target.upper(),
        inputs={"invoice": "INV-1"},
        secrets={"password": SECRET},
        files=[File("a.txt", content=b"hello\x00world")],
        machine_id=machine,
        pool_ids=[pool],
        session_id=session,
        release_session_after=True,
        is_priority=True,
    )
    assert run.target == emulator.default_target
    assert run.inputs == {"invoice": "INV-1"}
    raw = run.raw
    assert (raw["machine_id"], raw["pool_ids"], raw["session_id"]) == (machine, [pool], session)
    assert raw["release_session_after"] is True and raw["is_priority"] is True
    assert emulator.vault[run.id] == {"password": SECRET}
    assert set(raw["sensitive_input_aliases"]) == {"password"}
    (attachment_id,) = raw["input_attachment_ids"]
    assert emulator.attachments[attachment_id].content == b"hello\x00world"
    assert emulator.attachments[attachment_id].filename == "a.txt"
    for text in (orjson.dumps(raw).decode(), repr(run), repr(client)):
        assert SECRET not in text
    (request,) = sent(emulator, "POST", "/v1/runs")
    assert request.idempotency_key
    assert request.body["sensitive_input_values"] == {"password": "***"}


async def test_start_session_makes_the_run_its_session(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    run = await client.create(emulator.default_target, start_session=True)
    assert run.raw["session_id"] == run.id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"target": "not-a-uuid"}, "target"),
        ({"name": "nightly"}, "name"),
        ({"files": [File("x.pdf", id="file_1")]}, "files"),
        ({"options": {"priority": True}}, "priority"),
        ({"options": {"input_values": {"a": 1}}}, "input_values"),
    ],
)
async def test_bad_create_requests_fail_locally(
    client: RunClient, emulator: CyberdeskEmulator, kwargs: dict[str, Any], field: str
) -> None:
    request = RunRequest(**{"target": emulator.default_target, **kwargs})
    with pytest.raises(InvalidRequest) as caught:
        await client.create(request)
    assert caught.value.field == field
    assert emulator.seen == []


async def test_secrets_stay_out_of_errors_and_logs(
    client: RunClient, emulator: CyberdeskEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="runbridge")
    emulator.inject(503, body={"detail": f"upstream echoed {SECRET}"})
    emulator.inject(
        422,
        body={
            "detail": [
                {
                    "type": "string_too_short",
                    "loc": ["body", "sensitive_input_values", "password"],
                    "msg": f"bad value {SECRET}",
                    "input": SECRET,
                }
            ]
        },
    )
    with pytest.raises(InvalidRequest) as caught:
        await client.create(emulator.default_target, secrets={"password": SECRET})
    error = caught.value
    assert error.field == "sensitive_input_values.password"
    for text in (str(error), repr(error), orjson.dumps(error.body).decode(), caplog.text):
        assert SECRET not in text
    assert "attempt 1 failed" in caplog.text  # the retry after the 503 was logged


async def test_a_lost_create_response_is_replayed_not_duplicated(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.lose_responses(1)
    run = await client.create(emulator.default_target, inputs={"once": True})
    assert list(emulator.runs) == [run.id]
    first, second = sent(emulator, "POST", "/v1/runs")
    assert first.idempotency_key == second.idempotency_key
    await client.create(emulator.default_target)
    third = sent(emulator, "POST", "/v1/runs")[-1]
    assert third.idempotency_key != first.idempotency_key


# -- create_many ------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "chunks"), [(1001, [1000, 1]), (2500, [1000, 1000, 500])])
async def test_bulk_splits_into_chunks_of_1000(
    client: RunClient, emulator: CyberdeskEmulator, count: int, chunks: list[int]
) -> None:
    request = RunRequest(target=emulator.default_target, inputs={"batch": 7})
    result = await client.create_many([request] * count)
    assert result.ok and result.requested == count
    assert len({run.ref for run in result.runs}) == count
    assert all(run.inputs == {"batch": 7} for run in result.runs)
    bulk = sent(emulator, "POST", "/v1/runs/bulk")
    assert sorted((s.body["count"] for s in bulk), reverse=True) == chunks
    assert len({s.idempotency_key for s in bulk}) == len(chunks)
    assert [r for r in emulator.requests if r == ("POST", "/v1/runs/bulk")] == [
        ("POST", "/v1/runs/bulk")
    ] * len(chunks)


async def test_bulk_groups_equal_requests_and_keeps_caller_order(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    a = RunRequest(target=emulator.default_target, inputs={"k": "a"})
    b = RunRequest(target=emulator.default_target, inputs={"k": "b"})
    result = await client.create_many([a, a, b, a])
    assert result.ok
    assert [run.inputs["k"] for run in result.runs] == ["a", "a", "b", "a"]
    assert sorted(s.body["count"] for s in sent(emulator, "POST", "/v1/runs/bulk")) == [1, 3]


async def test_bulk_partial_failure_is_reported(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.fail_bulk(2, message="No machine available in pool")
    result = await client.create_many([RunRequest(target=emulator.default_target)] * 5)
    assert not result.ok
    assert len(result.runs) == 3 and result.requested == 5
    assert [(e.index, e.message) for e in result.errors] == [
        (3, "No machine available in pool"),
        (4, "No machine available in pool"),
    ]


async def test_bulk_failures_of_a_chunk_and_of_a_request_are_reported(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    good = RunRequest(target=emulator.default_target)
    missing = RunRequest(target=emulator.unknown_id())
    bad = RunRequest(target="nope")
    result = await client.create_many([good, missing, bad, missing, good])
    assert len(result.runs) == 2
    by_index = {e.index: e.error for e in result.errors}
    assert set(by_index) == {1, 2, 3}
    assert isinstance(by_index[1], NotFound) and isinstance(by_index[3], NotFound)
    assert isinstance(by_index[2], InvalidRequest)


async def test_bulk_with_create_only_options_creates_one_by_one(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    plain = RunRequest(target=emulator.default_target)
    aliased = RunRequest(target=emulator.default_target, options={"session_alias": "s1"})
    result = await client.create_many([plain, aliased, plain])
    assert result.ok
    assert result.runs[1].raw["session_alias"] == "s1"
    assert len(sent(emulator, "POST", "/v1/runs")) == 1
    assert [s.body["count"] for s in sent(emulator, "POST", "/v1/runs/bulk")] == [2]


async def test_a_lost_bulk_response_is_replayed_not_duplicated(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.lose_responses(1)
    result = await client.create_many([RunRequest(target=emulator.default_target)] * 3)
    assert result.ok and len(emulator.runs) == 3
    assert {run.id for run in result.runs} == set(emulator.runs)


# -- update, cancel, retry, delete ------------------------------------------------------


async def test_update_sends_only_what_is_set(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(queued=0, running=10_000)
    run = await client.create(emulator.default_target, inputs={"a": 1})
    emulator.advance(1)
    started = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    updated = await client.update(run, inputs={"a": 2}, started_at=started)
    assert updated.inputs == {"a": 2} and updated.started_at == started
    assert sent(emulator, "PATCH", f"/v1/runs/{run.id}")[-1].body == {
        "input_values": {"a": 2},
        "started_at": "2025-01-02T03:04:05Z",
    }
    done = await client.update(
        run,
        status=RunStatus.SUCCEEDED,
        outputs={"total": 3},
        finished_at=started + timedelta(minutes=1),
        options={"run_message_history": [{"role": "assistant"}]},
    )
    assert done.status is RunStatus.SUCCEEDED and done.native_status == "success"
    assert done.outputs == {"total": 3}
    assert done.finished_at == started + timedelta(minutes=1)
    assert done.raw["run_message_history"] == [{"role": "assistant"}]


@pytest.mark.parametrize(
    ("failure", "native"),
    [(Failure("system", "disk full"), "error"), (Failure("task", "no invoice"), "task_failed")],
)
async def test_update_to_failed_picks_the_native_flavour(
    client: RunClient, emulator: CyberdeskEmulator, failure: Failure, native: str
) -> None:
    emulator.plan_next(queued=0, running=10_000)
    run = await client.create(emulator.default_target)
    emulator.advance(1)
    failed = await client.update(run, status=RunStatus.FAILED, failure=failure)
    assert failed.native_status == native
    assert failed.failure == failure


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cost": Decimal("1.5")}, "cost"),
        ({"progress": runbridge.Progress(1, 2)}, "progress"),
        ({"options": {"status": "running"}}, "status"),
        ({"options": {"colour": "red"}}, "colour"),
    ],
)
async def test_bad_updates_fail_locally(
    client: RunClient, emulator: CyberdeskEmulator, fields: dict[str, Any], field: str
) -> None:
    run = await client.create(emulator.default_target)
    with pytest.raises(InvalidRequest) as caught:
        await client.update(run, **fields)
    assert caught.value.field == field
    assert sent(emulator, "PATCH", f"/v1/runs/{run.id}") == []


async def test_cancel_patches_the_status(client: RunClient, emulator: CyberdeskEmulator) -> None:
    emulator.plan_next(queued=0, running=10_000)
    run = await client.create(emulator.default_target)
    emulator.advance(5)
    cancelled = await client.cancel(run)
    assert cancelled.status is RunStatus.CANCELLED and cancelled.native_status == "cancelled"
    (patch,) = sent(emulator, "PATCH", f"/v1/runs/{run.id}")
    assert patch.body == {"status": "cancelled"} and patch.idempotency_key


async def test_cancel_of_a_finished_run_is_refused(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(outcome=RunStatus.SUCCEEDED)
    run = await client.create(emulator.default_target)
    emulator.advance(SETTLE)
    with pytest.raises(IllegalTransition):
        await client.cancel(run)
    assert sent(emulator, "PATCH", f"/v1/runs/{run.id}") == []
    assert (await client.get(run)).status is RunStatus.SUCCEEDED


async def test_retry_is_in_place_with_options(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(outcome=RunStatus.SUCCEEDED)
    run = await client.create(emulator.default_target, inputs={"n": 1})
    emulator.advance(SETTLE)
    assert (await client.get(run)).outputs is not None
    machine = emulator.unknown_id()
    retried = await client.retry(
        run, inputs={"n": 2}, secrets={"pin": SECRET}, machine_id=machine, reuse_session=False
    )
    assert retried.ref == run.ref
    assert retried.status is RunStatus.PENDING and retried.native_status == "scheduling"
    assert retried.outputs is None and retried.finished_at is None
    assert retried.inputs == {"n": 2} and retried.raw["machine_id"] == machine
    assert emulator.vault[run.id] == {"pin": SECRET}
    (request,) = sent(emulator, "POST", f"/v1/runs/{run.id}/retry")
    assert request.body == {
        "input_values": {"n": 2},
        "sensitive_input_values": {"pin": "***"},
        "machine_id": machine,
        "reuse_session": False,
    }
    assert SECRET not in repr(retried) and SECRET not in orjson.dumps(retried.raw).decode()


async def test_retry_of_a_running_run_is_refused(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(queued=0, running=10_000)
    run = await client.create(emulator.default_target)
    emulator.advance(5)
    with pytest.raises(IllegalTransition):
        await client.retry(run)
    assert sent(emulator, "POST", f"/v1/runs/{run.id}/retry") == []


async def test_retry_rejects_unknown_options(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(outcome=RunStatus.FAILED)
    run = await client.create(emulator.default_target)
    emulator.advance(SETTLE)
    with pytest.raises(InvalidRequest) as caught:
        await client.retry(run, priority=True)
    assert caught.value.field == "priority"


async def test_delete_then_not_found(client: RunClient, emulator: CyberdeskEmulator) -> None:
    run = await client.create(emulator.default_target)
    await client.delete(run)
    (request,) = sent(emulator, "DELETE", f"/v1/runs/{run.id}")
    assert request.idempotency_key
    with pytest.raises(NotFound):
        await client.get(run)
    with pytest.raises(NotFound):
        await client.delete(run)


async def test_list_target_filter_accepts_any_case(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    run = await client.create(emulator.default_target)
    listed = [r.ref async for r in client.list(target=emulator.default_target.upper())]
    assert listed == [run.ref]
