"""The Cyberdesk adapter's update, cancel, retry and delete, against its emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

import runbridge
from runbridge import (
    Conflict,
    Failure,
    File,
    IllegalTransition,
    InvalidRequest,
    NotFound,
    RunClient,
    RunStatus,
)
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from support import SECRET, SETTLE, sent


@pytest.fixture
def provider() -> str:
    return "cyberdesk"


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
    [
        (Failure("system", "disk full"), "error"),
        (Failure("timeout", "took too long"), "error"),
        (Failure("task", "no invoice"), "task_failed"),  # asked for by name: SDK 2.2.69
    ],
)
async def test_update_to_failed_picks_the_native_flavour(
    client: RunClient, emulator: CyberdeskEmulator, failure: Failure, native: str
) -> None:
    emulator.plan_next(queued=0, running=10_000)
    run = await client.create(emulator.default_target)
    emulator.advance(1)
    failed = await client.update(run, status=RunStatus.FAILED, failure=failure)
    assert failed.native_status == native
    assert failed.failure == (
        failure if native == "task_failed" else Failure("system", failure.message)
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cost": Decimal("1.5")}, "cost"),
        ({"progress": runbridge.Progress(1, 2)}, "progress"),
        ({"options": {"status": "running"}}, "options.status"),
        ({"options": {"colour": "red"}}, "options.colour"),
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
    assert patch.body == {"status": "cancelled"} and patch.header("idempotency-key")


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
    assert caught.value.field == "options.priority"


async def finished(client: RunClient, emulator: CyberdeskEmulator) -> runbridge.Run:
    emulator.plan_next(outcome=RunStatus.FAILED)
    run = await client.create(emulator.default_target)
    emulator.advance(SETTLE)
    return run


async def test_retry_replaces_files_with_their_options(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    run = await client.create(emulator.default_target, files=[File("old.txt", content=b"o")])
    emulator.advance(SETTLE)
    (old,) = run.raw["input_attachment_ids"]
    new = File("new.txt", content=b"n", options={"cleanup_imports_after_run": True})
    retried = await client.retry(run, files=[new])
    (request,) = sent(emulator, "POST", f"/v1/runs/{run.id}/retry")
    assert request.body == {
        "file_inputs": [
            {"filename": "new.txt", "content": "bg==", "cleanup_imports_after_run": True}
        ]
    }
    (attachment_id,) = retried.raw["input_attachment_ids"]
    assert old not in emulator.attachments
    assert emulator.attachments[attachment_id].cleanup_imports_after_run is True


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (
            {"files": [File("a.txt", content=b"..", options={"colour": "red"})]},
            "options.files.0.options.colour",
        ),
        (
            {"files": [File("a.txt", content=b"..", options={"target_path": 5})]},
            "options.files.0.options.target_path",
        ),
        ({"files": (File("a.txt", content=b"..") for _ in range(1))}, "options.files"),
        ({"files": [File("a.pdf", id="file_1")]}, "options.files"),
        ({"files": ["a.txt"]}, "options.files"),
        ({"inputs": {"n": 1}, "input_values": {"n": 2}}, "options.input_values"),
        ({"machine_id": 5}, "options.machine_id"),
    ],
)
async def test_bad_retry_options_fail_before_any_request(
    client: RunClient, emulator: CyberdeskEmulator, options: dict[str, Any], field: str
) -> None:
    run = await finished(client, emulator)
    seen = len(emulator.log)
    with pytest.raises(InvalidRequest) as caught:
        await client.retry(run, **options)
    assert caught.value.field == field and caught.value.operation == "retry"
    assert len(emulator.log) == seen  # not even the read of the run


@pytest.mark.parametrize("status", [400, 409])
async def test_a_refused_retry_is_a_conflict(
    once: RunClient, emulator: CyberdeskEmulator, status: int
) -> None:
    # The docs say a retry of an active run is rejected, not whether with 400 or 409.
    run = await finished(once, emulator)
    current = (await once.get(run)).raw
    emulator.inject(200, body=current)  # the core's own read: the run looks finished
    emulator.inject(status, body={"detail": "Run is still running; retry is not allowed"})
    with pytest.raises(Conflict) as caught:
        await once.retry(run)
    assert type(caught.value) is Conflict
    assert caught.value.status == status and caught.value.operation == "retry"
    assert "retry is not allowed" in str(caught.value)


async def test_delete_then_not_found(client: RunClient, emulator: CyberdeskEmulator) -> None:
    run = await client.create(emulator.default_target)
    await client.delete(run)
    (request,) = sent(emulator, "DELETE", f"/v1/runs/{run.id}")
    assert request.header("idempotency-key")
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
