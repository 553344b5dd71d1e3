"""Cyberdesk as documented: the chain endpoint of the emulator (raw HTTP), and updates
that send the update document's own status values and make the moves it allows
(through the public client)."""

from __future__ import annotations

import uuid

import pytest

from runbridge import Failure, IllegalTransition, RunClient, RunStatus
from runbridge.testing import RawClient
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from support import SETTLE, sent


@pytest.fixture
def provider() -> str:
    return "cyberdesk"


# -- POST /v1/runs/chain ------------------------------------------------------------------


async def test_chain_creates_one_run_per_step_in_one_session(
    api: RawClient, emulator: CyberdeskEmulator
) -> None:
    second = emulator.add_workflow()
    status, body = await api(
        "POST",
        "/v1/runs/chain",
        json={
            "steps": [
                {"workflow_id": emulator.default_target, "inputs": {"a": 2}},
                {
                    "workflow_id": second.upper(),
                    "session_alias": "out",
                    "sensitive_inputs": {"pw": "x"},
                },
            ],
            "shared_inputs": {"a": 1, "b": 1},
            "is_priority": True,
        },
    )
    assert status == 201, body
    assert set(body) == {"session_id", "run_ids"} and len(body["run_ids"]) == 2
    first, last = (emulator.runs[run_id] for run_id in body["run_ids"])
    assert (first.workflow_id, last.workflow_id) == (emulator.default_target, second)
    assert first.session_id == last.session_id == body["session_id"]
    assert first.input_values == {"a": 2, "b": 1} and last.input_values == {"a": 1, "b": 1}
    assert last.session_alias == "out" and emulator.secrets_of(last.id) == {"pw": "x"}
    assert first.is_priority and last.is_priority
    assert (first.release_session_after, last.release_session_after) == (False, True)
    _, listed = await api("GET", "/v1/runs", params={"session_id": body["session_id"]})
    assert {run["id"] for run in listed["items"]} == set(body["run_ids"])
    assert emulator.calls["chain"] == 1


async def test_chain_joins_a_given_session_and_can_keep_it(
    api: RawClient, emulator: CyberdeskEmulator
) -> None:
    session = str(uuid.uuid4())
    step = {"workflow_id": emulator.default_target}
    status, body = await api(
        "POST",
        "/v1/runs/chain",
        json={"steps": [step], "session_id": session, "keep_session_after_completion": True},
    )
    assert status == 201 and body["session_id"] == session
    (run_id,) = body["run_ids"]
    assert emulator.runs[run_id].release_session_after is False


@pytest.mark.parametrize(
    ("json", "status", "loc"),
    [
        ({}, 422, ["body", "steps"]),
        ({"steps": []}, 422, ["body", "steps"]),
        ({"steps": [{}]}, 422, ["body", "steps", 0, "workflow_id"]),
        ({"steps": [{"workflow_id": "nope"}]}, 422, ["body", "steps", 0, "workflow_id"]),
        ({"steps": [{"workflow_id": str(uuid.uuid4())}]}, 404, None),
    ],
)
async def test_chain_refuses_what_it_cannot_take_and_creates_nothing(
    api: RawClient, emulator: CyberdeskEmulator, json: dict[str, object], status: int, loc: object
) -> None:
    got, body = await api("POST", "/v1/runs/chain", json=json)
    assert got == status, body
    if loc is None:
        assert body == {"detail": "Workflow not found"}
    else:
        assert body["detail"][0]["loc"] == loc
    assert emulator.runs == {}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", f"/v1/runs/{uuid.uuid4()}", 405),  # GET, PATCH and DELETE live there
        ("GET", "/v1/runs/chain/steps", 404),
        ("POST", "/v1/runs/chains", 405),
    ],
)
async def test_undocumented_run_routes_answer_in_the_error_shape(
    api: RawClient, method: str, path: str, status: int
) -> None:
    got, body = await api(method, path, json={})
    assert got == status and isinstance(body["detail"], str)


# -- update: the update document's statuses and moves ----------------------------------------


async def test_update_to_failed_sends_error(client: RunClient, emulator: CyberdeskEmulator) -> None:
    emulator.plan_next(queued=0, running=10_000)
    run = await client.create(emulator.default_target)
    emulator.advance(1)
    failed = await client.update(run, status=RunStatus.FAILED)
    assert sent(emulator, "PATCH", f"/v1/runs/{run.id}")[-1].body == {"status": "error"}
    assert failed.native_status == "error" and failed.failure == Failure("system", None)


@pytest.mark.parametrize(
    ("moves", "natives"),
    [
        ([RunStatus.SUCCEEDED], ["success"]),  # pending to succeeded
        ([RunStatus.FAILED, RunStatus.PENDING], ["error", "scheduling"]),
        ([RunStatus.SUCCEEDED, RunStatus.RUNNING], ["success", "running"]),
        ([RunStatus.CANCELLED, RunStatus.SUCCEEDED], ["cancelled", "success"]),
        ([RunStatus.RUNNING, RunStatus.PENDING], ["running", "scheduling"]),
    ],
)
async def test_update_makes_every_move_the_update_document_allows(
    client: RunClient,
    emulator: CyberdeskEmulator,
    moves: list[RunStatus],
    natives: list[str],
) -> None:
    emulator.plan_next(queued=10_000)
    run = await client.create(emulator.default_target)
    for status, native in zip(moves, natives, strict=True):
        moved = await client.update(run, status=status)
        assert (moved.status, moved.native_status) == (status, native)
        assert (await client.get(run)).native_status == native
    assert [p.body for p in sent(emulator, "PATCH")] == [{"status": n} for n in natives]


async def test_cancel_and_retry_keep_their_own_rules(
    client: RunClient, emulator: CyberdeskEmulator
) -> None:
    emulator.plan_next(outcome=RunStatus.SUCCEEDED)
    run = await client.create(emulator.default_target)
    emulator.advance(SETTLE)
    with pytest.raises(IllegalTransition):
        await client.cancel(run)  # a finished run: no request
    reopened = await client.update(run, status=RunStatus.RUNNING)
    with pytest.raises(IllegalTransition):
        await client.retry(reopened)  # not finished
    assert [p.body for p in sent(emulator, "PATCH")] == [{"status": "running"}]
