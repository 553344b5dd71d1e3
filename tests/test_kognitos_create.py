"""Kognitos creates through the public API: inputs, outputs, names, files, retry, bulk.

Against the emulator over loopback HTTP, serving the documented run object unless a
test turns on an extra by name.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from runbridge import (
    File,
    IllegalTransition,
    InvalidRequest,
    NotFound,
    RunClient,
    RunRequest,
    RunStatus,
    UnsupportedOperation,
)
from runbridge.testing import emulated_client
from runbridge_kognitos.emulator import KognitosEmulator


@pytest.fixture
def provider() -> str:
    return "kognitos"


# -- create --------------------------------------------------------------------------------


async def test_inputs_go_out_as_a_name_value_list(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    inputs = {"order_id": "b4fz", "amount": 42, "lines": [{"sku": "x"}], "note": None}
    run = await once.create(target, inputs=inputs)
    sent = [
        {"name": "order_id", "value": "b4fz"},
        {"name": "amount", "value": 42},
        {"name": "lines", "value": [{"sku": "x"}]},
        {"name": "note", "value": None},
    ]
    assert emulator.log[-1].body["inputs"] == sent
    assert emulator.runs[run.id].inputs == sent
    await once.create(target)
    assert emulator.log[-1].body["inputs"] == []


async def test_inputs_echoed_as_a_list_come_back_as_a_mapping() -> None:
    emulator = KognitosEmulator(extras={"inputs"})
    inputs = {"order_id": "b4fz", "amount": 42, "lines": [{"sku": "x"}], "note": None}
    async with emulated_client("kognitos", emulator=emulator) as (client, _):
        run = await client.create(emulator.default_target, inputs=inputs)
        assert run.raw["inputs"] == emulator.runs[run.id].inputs
        assert run.inputs == inputs
        assert (await client.get(run)).inputs == inputs


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (RunStatus.SUCCEEDED, {"total_items": 42, "customer_id": "9nvx"}),
        (RunStatus.FAILED, None),
        (RunStatus.CANCELLED, None),
    ],
)
async def test_outputs_appear_only_on_success(
    once: RunClient,
    emulator: KognitosEmulator,
    target: str,
    outcome: RunStatus,
    expected: dict[str, Any] | None,
) -> None:
    emulator.plan_next(outcome=outcome, outputs={"total_items": 42, "customer_id": "9nvx"})
    run = await once.create(target)
    assert run.outputs is None
    emulator.advance(1.5)
    assert (await once.get(run)).outputs is None  # running
    emulator.advance(100)
    done = await once.get(run)
    assert done.outputs == expected
    if expected is not None:
        assert done.raw["outputs"] == [
            {"name": "total_items", "value": 42},
            {"name": "customer_id", "value": "9nvx"},
        ]


async def test_a_readable_name_with_the_client_token_is_generated_when_none_is_given(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    run = await once.create(target)
    process = target.split("/")[1]
    stored = emulator.runs[run.id].name
    match = re.fullmatch(
        rf"(runbridge {process} \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ) ~rb:[0-9a-f]{{16}}", stored
    )
    assert match is not None and len(stored) <= 100
    # The stored name carries the exactly-once token; Run.name shows the readable part.
    assert run.name == match[1]
    assert run.raw["name"] == stored
    other = await once.create(target)
    assert emulator.runs[other.id].name != stored  # a token per create


@pytest.mark.parametrize(
    "name",
    ["n", "Process invoice 42", "x" * 100, "invoice ~rb:0123456789abcdef", "  spaced  "],
)
async def test_a_name_the_caller_gives_is_sent_unchanged(
    once: RunClient, emulator: KognitosEmulator, target: str, name: str
) -> None:
    run = await once.create(target, name=name)
    assert emulator.log[-1].body["name"] == name
    assert emulator.runs[run.id].name == name
    assert run.name == name == (await once.get(run)).name


@pytest.mark.parametrize("name", ["", "x" * 101])
async def test_names_out_of_bounds_are_rejected_locally(
    once: RunClient, emulator: KognitosEmulator, target: str, name: str
) -> None:
    seen = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        await once.create(target, name=name)
    assert caught.value.field == "name"
    assert len(emulator.requests) == seen


async def test_uploaded_files_become_file_ids(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    files = [File("a.pdf", id="s3://bucket/a.pdf"), File("b.csv", id="s3://bucket/b.csv")]
    run = await once.create(target, files=files)
    assert emulator.runs[run.id].file_ids == ["s3://bucket/a.pdf", "s3://bucket/b.csv"]
    assert run.raw["file_ids"] == ["s3://bucket/a.pdf", "s3://bucket/b.csv"]
    plain = await once.create(target)
    assert emulator.runs[plain.id].file_ids is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"files": [File("a.pdf", content=b"%PDF")]}, "files"),
        ({"priority": "high"}, "options.priority"),
        ({"secrets": {"password": "pw"}}, "secrets"),
    ],
)
async def test_what_the_adapter_cannot_send_is_rejected_locally(
    once: RunClient,
    emulator: KognitosEmulator,
    target: str,
    kwargs: dict[str, Any],
    field: str,
) -> None:
    seen = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        await once.create(target, **kwargs)
    assert caught.value.field == field
    assert len(emulator.requests) == seen


# -- operations the API lacks --------------------------------------------------------------


@pytest.mark.parametrize("operation", ["update", "cancel", "delete"])
async def test_update_cancel_delete_are_unsupported(
    once: RunClient, emulator: KognitosEmulator, operation: str
) -> None:
    run_id = emulator.unknown_id()
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "update": lambda: once.update(run_id, status=RunStatus.RUNNING),
        "cancel": lambda: once.cancel(run_id),
        "delete": lambda: once.delete(run_id),
    }
    seen = len(emulator.requests)
    with pytest.raises(UnsupportedOperation) as caught:
        await calls[operation]()
    assert (caught.value.provider, caught.value.operation) == ("kognitos", operation)
    assert str(caught.value) == f"kognitos.{operation}: kognitos does not support {operation}"
    assert len(emulator.requests) == seen


async def test_retry_creates_a_new_run_of_the_request_this_client_sent(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    emulator.plan_next(outcome=RunStatus.FAILED)
    files = [File("a.pdf", id="s3://bucket/a.pdf")]
    run = await once.create(target + "@Draft", inputs={"n": 7}, name="invoice 7", files=files)
    emulator.advance(100)
    retried = await once.retry(run)
    assert retried.ref != run.ref
    assert retried.status is RunStatus.PENDING
    assert (retried.target, retried.name) == (run.target, "invoice 7")
    again, first = emulator.runs[retried.id], emulator.runs[run.id]
    assert again.inputs == first.inputs == [{"name": "n", "value": 7}]
    assert again.file_ids == first.file_ids == ["s3://bucket/a.pdf"]
    assert (again.stage, again.name) == ("Draft", "invoice 7")


async def test_retry_of_an_unnamed_run_gets_a_new_generated_name(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    emulator.plan_next(outcome=RunStatus.FAILED)
    run = await once.create(target, inputs={"n": 1})
    emulator.advance(100)
    retried = await once.retry(run)
    assert emulator.runs[retried.id].inputs == [{"name": "n", "value": 1}]
    # A fresh token: the lookup of the retry cannot mistake the first run for it.
    assert emulator.runs[retried.id].name != emulator.runs[run.id].name


async def test_retry_of_an_unfinished_run_is_illegal(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    emulator.plan_next(queued=10_000)
    run = await once.create(target)
    with pytest.raises(IllegalTransition):
        await once.retry(run)
    assert len(emulator.runs) == 1


async def test_retry_of_a_run_this_client_did_not_create_is_refused_before_any_request(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    emulator.plan_next(outcome=RunStatus.FAILED)
    async with emulated_client("kognitos", emulator=emulator) as (other, _):
        foreign = await other.create(target, inputs={"n": 7})
    emulator.advance(100)
    seen = len(emulator.requests)
    for ref in (foreign.ref, str(foreign.ref), foreign.id):
        with pytest.raises(UnsupportedOperation) as caught:
            await once.retry(ref)
        assert (caught.value.provider, caught.value.operation) == ("kognitos", "retry")
        assert "does not report a run's inputs" in str(caught.value)
    assert len(emulator.requests) == seen
    assert len(emulator.runs) == 1


async def test_retry_is_refused_even_when_a_server_echoes_inputs() -> None:
    # The documented object has no inputs: an echo is not trusted to rebuild a request.
    emulator = KognitosEmulator(extras={"inputs"})
    async with emulated_client("kognitos", emulator=emulator) as (first, _):
        emulator.plan_next(outcome=RunStatus.FAILED)
        run = await first.create(emulator.default_target, inputs={"n": 7})
    emulator.advance(100)
    async with emulated_client("kognitos", emulator=emulator) as (second, _):
        with pytest.raises(UnsupportedOperation):
            await second.retry(run)
    assert len(emulator.runs) == 1


async def test_create_many_reports_each_failure_at_its_index(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    agent = target.split("/")[0]
    requests = [
        RunRequest(target=target, inputs={"i": 0}),
        RunRequest(target="not a target"),
        RunRequest(target=target, inputs={"i": 2}),
        RunRequest(target=f"{agent}/{emulator.unknown_id()}"),
    ]
    result = await once.create_many(requests, concurrency=2)
    assert not result.ok and result.requested == 4
    created = [emulator.runs[run.id].inputs for run in result.runs]
    assert sorted(created, key=str) == [[{"name": "i", "value": 0}], [{"name": "i", "value": 2}]]
    assert [(e.index, type(e.error)) for e in result.errors] == [
        (1, InvalidRequest),
        (3, NotFound),
    ]
