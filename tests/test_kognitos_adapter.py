"""The Kognitos adapter through the public API, against its emulator over loopback HTTP."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

import runbridge
from runbridge import (
    AuthError,
    ConfigError,
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
    UnsupportedOperation,
)
from runbridge.testing import emulated_client, testing_options
from runbridge_kognitos import KognitosEmulator

LIST = ("GET", "/v2/runs")


@pytest.fixture
def emulator() -> KognitosEmulator:
    return KognitosEmulator()


@pytest.fixture
async def client(emulator: KognitosEmulator) -> AsyncIterator[RunClient]:
    options = testing_options(retry=RetryPolicy.never())
    async with emulated_client("kognitos", emulator=emulator, options=options) as (client, _):
        yield client


@pytest.fixture
def target(emulator: KognitosEmulator) -> str:
    return emulator.default_target


def run_json(**overrides: Any) -> dict[str, Any]:
    """A documented run object (the example of the runs reference), with changes."""
    body = {
        "agent_id": "b4fznghynbdemslfd5k044fgd",
        "created_at": "2021-01-01T12:00:00",
        "file_ids": None,
        "id": "b4fznghynbdemslfd5k044fgd",
        "name": "Process invoice",
        "outputs": None,
        "process_id": "9nvx1hdm9bd74rp585oe81t5i",
        "stage": "Published",
        "status": "Created",
    }
    body.update(overrides)
    return body


def tamper(cursor: str) -> str:
    """Alter the provider token inside a runbridge cursor (base64url JSON of [provider, token])."""
    provider, token = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    token = ("B" if token[0] == "A" else "A") + token[1:]
    return base64.urlsafe_b64encode(json.dumps([provider, token]).encode()).decode().rstrip("=")


# -- statuses and run objects --------------------------------------------------------------


@pytest.mark.parametrize(
    ("native", "status", "kind"),
    [
        ("Created", RunStatus.PENDING, None),
        ("Pending", RunStatus.PENDING, None),
        ("Running", RunStatus.RUNNING, None),
        ("Succeeded", RunStatus.SUCCEEDED, None),
        ("Failed", RunStatus.FAILED, "task"),
        ("TimedOut", RunStatus.FAILED, "timeout"),
        ("Cancelled", RunStatus.CANCELLED, None),
        ("Paused", RunStatus.UNKNOWN, None),
        ("succeeded", RunStatus.UNKNOWN, None),
    ],
)
async def test_native_statuses_map_to_canonical(
    client: RunClient,
    emulator: KognitosEmulator,
    target: str,
    native: str,
    status: RunStatus,
    kind: str | None,
) -> None:
    emulator.plan_next(native=native, queued=0, running=0)
    run = await client.create(target)
    emulator.advance(1)
    got = await client.get(run)
    assert got.status is status
    assert got.native_status == native == got.raw["status"]
    assert (got.failure.kind if got.failure else None) == kind


@pytest.mark.parametrize(
    ("outcome", "failure", "native"),
    [
        (RunStatus.SUCCEEDED, "task", "Succeeded"),
        (RunStatus.FAILED, "task", "Failed"),
        (RunStatus.FAILED, "system", "Failed"),
        (RunStatus.FAILED, "timeout", "TimedOut"),
        (RunStatus.CANCELLED, "task", "Cancelled"),
    ],
)
async def test_planned_outcomes_arrive_as_native_statuses(
    client: RunClient,
    emulator: KognitosEmulator,
    target: str,
    outcome: RunStatus,
    failure: Any,
    native: str,
) -> None:
    emulator.plan_next(outcome=outcome, failure=failure)
    run = await client.create(target)
    emulator.advance(100)
    got = await client.get(run)
    assert (got.status, got.native_status) == (outcome, native)


@pytest.mark.parametrize(
    ("error", "message", "code"),
    [
        ({"message": "robot tripped", "code": "E42"}, "robot tripped", "E42"),
        ("robot tripped", "robot tripped", None),
        (None, None, None),
        (17, None, None),
    ],
)
async def test_failure_message_is_read_when_the_provider_sends_one(
    client: RunClient, emulator: KognitosEmulator, error: Any, message: str | None, code: str | None
) -> None:
    emulator.inject(200, body=run_json(status="Failed", error=error))
    got = await client.get(emulator.unknown_id())
    assert got.failure is not None
    assert (got.failure.kind, got.failure.message, got.failure.code) == ("task", message, code)


async def test_documented_run_object_reads_and_extra_fields_are_ignored(
    client: RunClient, emulator: KognitosEmulator
) -> None:
    body = run_json(status="Succeeded", future_field={"x": 1}, outputs=[{"name": "n", "value": 4}])
    emulator.inject(200, body=body)
    got = await client.get(emulator.unknown_id())
    assert got.id == "b4fznghynbdemslfd5k044fgd"
    assert got.target == "b4fznghynbdemslfd5k044fgd/9nvx1hdm9bd74rp585oe81t5i"
    assert got.name == "Process invoice"
    assert got.outputs == {"n": 4}
    assert got.inputs == {}
    assert got.started_at is None and got.finished_at is None
    assert got.raw == body


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2021-01-01T12:00:00", datetime(2021, 1, 1, 12, tzinfo=UTC)),
        ("2021-01-01T12:00:00.250000", datetime(2021, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2021-01-01T12:00:00Z", datetime(2021, 1, 1, 12, tzinfo=UTC)),
        ("2021-01-01T14:00:00+02:00", datetime(2021, 1, 1, 12, tzinfo=UTC)),
    ],
)
async def test_timestamps_without_offset_are_utc(
    client: RunClient, emulator: KognitosEmulator, stamp: str, expected: datetime
) -> None:
    emulator.inject(200, body=run_json(created_at=stamp))
    got = await client.get(emulator.unknown_id())
    assert got.created_at == expected
    assert got.created_at is not None and got.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    "body",
    [
        run_json(id=None),
        run_json(id=""),
        run_json(status=None),
        run_json(created_at="yesterday"),
        run_json(outputs="forty-two"),
        run_json(outputs=[{"value": 1}]),
        run_json(file_ids=[1, 2]),
        {k: v for k, v in run_json().items() if k != "agent_id"},
        [run_json()],
        "not a run",
    ],
)
async def test_malformed_run_objects_are_response_errors(
    client: RunClient, emulator: KognitosEmulator, body: Any
) -> None:
    emulator.inject(200, body=body)
    with pytest.raises(ResponseError) as caught:
        await client.get(emulator.unknown_id())
    assert caught.value.provider == "kognitos"
    assert caught.value.operation == "get"


async def test_run_objects_without_the_emulator_extensions_still_read() -> None:
    emulator = KognitosEmulator(extensions=False)
    async with emulated_client("kognitos", emulator=emulator) as (client, _):
        run = await client.create(emulator.default_target, inputs={"a": 1})
        emulator.advance(100)
        done = await client.get(run)
    assert "inputs" not in done.raw and "started_at" not in done.raw
    assert done.inputs == {}
    assert done.status is RunStatus.SUCCEEDED
    assert done.started_at is None and done.finished_at is None


# -- targets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "stage", "canonical_suffix"),
    [("", "Published", ""), ("@Published", "Published", ""), ("@Draft", "Draft", "@Draft")],
)
async def test_target_names_agent_process_and_stage(
    client: RunClient,
    emulator: KognitosEmulator,
    target: str,
    suffix: str,
    stage: str,
    canonical_suffix: str,
) -> None:
    run = await client.create(target + suffix)
    stored = emulator.runs[run.id].target
    assert f"{stored.agent_id}/{stored.process_id}" == target
    assert stored.stage == stage == run.raw["stage"]
    assert run.target == target + canonical_suffix
    assert (await client.get(run)).target == run.target


MALFORMED_TARGETS = [
    "",
    "agent",
    "agent/",
    "/process",
    "a/b/c",
    "a/b@draft",
    "a/b@Staging",
    "a/b@",
    "a b/c",
    "a/b\n",
    "x" * 27 + "/p",
    "a/" + "x" * 27,
]


@pytest.mark.parametrize("bad", MALFORMED_TARGETS)
async def test_malformed_targets_are_rejected_before_any_request(
    client: RunClient, emulator: KognitosEmulator, bad: str
) -> None:
    seen = len(emulator.requests)
    for attempt in (lambda: client.create(bad), lambda: client.list_page(target=bad)):
        with pytest.raises(InvalidRequest) as caught:
            await attempt()
        assert caught.value.field == "target"
        if bad:  # an empty target is refused by the core before the adapter sees it
            assert "'<agent_id>/<process_id>[@Draft|@Published]'" in str(caught.value)
    assert len(emulator.requests) == seen


@pytest.mark.parametrize("which", ["agent", "process", "stage"])
async def test_unknown_agent_process_or_stage_is_not_found(
    client: RunClient, emulator: KognitosEmulator, which: str
) -> None:
    agent, process = emulator.add_process(stages=("Published",))
    target = {
        "agent": f"{emulator.unknown_id()}/{process}",
        "process": f"{agent}/{emulator.unknown_id()}",
        "stage": f"{agent}/{process}@Draft",
    }[which]
    with pytest.raises(NotFound) as caught:
        await client.create(target)
    assert caught.value.status == 404


# -- create --------------------------------------------------------------------------------


async def test_inputs_go_out_as_a_name_value_list_and_come_back_as_a_mapping(
    client: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    inputs = {"order_id": "b4fz", "amount": 42, "lines": [{"sku": "x"}], "note": None}
    run = await client.create(target, inputs=inputs)
    assert emulator.runs[run.id].inputs == [
        {"name": "order_id", "value": "b4fz"},
        {"name": "amount", "value": 42},
        {"name": "lines", "value": [{"sku": "x"}]},
        {"name": "note", "value": None},
    ]
    assert run.raw["inputs"] == emulator.runs[run.id].inputs
    assert (await client.get(run)).inputs == inputs


async def test_inputs_sent_as_an_object_are_read_too(
    client: RunClient, emulator: KognitosEmulator
) -> None:
    emulator.inject(200, body=run_json(inputs={"order_id": "b4fz"}))
    assert (await client.get(emulator.unknown_id())).inputs == {"order_id": "b4fz"}


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (RunStatus.SUCCEEDED, {"total_items": 42, "customer_id": "9nvx"}),
        (RunStatus.FAILED, None),
        (RunStatus.CANCELLED, None),
    ],
)
async def test_outputs_appear_only_on_success(
    client: RunClient,
    emulator: KognitosEmulator,
    target: str,
    outcome: RunStatus,
    expected: dict[str, Any] | None,
) -> None:
    emulator.plan_next(outcome=outcome, outputs={"total_items": 42, "customer_id": "9nvx"})
    run = await client.create(target)
    assert run.outputs is None
    emulator.advance(1.5)
    assert (await client.get(run)).outputs is None  # running
    emulator.advance(100)
    done = await client.get(run)
    assert done.outputs == expected
    if expected is not None:
        assert done.raw["outputs"] == [
            {"name": "total_items", "value": 42},
            {"name": "customer_id", "value": "9nvx"},
        ]


async def test_a_readable_name_is_derived_when_none_is_given(
    client: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    run = await client.create(target)
    process = target.split("/")[1]
    assert run.name is not None
    assert re.fullmatch(rf"runbridge {process} \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ", run.name)
    # The stored name also carries the exactly-once client token, hidden from Run.name.
    assert re.fullmatch(re.escape(run.name) + r" ~rb:[0-9a-f]{16}", emulator.runs[run.id].name)


@pytest.mark.parametrize(
    ("name", "kept"),
    [("n", "n"), ("Process invoice 42", "Process invoice 42"), ("x" * 100, "x" * 79)],
)
async def test_names_of_1_to_100_characters_are_sent_with_the_client_token(
    client: RunClient, emulator: KognitosEmulator, target: str, name: str, kept: str
) -> None:
    run = await client.create(target, name=name)
    stored = emulator.runs[run.id].name
    assert run.name == kept  # long names make room for the token
    assert len(stored) <= 100
    assert re.fullmatch(re.escape(kept) + r" ~rb:[0-9a-f]{16}", stored)


@pytest.mark.parametrize("name", ["", "x" * 101])
async def test_names_out_of_bounds_are_rejected_locally(
    client: RunClient, emulator: KognitosEmulator, target: str, name: str
) -> None:
    seen = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        await client.create(target, name=name)
    assert caught.value.field == "name"
    assert len(emulator.requests) == seen


async def test_uploaded_files_become_file_ids(
    client: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    files = [File("a.pdf", id="s3://bucket/a.pdf"), File("b.csv", id="s3://bucket/b.csv")]
    run = await client.create(target, files=files)
    assert emulator.runs[run.id].file_ids == ["s3://bucket/a.pdf", "s3://bucket/b.csv"]
    assert run.raw["file_ids"] == ["s3://bucket/a.pdf", "s3://bucket/b.csv"]
    plain = await client.create(target)
    assert emulator.runs[plain.id].file_ids is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"files": [File("a.pdf", content=b"%PDF")]}, "files"),
        ({"priority": "high"}, "priority"),
        ({"secrets": {"password": "pw"}}, "secrets"),
    ],
)
async def test_what_the_adapter_cannot_send_is_rejected_locally(
    client: RunClient,
    emulator: KognitosEmulator,
    target: str,
    kwargs: dict[str, Any],
    field: str,
) -> None:
    seen = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        await client.create(target, **kwargs)
    assert caught.value.field == field
    assert len(emulator.requests) == seen


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        ({}, "https://rest-api.app.kognitos.com/v2"),
        ({"region": "us"}, "https://rest-api.app.kognitos.com/v2"),
        ({"region": "eu"}, "https://rest-api.eu.kognitos.com/v2"),
        ({"region": "uk"}, "https://rest-api.uk.kognitos.com/v2"),
    ],
)
def test_region_picks_the_host(settings: dict[str, Any], url: str) -> None:
    assert runbridge.connect("kognitos", token="k", **settings).base_url == url


@pytest.mark.parametrize("region", ["mars", "EU", ""])
def test_unknown_region_is_a_config_error(region: str) -> None:
    with pytest.raises(ConfigError) as caught:
        runbridge.connect("kognitos", token="k", region=region)
    assert caught.value.field == "region"
    assert caught.value.provider == "kognitos"


# -- listing -------------------------------------------------------------------------------


async def test_listing_without_a_target_is_rejected_locally(
    client: RunClient, emulator: KognitosEmulator
) -> None:
    seen = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        await client.list_page()
    assert caught.value.field == "target"
    with pytest.raises(InvalidRequest):
        await client.list(status="succeeded").collect()
    assert len(emulator.requests) == seen


async def test_empty_listing_is_one_page_without_cursor(
    client: RunClient, emulator: KognitosEmulator
) -> None:
    empty = "/".join(emulator.add_process())
    page = await client.list_page(target=empty)
    assert page.items == () and page.next_cursor is None
    assert await client.list(target=empty).collect() == []


async def test_exactly_one_page_takes_one_request(
    client: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    created = [await client.create(target) for _ in range(3)]
    seen = emulator.requests.count(LIST)
    pages = [page async for page in client.list(target=target, page_size=3).pages()]
    assert len(pages) == 1 and pages[0].next_cursor is None
    assert [r.ref for r in pages[0].items] == [r.ref for r in reversed(created)]
    assert emulator.requests.count(LIST) == seen + 1


async def test_several_pages_newest_first(
    client: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    created = []
    for _ in range(5):
        created.append(await client.create(target))
        emulator.advance(1)
    pages = [page async for page in client.list(target=target, page_size=2).pages()]
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert [r.ref for p in pages for r in p.items] == [r.ref for r in reversed(created)]
    assert [p.next_cursor is None for p in pages] == [False, False, True]


async def test_a_cursor_can_be_reused(client: RunClient, target: str) -> None:
    for _ in range(3):
        await client.create(target)
    first = await client.list_page(target=target, page_size=1)
    assert first.next_cursor is not None
    again = await client.list_page(target=target, page_size=1, cursor=first.next_cursor)
    once_more = await client.list_page(target=target, page_size=1, cursor=first.next_cursor)
    assert again == once_more
    assert again.items[0].ref != first.items[0].ref


async def test_tampered_or_foreign_cursors_are_invalid(
    client: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    other = "/".join(emulator.add_process())
    for t in (target, other):
        for _ in range(2):
            await client.create(t)
    cursor = (await client.list_page(target=target, page_size=1)).next_cursor
    assert cursor is not None
    attempts: list[dict[str, Any]] = [
        {"target": target, "page_size": 1, "cursor": tamper(cursor)},
        {"target": other, "page_size": 1, "cursor": cursor},
        {"target": target, "page_size": 2, "cursor": cursor},
        {"target": target + "@Draft", "page_size": 1, "cursor": cursor},
    ]
    for kwargs in attempts:
        with pytest.raises(InvalidRequest) as caught:
            await client.list_page(**kwargs)
        assert caught.value.status == 400
        assert caught.value.field == "cursor"


async def test_status_filter_is_applied_client_side(
    client: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    for outcome_fast in (True, False, True, False):
        emulator.plan_next(queued=0 if outcome_fast else 10_000, running=0)
        await client.create(target)
        emulator.advance(1)
    page = await client.list_page(target=target, status="succeeded", page_size=2)
    # The provider sent two runs; one is left after filtering, and the listing goes on.
    assert [r.status for r in page.items] == [RunStatus.SUCCEEDED]
    assert page.next_cursor is not None
    every = await client.list(target=target, status="succeeded").collect()
    assert len(every) == 2 and all(r.status is RunStatus.SUCCEEDED for r in every)


@pytest.mark.parametrize("suffix", ["", "@Published", "@Draft"])
async def test_listing_is_by_stage_and_matches_equivalent_spellings(
    client: RunClient, target: str, suffix: str
) -> None:
    published = await client.create(target)
    draft = await client.create(target + "@Draft")
    listed = await client.list(target=target + suffix).collect()
    expected = draft if suffix == "@Draft" else published
    assert [r.ref for r in listed] == [expected.ref]
    assert listed[0].target == (target + "@Draft" if suffix == "@Draft" else target)


# -- operations the API lacks --------------------------------------------------------------


@pytest.mark.parametrize("operation", ["update", "cancel", "delete"])
async def test_update_cancel_delete_are_unsupported(
    client: RunClient, emulator: KognitosEmulator, operation: str
) -> None:
    run_id = emulator.unknown_id()
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "update": lambda: client.update(run_id, status=RunStatus.RUNNING),
        "cancel": lambda: client.cancel(run_id),
        "delete": lambda: client.delete(run_id),
    }
    seen = len(emulator.requests)
    with pytest.raises(UnsupportedOperation) as caught:
        await calls[operation]()
    assert (caught.value.provider, caught.value.operation) == ("kognitos", operation)
    assert str(caught.value) == f"kognitos.{operation}: kognitos does not support {operation}"
    assert len(emulator.requests) == seen


async def test_retry_creates_a_new_run_of_the_same_request(
    client: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    emulator.plan_next(outcome=RunStatus.FAILED)
    files = [File("a.pdf", id="s3://bucket/a.pdf")]
    run = await client.create(target + "@Draft", inputs={"n": 7}, name="invoice 7", files=files)
    emulator.advance(100)
    retried = await client.retry(run)
    assert retried.ref != run.ref
    assert retried.status is RunStatus.PENDING
    assert (retried.target, retried.inputs, retried.name) == (run.target, {"n": 7}, "invoice 7")
    assert retried.raw["file_ids"] == ["s3://bucket/a.pdf"]
    assert emulator.runs[retried.id].target == emulator.runs[run.id].target


async def test_retry_of_an_unfinished_run_is_illegal(
    client: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    emulator.plan_next(queued=10_000)
    run = await client.create(target)
    with pytest.raises(IllegalTransition):
        await client.retry(run)
    assert len(emulator.runs) == 1


async def test_retry_needs_the_inputs_the_provider_reported() -> None:
    emulator = KognitosEmulator(extensions=False)
    async with emulated_client("kognitos", emulator=emulator) as (client, _):
        emulator.plan_next(outcome=RunStatus.FAILED)
        run = await client.create(emulator.default_target, inputs={"n": 7})
        emulator.advance(100)
        with pytest.raises(InvalidRequest) as caught:
            await client.retry(run)
    assert caught.value.field == "inputs"
    assert len(emulator.runs) == 1


async def test_create_many_reports_each_failure_at_its_index(
    client: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    agent = target.split("/")[0]
    requests = [
        RunRequest(target=target, inputs={"i": 0}),
        RunRequest(target="not a target"),
        RunRequest(target=target, inputs={"i": 2}),
        RunRequest(target=f"{agent}/{emulator.unknown_id()}"),
    ]
    result = await client.create_many(requests, concurrency=2)
    assert not result.ok and result.requested == 4
    assert sorted(run.inputs["i"] for run in result.runs) == [0, 2]
    assert [(e.index, type(e.error)) for e in result.errors] == [
        (1, InvalidRequest),
        (3, NotFound),
    ]


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, InvalidRequest),
        (401, AuthError),
        (403, AuthError),
        (404, NotFound),
        (422, InvalidRequest),
        (429, RateLimited),
        (500, ProviderUnavailable),
        (502, ProviderUnavailable),
        (503, ProviderUnavailable),
    ],
)
async def test_error_statuses_map_to_typed_errors(
    client: RunClient, emulator: KognitosEmulator, status: int, error: type[Exception]
) -> None:
    body = {"status_code": status, "message": f"it went {status}", "details": None}
    emulator.inject(status, body=body, headers={"Retry-After": "7"})
    with pytest.raises(error) as caught:
        await client.get(emulator.unknown_id())
    assert isinstance(caught.value, runbridge.RunbridgeError)
    assert (caught.value.status, caught.value.message) == (status, f"it went {status}")
    assert caught.value.body == body
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 7


@pytest.mark.parametrize(
    ("details", "field", "message"),
    [
        (
            [{"field": "name", "message": "too long"}],
            "name",
            "Invalid input values: name: too long",
        ),
        (
            [{"field": "process_id", "message": "bad"}],
            "target",
            "Invalid input values: process_id: bad",
        ),
        ([{"field": "continuation_token", "message": "bad"}], "cursor", None),
        ([{"field": "limit", "message": "bad"}], "page_size", None),
        ([{"field": None, "message": "bad"}, {"field": "stage"}], "target", None),
        (
            [{"field": None, "message": "body is not JSON"}],
            None,
            "Invalid input values: body is not JSON",
        ),
        (["not an object"], None, "Invalid input values"),
        (None, None, "Invalid input values"),
    ],
)
async def test_error_details_name_the_field(
    client: RunClient,
    emulator: KognitosEmulator,
    details: Any,
    field: str | None,
    message: str | None,
) -> None:
    emulator.inject(
        400, body={"status_code": 400, "message": "Invalid input values", "details": details}
    )
    with pytest.raises(InvalidRequest) as caught:
        await client.get(emulator.unknown_id())
    assert caught.value.field == field
    if message is not None:
        assert caught.value.message == message


async def test_unshaped_error_bodies_still_map_by_status(
    client: RunClient, emulator: KognitosEmulator
) -> None:
    emulator.inject(404, body="<html>nope</html>")
    with pytest.raises(NotFound) as caught:
        await client.get(emulator.unknown_id())
    assert caught.value.message == "provider answered HTTP 404"
