"""The Cyberdesk adapter's create and create_many, against its emulator over loopback HTTP."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
import pytest

from runbridge import File, InvalidRequest, NotFound, RunClient, RunRequest
from runbridge.testing import emulated_client, testing_options
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from support import SECRET, sent


@pytest.fixture
def provider() -> str:
    return "cyberdesk"


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
    assert request.header("idempotency-key")
    assert request.body["sensitive_input_values"] == {"password": "***"}


async def test_file_options_are_sent_as_file_input_fields(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    placed = File(
        "a.txt",
        content=b"..",
        options={"target_path": "C:/in", "cleanup_imports_after_run": True},
    )
    run = await client.create(emulator.default_target, files=[placed, File("b.txt", content=b"b")])
    (request,) = sent(emulator, "POST", "/v1/runs")
    assert request.body["file_inputs"] == [
        {
            "filename": "a.txt",
            "content": "Li4=",
            "target_path": "C:/in",
            "cleanup_imports_after_run": True,
        },
        {"filename": "b.txt", "content": "Yg=="},
    ]
    first, second = (emulator.attachments[i] for i in run.raw["input_attachment_ids"])
    assert (first.target_path, first.cleanup_imports_after_run) == ("C:/in", True)
    assert (second.target_path, second.cleanup_imports_after_run) == (None, False)


BAD_FILE_OPTIONS = [
    ({"target_dir": "C:/in"}, "files.1.options.target_dir"),
    ({"target_path": 5}, "files.1.options.target_path"),
    ({"target_path": b"C:/in"}, "files.1.options.target_path"),
    ({"cleanup_imports_after_run": "yes"}, "files.1.options.cleanup_imports_after_run"),
    ({"cleanup_imports_after_run": 1}, "files.1.options.cleanup_imports_after_run"),
]


@pytest.mark.parametrize(("options", "field"), BAD_FILE_OPTIONS)
async def test_bad_file_options_fail_before_any_request(
    client: RunClient, emulator: CyberdeskEmulator, options: dict[str, Any], field: str
) -> None:
    files = [File("ok.txt", content=b"."), File("a.txt", content=b"..", options=options)]
    with pytest.raises(InvalidRequest) as caught:
        await client.create(emulator.default_target, files=files)
    assert caught.value.field == field and caught.value.operation == "create"
    assert emulator.log == []
    # In a bulk create the request is refused at its index; the others are created.
    good = RunRequest(target=emulator.default_target)
    result = await client.create_many([good, RunRequest(target=good.target, files=files)])
    (error,) = result.errors
    assert error.index == 1 and isinstance(error.error, InvalidRequest)
    assert error.error.field == field and error.error.operation == "create_many"
    assert len(result.runs) == 1
    (bulk,) = sent(emulator, "POST", "/v1/runs/bulk")
    assert bulk.body == {"workflow_id": good.target, "count": 1}


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
        ({"options": {"priority": True}}, "options.priority"),
        ({"options": {"input_values": {"a": 1}}}, "options.input_values"),
        ({"options": {"is_priority": "yes"}}, "options.is_priority"),
    ],
)
async def test_bad_create_requests_fail_locally(
    client: RunClient, emulator: CyberdeskEmulator, kwargs: dict[str, Any], field: str
) -> None:
    request = RunRequest(**{"target": emulator.default_target, **kwargs})
    with pytest.raises(InvalidRequest) as caught:
        await client.create(request)
    assert caught.value.field == field
    assert emulator.log == []


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
    assert first.header("idempotency-key") == second.header("idempotency-key")
    await client.create(emulator.default_target)
    third = sent(emulator, "POST", "/v1/runs")[-1]
    assert third.header("idempotency-key") != first.header("idempotency-key")


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
    assert len({s.header("idempotency-key") for s in bulk}) == len(chunks)
    assert [r for r in emulator.requests if r == ("POST", "/v1/runs/bulk")] == [
        ("POST", "/v1/runs/bulk")
    ] * len(chunks)


async def test_bulk_sends_file_options(client: RunClient, emulator: CyberdeskEmulator) -> None:
    placed = File("a.txt", content=b"..", options={"target_path": "C:/in"})
    request = RunRequest(target=emulator.default_target, files=[placed])
    result = await client.create_many([request] * 2)
    assert result.ok
    (bulk,) = sent(emulator, "POST", "/v1/runs/bulk")
    assert bulk.body["count"] == 2
    assert bulk.body["file_inputs"] == [
        {"filename": "a.txt", "content": "Li4=", "target_path": "C:/in"}
    ]


async def test_bulk_groups_equal_requests_and_keeps_caller_order(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    a = RunRequest(target=emulator.default_target, inputs={"k": "a"})
    b = RunRequest(target=emulator.default_target, inputs={"k": "b"})
    result = await client.create_many([a, a, b, a])
    assert result.ok
    assert [run.inputs["k"] for run in result.runs] == ["a", "a", "b", "a"]
    assert sorted(s.body["count"] for s in sent(emulator, "POST", "/v1/runs/bulk")) == [1, 3]


async def test_a_bulk_shortfall_is_unconfirmed_with_tokens_and_settles_to_no_run(
    emulator: CyberdeskEmulator,
) -> None:
    # Fewer runs than asked for: the missing ones may exist, so they are never reported
    # as plain failures a caller would create again. Sent again with its key after the
    # settle window, the answer still leaves them out: they were never made.
    options = testing_options(settle_window=0.0)
    async with emulated_client("cyberdesk", emulator=emulator, options=options) as (client, _):
        emulator.fail_bulk(2, message="No machine available in pool")
        request = RunRequest(target=emulator.default_target)
        result = await client.create_many([request] * 5)
        assert not result.ok and len(result.runs) == 3 and result.requested == 5
        assert all(e.token is not None for e in result.errors)  # none a plain failure
        doubtful = {e.index: e for e in result.unconfirmed}
        assert set(doubtful) == {3, 4}
        for error in doubtful.values():
            assert error.token is not None
            assert "No machine available in pool" in error.message
        pending = {entry.token for entry in await client.unconfirmed()}
        assert pending == {e.token for e in doubtful.values()}
        for error in doubtful.values():
            assert await client.resolve(error.token, request=request) is None
        assert await client.unconfirmed() == []
        assert len(emulator.runs) == 3  # nothing was made twice, nothing lost


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


async def test_bulk_runs_beyond_the_chunk_are_reported_not_dropped(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    made = [await client.create(emulator.default_target) for _ in range(3)]
    answer = {"created_runs": [run.raw for run in made], "failed_count": 0, "errors": []}
    emulator.inject(201, body=answer)
    result = await client.create_many([RunRequest(target=emulator.default_target)] * 2)
    assert [run.ref for run in result.runs] == [made[0].ref, made[1].ref]
    (note,) = result.errors
    assert note.index is None and str(made[2].ref) in note.message
    assert not result.ok


async def test_uuid_options_may_be_uuid_objects(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    machine = emulator.unknown_id()
    run = await client.create(emulator.default_target, machine_id=uuid.UUID(machine))
    assert run.raw["machine_id"] == machine
