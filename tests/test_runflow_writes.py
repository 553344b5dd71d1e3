"""Runflow writes through the public API: update, cancel, retry and create_many."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import runbridge
from runbridge import (
    AuthError,
    Conflict,
    IllegalTransition,
    InvalidRequest,
    NotFound,
    Progress,
    RunClient,
    RunRequest,
    RunStatus,
    UnsupportedOperation,
)
from runbridge.emulation import MASK
from runbridge.testing import emulated_client
from runbridge_runflow.emulator import RunflowEmulator
from support import SETTLE, sent


@pytest.fixture
def provider() -> str:
    return "runflow"


# -- update -------------------------------------------------------------------------------


async def test_update_sends_only_what_is_set(client: RunClient, emulator: RunflowEmulator) -> None:
    emulator.plan_next(queued=10_000)
    run = await client.create(emulator.default_target)
    started = datetime(2030, 1, 1, tzinfo=UTC)
    moved = await client.update(
        run,
        status=RunStatus.RUNNING,
        cost=Decimal("1E+2"),
        progress=Progress(1, 4),
        started_at=started,
        options={"duration_ms": 1234},
    )
    assert sent(emulator, "PATCH")[-1].body == {
        "status_code": "running",
        "cost": "100",
        "nodes_completed": 1,
        "nodes_total": 4,
        "started_at": "2030-01-01T00:00:00Z",
        "duration_ms": 1234,
    }
    assert (moved.status, moved.cost, moved.progress) == (
        RunStatus.RUNNING,
        Decimal(100),
        Progress(1, 4),
    )
    assert moved.started_at == started
    finished = await client.update(
        run, status=RunStatus.SUCCEEDED, outputs={"url": "u"}, cost=Decimal("0.1250")
    )
    assert sent(emulator, "PATCH")[-1].body == {
        "status_code": "succeeded",
        "output": {"url": "u"},
        "cost": "0.1250",
    }
    assert (finished.status, finished.outputs, finished.cost) == (
        RunStatus.SUCCEEDED,
        {"url": "u"},
        Decimal("0.1250"),
    )
    assert finished.raw["cost"] == "0.1250"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"inputs": {"a": 1}}, "inputs"),
        ({"failure": runbridge.Failure("task", "x")}, "failure"),
        ({}, "update"),
    ],
)
async def test_update_refuses_what_the_patch_cannot_carry(
    client: RunClient, emulator: RunflowEmulator, fields: dict[str, Any], field: str
) -> None:
    run = await client.create(emulator.default_target)
    seen = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        await client.update(run, **fields)
    assert caught.value.field == field
    assert len(emulator.requests) == seen


async def test_update_takes_a_status_by_name(client: RunClient, emulator: RunflowEmulator) -> None:
    emulator.plan_next(queued=0, running=10_000)
    run = await client.create(emulator.default_target)
    emulator.advance(1)
    failed = await client.update(run, status="failed")
    assert (failed.status, failed.native_status) == (RunStatus.FAILED, "failed")
    assert sent(emulator, "PATCH")[-1].body == {"status_code": "failed"}
    with pytest.raises(InvalidRequest) as caught:
        await client.update(run, status="exploded")
    assert caught.value.field == "status"


@pytest.mark.parametrize(
    "fields",
    [
        {"status": RunStatus.CANCELLED},
        {"status": "cancelled"},
        {"options": {"status_code": "canceled"}},
    ],
    ids=["status", "status-name", "status_code"],
)
async def test_a_cancelling_update_goes_through_the_admin_endpoint(
    client: RunClient, emulator: RunflowEmulator, fields: dict[str, Any]
) -> None:
    emulator.plan_next(queued=10_000)
    run = await client.create(emulator.default_target)
    cancelled = await client.update(run, **fields)
    assert (cancelled.status, cancelled.native_status) == (RunStatus.CANCELLED, "canceled")
    assert len(sent(emulator, "POST", f"/v1/admin/runs/{run.id}/cancellation")) == 1
    assert sent(emulator, "PATCH") == []  # never a PATCH of status_code
    emulator.advance(SETTLE)
    assert (await client.get(run)).status is RunStatus.CANCELLED


async def test_a_cancelling_update_patches_its_other_fields_after(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(queued=10_000)
    run = await client.create(emulator.default_target)
    done = await client.update(run, status=RunStatus.CANCELLED, outputs={"partial": True})
    (cancel,) = sent(emulator, "POST", "/cancellation")
    (patch,) = sent(emulator, "PATCH")
    assert emulator.log.index(cancel) < emulator.log.index(patch)
    assert patch.body == {"output": {"partial": True}}
    assert (done.status, done.outputs) == (RunStatus.CANCELLED, {"partial": True})


async def test_a_cancelling_update_of_a_finished_run_changes_nothing(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(queued=0, running=1)
    run = await client.create(emulator.default_target)
    emulator.advance(5)
    with pytest.raises(IllegalTransition):
        await client.update(run, status=RunStatus.CANCELLED, outputs={"x": 1})
    # Through options the core does not check first: the admin endpoint's 200 says so.
    with pytest.raises(IllegalTransition):
        await client.update(run, options={"status_code": "canceled", "duration_ms": 5})
    assert sent(emulator, "PATCH") == []
    assert (await client.get(run)).native_status == "succeeded"


@pytest.mark.parametrize(
    "fields",
    [{"status": RunStatus.CANCELLED}, {"options": {"status_code": "cancelled"}}],
    ids=["status", "status_code"],
)
async def test_a_cancelling_update_without_an_admin_key_says_why(
    emulator: RunflowEmulator, fields: dict[str, Any]
) -> None:
    async with emulated_client("runflow", emulator=emulator, admin_token=None) as (client, _):
        emulator.plan_next(queued=10_000)
        run = await client.create(emulator.default_target)
        seen = len(emulator.requests)
        with pytest.raises(UnsupportedOperation) as caught:
            await client.update(run, **fields)
        assert len(emulator.requests) == seen
        assert (await client.get(run)).status is RunStatus.PENDING  # still running, as it is
    error = caught.value
    assert (error.provider, error.operation) == ("runflow", "update")
    assert "no public cancel" in error.message and "admin_token" in error.message


async def test_the_status_is_given_once(client: RunClient, emulator: RunflowEmulator) -> None:
    run = await client.create(emulator.default_target)
    seen = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        await client.update(run, status="running", options={"status_code": "running"})
    assert caught.value.field == "options.status_code"
    assert len(emulator.requests) == seen


# -- cancel and retry ---------------------------------------------------------------------


async def test_cancel_uses_the_admin_endpoint_with_the_admin_key(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(queued=10_000)
    run = await client.create(emulator.default_target)
    cancelled = await client.cancel(run)
    assert (cancelled.status, cancelled.native_status) == (RunStatus.CANCELLED, "canceled")
    (post,) = sent(emulator, "POST", "/cancellation")
    assert post.path == f"/v1/admin/runs/{run.id}/cancellation"
    # The key is masked in the log; only the admin key gets past this endpoint
    # (test_cancel_with_a_bad_admin_key_is_an_auth_error).
    assert post.header("authorization") == MASK
    with pytest.raises(IllegalTransition):
        await client.cancel(run)
    assert len(sent(emulator, "POST", "/cancellation")) == 1


async def test_cancel_without_an_admin_key_says_why(emulator: RunflowEmulator) -> None:
    async with emulated_client("runflow", emulator=emulator, admin_token=None) as (client, _):
        emulator.plan_next(queued=10_000)
        run = await client.create(emulator.default_target)
        seen = len(emulator.requests)
        assert client.capabilities.support("cancel").value == "unsupported"
        with pytest.raises(UnsupportedOperation) as caught:
            await client.cancel(run)
        assert len(emulator.requests) == seen
    error = caught.value
    assert (error.provider, error.operation) == ("runflow", "cancel")
    assert "no public cancel" in error.message and "admin_token" in error.message
    assert sent(emulator, "POST", "/cancellation") == []


@pytest.mark.parametrize(("which", "status"), [("user", 403), ("wrong", 401)])
async def test_cancel_with_a_bad_admin_key_is_an_auth_error(
    emulator: RunflowEmulator, which: str, status: int
) -> None:
    key = emulator.token if which == "user" else "rf_svc_wrong-and-secret"
    async with emulated_client("runflow", emulator=emulator, admin_token=key) as (client, _):
        emulator.plan_next(queued=10_000)
        run = await client.create(emulator.default_target)
        with pytest.raises(AuthError) as caught:
            await client.cancel(run)
    assert caught.value.status == status
    assert key not in str(caught.value) and key not in repr(caught.value.body)


async def test_cancel_racing_a_finish_is_an_illegal_transition(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.plan_next(queued=10, running=10)
    run = await client.create(emulator.default_target)
    emulator.advance(100)
    finished = await client.get(run)
    emulator.inject(200, body=dict(run.raw))  # what the core reads before cancelling
    emulator.inject(200, body=dict(finished.raw))  # the admin endpoint: already terminal
    with pytest.raises(IllegalTransition) as caught:
        await client.cancel(run)
    assert caught.value.current is RunStatus.SUCCEEDED


async def test_retry_creates_a_like_run(client: RunClient, emulator: RunflowEmulator) -> None:
    target = emulator.add_workflow("acme/upscale")
    emulator.plan_next(outcome=RunStatus.FAILED)
    run = await client.create(
        target, inputs={"n": 7}, metadata={"m": 1}, client_ref="c", callback_url="https://h.invalid"
    )
    emulator.advance(SETTLE)
    retried = await client.retry(run)
    assert sent(emulator, "POST")[-1].path == f"/v1/{target}/runs"
    assert retried.ref != run.ref and retried.status is RunStatus.PENDING
    assert (retried.target, retried.inputs) == (target, {"n": 7})
    body = sent(emulator, "POST")[-1].body
    assert body["metadata"].pop("runbridge_token") != run.raw["metadata"]["runbridge_token"]
    assert body == {
        "input": {"n": 7},
        "metadata": {"m": 1},
        "callback_url": "https://h.invalid",
        "client_ref": "c",
    }


async def test_retry_from_the_payload_alone_uses_its_id_target(
    emulator: RunflowEmulator,
) -> None:
    emulator.plan_next(outcome=RunStatus.FAILED, queued=0, running=0)
    async with emulated_client("runflow", emulator=emulator) as (first, _):
        run = await first.create(emulator.path_of(emulator.default_target), inputs={"n": 1})
    emulator.advance(1)
    async with emulated_client("runflow", emulator=emulator) as (second, _):
        retried = await second.retry(run.ref)  # this client never saw the request
    assert (retried.target, retried.inputs) == (emulator.default_target, {"n": 1})
    assert sent(emulator, "POST")[-1].path == f"/v1/{emulator.default_target}/runs"


# -- create_many --------------------------------------------------------------------------


def requests_for(target: str, count: int, **fields: Any) -> list[RunRequest]:
    return [RunRequest(target=target, inputs={"i": i}, **fields) for i in range(count)]


async def test_create_many_goes_through_one_batch(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    result = await client.create_many(
        requests_for(emulator.default_target, 3, options={"client_ref": "r"})
    )
    assert result.ok
    assert [r.inputs["i"] for r in result.runs] == [0, 1, 2]
    assert len({r.raw["batch_id"] for r in result.runs}) == 1
    (post,) = sent(emulator, "POST")
    # The id form: no path known for it, so the id goes in the path (an assumption).
    assert post.path == f"/v1/{emulator.default_target}/batches"
    assert post.header("idempotency-key")
    assert post.body == {"items": [{"input": {"i": i}, "client_ref": "r"} for i in range(3)]}


async def test_create_many_splits_long_groups_with_distinct_keys(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    result = await client.create_many(requests_for(emulator.default_target, 150))
    assert result.ok and len(emulator.runs) == 150
    assert [r.inputs["i"] for r in result.runs] == list(range(150))
    # The core sends chunks concurrently: they may arrive in either order.
    posts = sorted(sent(emulator, "POST", "/batches"), key=lambda p: -len(p.body["items"]))
    assert [len(p.body["items"]) for p in posts] == [100, 50]
    keys = [p.header("idempotency-key") for p in posts]
    assert keys[0] != keys[1]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", key) for key in keys)  # one UUID per batch


async def test_a_batch_is_retried_under_the_same_key(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.inject(503)
    result = await client.create_many(requests_for(emulator.default_target, 2))
    assert result.ok and len(emulator.runs) == 2
    first, second = sent(emulator, "POST", "/batches")
    assert first.header("idempotency-key") == second.header("idempotency-key")
    assert first.body == second.body


async def test_models_without_templates_fall_back_to_single_creates(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    target = emulator.add_model("acme/plain", template_backed=False, required=("i",))
    requests = [*requests_for(target, 4), RunRequest(target=target, inputs={})]
    result = await client.create_many(requests, concurrency=2)
    assert sorted(r.inputs["i"] for r in result.runs) == [0, 1, 2, 3]
    assert all(r.raw["batch_id"] is None for r in result.runs)
    (error,) = result.errors
    assert error.index == 4 and isinstance(error.error, InvalidRequest)
    # The adapter declined before creating anything, so the core made single creates.
    assert error.error.operation == "create"
    assert len(sent(emulator, "POST", "/batches")) == 1
    assert len(sent(emulator, "POST", "/runs")) == 5
    assert len(emulator.runs) == 4


async def test_mixed_requests_each_go_their_way(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    plain = emulator.add_model("acme/plain", template_backed=False)
    flow = emulator.add_workflow("acme/flow")
    requests = [
        RunRequest(target=emulator.default_target, inputs={"i": 0}),
        RunRequest(target=flow, inputs={"i": 1}),
        RunRequest(target=plain, inputs={"i": 2}),
        RunRequest(target="models/../x", inputs={"i": 3}),
        RunRequest(target=emulator.default_target, inputs={"i": 4}, options={"metadata": {}}),
        RunRequest(target="models/acme/missing", inputs={"i": 5}),
        RunRequest(target=emulator.default_target, inputs={"i": 6}),
    ]
    result = await client.create_many(requests)
    assert [r.inputs["i"] for r in result.runs] == [0, 1, 2, 4, 6]
    assert [(e.index, type(e.error)) for e in result.errors] == [
        (3, InvalidRequest),
        (5, NotFound),
    ]
    assert result.requested == 7 and not result.ok
    assert len(emulator.runs) == 5
    batched = [r.inputs["i"] for r in result.runs if r.raw["batch_id"]]
    assert batched == [0, 6]


async def test_a_path_batch_goes_to_the_path_and_teaches_the_id(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    path = emulator.path_of(emulator.default_target)
    result = await client.create_many(requests_for(path, 2))
    assert result.ok
    assert all(r.target == emulator.default_target for r in result.runs)
    assert sent(emulator, "POST")[-1].path == f"/v1/{path}/batches"
    # Known now: the id form also batches through the path, in one group with it.
    mixed = [*requests_for(path, 1), *requests_for(emulator.default_target, 1)]
    assert (await client.create_many(mixed)).ok
    (post,) = sent(emulator, "POST")[1:]
    assert post.path == f"/v1/{path}/batches" and len(post.body["items"]) == 2


async def test_batches_have_no_documented_size_limit(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    # The adapter splits at its own 100; the emulator takes any size, as documented.
    result = await client.create_many(requests_for(emulator.default_target, 120))
    assert result.ok
    sizes = sorted(len(p.body["items"]) for p in sent(emulator, "POST", "/batches"))
    assert sizes == [20, 100]


async def test_a_server_limit_on_batches_falls_back_to_single_creates() -> None:
    emulator = RunflowEmulator(max_batch_items=40)
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        result = await client.create_many(requests_for(emulator.default_target, 50))
    assert result.ok and len(emulator.runs) == 50
    (refused,) = sent(emulator, "POST", "/batches")  # 422: the first chunk, nothing created
    assert len(refused.body["items"]) == 50
    assert len(sent(emulator, "POST", "/runs")) == 50


async def test_a_refused_chunk_alone_is_created_singly_and_exactly_once() -> None:
    emulator = RunflowEmulator(max_batch_items=60)
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        result = await client.create_many(requests_for(emulator.default_target, 150))
    assert result.ok and len(emulator.runs) == 150
    assert [r.inputs["i"] for r in result.runs] == list(range(150))
    batched = [r.inputs["i"] for r in result.runs if r.raw["batch_id"]]
    assert batched == list(range(100, 150))  # the second chunk, 50 items, was taken
    singles = sent(emulator, "POST", "/runs")
    assert len(singles) == 100
    # Single creates carry a client token each: a lost answer is looked up, not resent.
    assert len({p.body["client_ref"] for p in singles}) == 100


async def test_a_refused_batch_reports_every_request(
    once: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.inject(409, body={"code": "CONFLICT", "message": "key reused", "errors": None})
    result = await once.create_many(requests_for(emulator.default_target, 2))
    assert result.runs == ()
    assert [(e.index, type(e.error)) for e in result.errors] == [(0, Conflict), (1, Conflict)]
    assert emulator.runs == {}
