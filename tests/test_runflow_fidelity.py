"""Runflow as documented: model paths, the undocumented ``q`` target filter, and failure
text in node runs, through the public client against the emulator over loopback HTTP.

- Only ``/v1/models/{owner}/{slug}/runs`` (and ``.../batches``) is documented; a model
  named by id (as run records name it) goes there whenever its path is known.
- ``q=model_id:<id>`` is not among the documented filters; a server that refuses it
  still lists a model's runs, filtered on the client.
- A failed run's text is documented in ``node_runs[].error_message``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import runbridge
from runbridge import ConfigError, Failure, InvalidRequest, NotFound, RunClient, RunStatus
from runbridge.emulation import LoggedRequest
from runbridge.testing import emulated_client
from runbridge_runflow.emulator import RunflowEmulator
from support import SETTLE, sent

MODEL = "acme/echo/v1"
"""The emulator's seeded default model, by path."""
RUNS = f"/v1/models/{MODEL}/runs"
BATCHES = f"/v1/models/{MODEL}/batches"


@pytest.fixture
def provider() -> str:
    return "runflow"


def model_id(emulator: RunflowEmulator) -> str:
    return emulator.default_target.removeprefix("models/")


def creates(emulator: RunflowEmulator) -> list[str]:
    return [r.path for r in sent(emulator, "POST", "/runs")]


def target_filters(emulator: RunflowEmulator) -> list[LoggedRequest]:
    """The listings that asked the server for a target filter in ``q``."""
    return [r for r in sent(emulator, "GET", "/v1/runs") if "model_id:" in (r.param("q") or "")]


# -- 1. create and retry by the documented path ---------------------------------------------


async def test_a_fresh_client_retries_by_the_configured_model_path() -> None:
    emulator = RunflowEmulator(id_routes=False)  # only the documented owner/slug path
    async with emulated_client("runflow", emulator=emulator) as (first, _):
        run = await first.create(f"models/{MODEL}", inputs={"n": 1})
    emulator.advance(SETTLE)
    paths = {model_id(emulator): MODEL}
    async with emulated_client("runflow", emulator=emulator, model_paths=paths) as (fresh, _):
        read = await fresh.get(run.ref)
        assert read.target == emulator.default_target  # run records name models by id
        retried = await fresh.retry(read)
    assert retried.ref != run.ref and retried.target == emulator.default_target
    assert creates(emulator) == [RUNS, RUNS]


async def test_without_a_known_path_the_id_route_is_only_a_fallback() -> None:
    emulator = RunflowEmulator(id_routes=False)
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        with pytest.raises(NotFound):
            await client.create(emulator.default_target)
    assert creates(emulator) == [f"/v1/models/{model_id(emulator)}/runs"]


async def test_creates_and_batches_by_id_go_to_the_configured_path() -> None:
    emulator = RunflowEmulator(id_routes=False)
    target = emulator.default_target
    async with emulated_client(
        "runflow", emulator=emulator, model_paths={target: f"models/{MODEL}"}
    ) as (client, _):
        run = await client.create(target, inputs={"n": 1})
        batch = await client.create_many(
            [runbridge.RunRequest(target=target, inputs={"n": n}) for n in (2, 3)]
        )
    assert run.target == target and [r.target for r in batch.runs] == [target, target]
    assert not batch.errors
    assert creates(emulator) == [RUNS] and [r.path for r in sent(emulator, "POST")][1:] == [BATCHES]


async def test_a_configured_path_lists_without_an_earlier_create(
    emulator: RunflowEmulator,
) -> None:
    async with emulated_client("runflow", emulator=emulator) as (first, _):
        made = await first.create(emulator.default_target)
    paths = {model_id(emulator): MODEL}
    async with emulated_client("runflow", emulator=emulator, model_paths=paths) as (fresh, _):
        listed = [run async for run in fresh.list(target=f"models/{MODEL}")]
    assert [(run.ref, run.target) for run in listed] == [(made.ref, emulator.default_target)]
    assert target_filters(emulator)[-1].param("q") == f"model_id:{model_id(emulator)}"


