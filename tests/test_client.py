"""RunClient behaviour against the memo emulator over loopback HTTP."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import pytest

import runbridge
from memo_plugin import MemoAdapter
from memo_plugin.emulator import MemoEmulator
from runbridge import (
    Capabilities,
    ClientOptions,
    ConfigError,
    InvalidRequest,
    NotFound,
    Pagination,
    RunClient,
    RunRef,
    RunRequest,
    RunStatus,
    UnsupportedOperation,
)
from runbridge.adapter import Adapter, Registry, hookimpl
from runbridge.testing import emulated_client


@pytest.fixture
def provider() -> str:
    return "memo"


async def test_create_from_target_or_request(client: RunClient, memo: MemoEmulator) -> None:
    a = await client.create("echo", inputs={"x": 1}, name="first")
    b = await client.create(RunRequest(target="sum", inputs={"y": 2}))
    assert (a.target, a.name, dict(a.inputs)) == ("echo", "first", {"x": 1})
    assert b.target == "sum"
    assert set(memo.runs) == {a.id, b.id}


async def test_refs_are_accepted_in_every_form(client: RunClient) -> None:
    run = await client.create("echo")
    for form in (run, run.ref, str(run.ref), run.id):
        assert (await client.get(form)).ref == run.ref


async def test_a_ref_of_another_provider_is_refused(client: RunClient) -> None:
    with pytest.raises(InvalidRequest, match="belongs to cyberdesk") as caught:
        await client.get(RunRef("cyberdesk", "abcdefabcdef"))
    assert caught.value.field == "ref"


async def test_provider_validation_errors_name_the_field(client: RunClient) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await client.create("no-such-target")
    assert caught.value.field == "target"
    assert caught.value.status == 422
    assert caught.value.provider == "memo" and caught.value.operation == "create"


async def test_local_validation_errors_send_nothing(client: RunClient, memo: MemoEmulator) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await client.create("echo", name="n" * 101)
    assert caught.value.field == "name"
    assert memo.requests == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"created_after": datetime(2025, 1, 1)}, "created_after"),
        ({"page_size": 51}, "page_size"),
        ({"limit": -1}, "limit"),
    ],
)
async def test_bad_list_arguments_are_rejected_before_any_request(
    client: RunClient, memo: MemoEmulator, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        client.list(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert memo.requests == []


async def test_list_applies_filters_the_provider_lacks(
    client: RunClient, memo: MemoEmulator
) -> None:
    echo = [await client.create("echo") for _ in range(3)]
    await client.create("sum")
    got = [run.ref async for run in client.list(target="echo", page_size=2)]
    assert sorted(got) == sorted(r.ref for r in echo)


async def test_list_limit_stops_early(client: RunClient, memo: MemoEmulator) -> None:
    for _ in range(7):
        await client.create("echo")
    runs = await client.list(page_size=3, limit=4).collect()
    assert len(runs) == 4
    assert sum(1 for method, _ in memo.requests if method == "GET") == 2


async def test_a_cursor_from_another_provider_is_refused(client: RunClient) -> None:
    async with emulated_client("memo", emulator=MemoEmulator()) as (other, _):
        for _ in range(3):
            await other.create("echo")
        page = await other.list_page(page_size=1)
    assert page.next_cursor is not None
    # Same provider name but a cursor is only ours if it decodes: tamper with it.
    with pytest.raises(InvalidRequest) as caught:
        await client.list_page(cursor=page.next_cursor[:-3] + "@@@")
    assert caught.value.field == "cursor"


async def test_emulated_bulk_create_reports_each_failure_by_index(client: RunClient) -> None:
    requests = [
        RunRequest(target="echo", inputs={"i": 0}),
        RunRequest(target="missing"),
        RunRequest(target="sum", inputs={"i": 2}),
    ]
    result = await client.create_many(requests, concurrency=2)
    assert not result.ok
    assert result.requested == 3
    assert [r.target for r in result.runs] == ["echo", "sum"]
    assert [e.index for e in result.errors] == [1]
    assert isinstance(result.errors[0].error, InvalidRequest)


async def test_emulated_retry_creates_a_new_run_with_the_same_inputs(
    client: RunClient, memo: MemoEmulator
) -> None:
    memo.plan_next(outcome=RunStatus.FAILED)
    run = await client.create("sum", inputs={"a": 1})
    memo.advance(60)
    again = await client.retry(run)
    assert again.ref != run.ref
    assert (again.target, dict(again.inputs)) == ("sum", {"a": 1})


async def test_update_rejects_unknown_fields(client: RunClient) -> None:
    run = await client.create("echo")
    with pytest.raises(InvalidRequest, match="colour"):
        await client.update(run, colour="blue")


async def test_deleted_runs_are_gone(client: RunClient) -> None:
    run = await client.create("echo")
    await client.delete(run)
    with pytest.raises(NotFound):
        await client.get(run)


class ReadOnlyMemo(MemoAdapter):
    name = "memo-ro"
    capabilities = Capabilities.of(
        native={"create", "get", "list"},
        pagination=Pagination.CURSOR,
        max_page_size=50,
    )


@hookimpl
def runbridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    register(ReadOnlyMemo)


@pytest.fixture
async def readonly(memo: MemoEmulator) -> AsyncIterator[RunClient]:
    registry = Registry(entry_points=False)
    registry.register_plugin(sys.modules[__name__], name="readonly")
    async with emulated_client("memo-ro", emulator=memo, registry=registry) as (client, _):
        yield client


@pytest.mark.parametrize("operation", ["create_many", "update", "cancel", "retry", "delete"])
async def test_operations_a_provider_lacks_raise_without_a_request(
    readonly: RunClient, memo: MemoEmulator, operation: str
) -> None:
    ref = RunRef("memo-ro", "aaaaaaaaaaaa")
    calls = {
        "create_many": lambda: readonly.create_many([RunRequest(target="echo")]),
        "update": lambda: readonly.update(ref, status=RunStatus.RUNNING),
        "cancel": lambda: readonly.cancel(ref),
        "retry": lambda: readonly.retry(ref),
        "delete": lambda: readonly.delete(ref),
    }
    with pytest.raises(UnsupportedOperation) as caught:
        await calls[operation]()
    assert (caught.value.provider, caught.value.operation) == ("memo-ro", operation)
    assert str(caught.value) == f"memo-ro.{operation}: memo-ro does not support {operation}"
    assert memo.requests == []


def test_settings_are_checked_and_named() -> None:
    with pytest.raises(ConfigError) as unknown:
        runbridge.connect("memo", token="t", colour="blue")
    assert unknown.value.field == "colour"
    with pytest.raises(ConfigError) as missing_token:
        runbridge.connect("memo", token="")
    assert missing_token.value.field == "token"


@pytest.mark.parametrize(
    "url", ["http://example.com", "http://10.0.0.8:8080", "ftp://127.0.0.1", "not a url"]
)
def test_plain_http_to_other_hosts_is_refused(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        runbridge.connect("memo", token="t", base_url=url)
    assert caught.value.field == "base_url"


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "http://localhost", "http://[::1]:8"])
def test_loopback_http_is_allowed(url: str) -> None:
    assert runbridge.connect("memo", token="t", base_url=url).base_url == url


def test_insecure_http_can_be_allowed_explicitly() -> None:
    options = ClientOptions(allow_insecure_http=True)
    client = runbridge.connect("memo", token="t", base_url="http://example.com", options=options)
    assert client.base_url == "http://example.com"


async def test_a_client_must_be_opened_before_use() -> None:
    client = runbridge.connect("memo", token="t", base_url="http://127.0.0.1:9")
    with pytest.raises(RuntimeError, match="async with"):
        await client.get("aaaaaaaaaaaa")


async def test_parse_run_translates_a_payload_received_elsewhere(client: RunClient) -> None:
    run = await client.create("echo", inputs={"x": 1})
    parsed = client.parse_run(dict(run.raw))
    assert parsed == run
    with pytest.raises(runbridge.ResponseError) as caught:
        client.parse_run({"id": run.id})
    assert caught.value.operation == "parse"