@pytest.mark.parametrize(
    ("paths", "problem"),
    [
        ({"not-a-uuid": MODEL}, "not a model id"),
        ({"comfyui-workflows/" + str(uuid.uuid4()): MODEL}, "not a model id"),
        ({str(uuid.uuid4()): "echo"}, "owner/slug"),
        ({str(uuid.uuid4()): f"models/{uuid.uuid4()}"}, "owner/slug"),
        ({str(uuid.uuid4()): 7}, "owner/slug"),
        ({str(uuid.uuid4()): MODEL, str(uuid.uuid4()): MODEL}, "two model ids"),
    ],
)
async def test_bad_model_paths_are_refused_when_connecting(
    paths: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        async with runbridge.connect("runflow", token="rf_live_x", model_paths=paths):
            pass
    assert caught.value.field == "model_paths"


# -- 2. a server without the q target filter -------------------------------------------------


async def test_a_server_refusing_the_model_filter_still_lists_by_target() -> None:
    emulator = RunflowEmulator(query_fields={"id", "status_code", "client_ref"})
    other = emulator.add_target()
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        mine = []
        for n in range(4):
            mine.append((await client.create(emulator.default_target, inputs={"n": n})).ref)
            await client.create(other, inputs={"n": n})
            await client.create(other, inputs={"n": n})
        listing = client.list(target=emulator.default_target, page_size=2)
        pages = [page async for page in listing.pages()]
        again = [run.ref async for run in client.list(target=emulator.default_target)]
    listed = [run.ref for page in pages for run in page.items]
    assert listed == mine[::-1] == again  # newest first, every run of the model, no other
    # Pages of two runs of either model: the cursor walks all twelve, some pages keep none.
    assert len(pages) == 6 and any(not page.items for page in pages)
    # Refused once (422), then never asked again by this client.
    assert len(target_filters(emulator)) == 1


async def test_a_refused_filter_still_lists_a_known_model_path() -> None:
    emulator = RunflowEmulator(query_fields={"status_code"})
    other = emulator.add_target()
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        made = await client.create(f"models/{MODEL}")  # learns the model's id
        await client.create(other)
        listed = [run async for run in client.list(target=f"models/{MODEL}")]
    assert [(run.ref, run.target) for run in listed] == [(made.ref, emulator.default_target)]
    assert len(target_filters(emulator)) == 1


async def test_other_refusals_of_a_listing_are_not_taken_for_the_filter(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.inject(422, times=2)
    with pytest.raises(InvalidRequest):
        await client.list_page(target=emulator.default_target)
    made = await client.create(emulator.default_target)
    assert [run.ref async for run in client.list(target=emulator.default_target)] == [made.ref]
    assert target_filters(emulator)[-1].param("q") == f"model_id:{model_id(emulator)}"


# -- 3. failure text in node runs ------------------------------------------------------------


async def test_a_planned_failure_reads_back_its_message_from_the_node_runs() -> None:
    emulator = RunflowEmulator(failure_fields=False)  # the get-run reference's record
    emulator.plan_next(outcome=RunStatus.FAILED, message="the prompt was refused")
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        run = await client.create(emulator.default_target)
        emulator.advance(SETTLE)
        failed = await client.get(run)
    assert "failure_message" not in failed.raw
    assert failed.status is RunStatus.FAILED
    assert failed.failure == Failure("task", "the prompt was refused")


async def test_the_failing_node_run_carries_the_planned_message(emulator: RunflowEmulator) -> None:
    emulator.plan_next(outcome=RunStatus.FAILED, message="out of memory")
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        run = await client.create(emulator.default_target)
        emulator.advance(SETTLE)
        failed = await client.get(run)
    messages = [n["error_message"] for n in failed.raw["node_runs"] if n["error_message"]]
    assert messages == ["out of memory"] == [failed.raw["failure_message"]]
    assert failed.failure is not None and failed.failure.message == "out of memory"


def _node(state: str, message: str | None) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "state_code": state, "error_message": message}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "timeout in node 2; bad input in node 3"),
        ({"failure_message": "the model failed"}, "the model failed"),
        ({"node_runs": [_node("succeeded", "retried once")]}, "retried once"),
        ({"node_runs": "not-a-list", "error": {"message": "sdk text"}}, "sdk text"),
        ({"node_runs": [_node("failed", None), {"error_message": 7}]}, None),
    ],
)
async def test_failure_text_comes_from_failure_message_then_the_failed_node_runs(
    client: RunClient, emulator: RunflowEmulator, extra: dict[str, Any], message: str | None
) -> None:
    nodes = [
        _node("succeeded", "retried once"),  # a node that failed once, then succeeded
        _node("failed", "timeout in node 2"),
        _node("failed", "bad input in node 3"),
        _node("failed", "timeout in node 2"),
        _node("queued", None),
    ]
    run_id = str(uuid.uuid4())
    emulator.inject(200, body={"id": run_id, "status_code": "failed", "node_runs": nodes, **extra})
    failed = await client.get(run_id)
    assert failed.failure is not None and failed.failure.message == message
