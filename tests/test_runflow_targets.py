"""Runflow targets by id and by path: create, list and learn, over loopback HTTP.

Documented run records name their target by id only (``model_id``,
``comfyui_workflow_id``, ``flow_id``), so ``models/<model_id>`` is the canonical
target; a path target works where the adapter can map it to an id. A
target-filtered listing never returns a run of another target, nor one whose
target is unknown.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from runbridge import InvalidRequest, ResponseError, RunClient, RunRequest, RunStatus
from runbridge.emulation import LoggedRequest
from runbridge.testing import emulated_client
from runbridge_runflow._target import Directory
from runbridge_runflow.emulator import RunflowEmulator
from support import sent

FLOW = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"


@pytest.fixture
def provider() -> str:
    return "runflow"


def listings(emulator: RunflowEmulator) -> list[LoggedRequest]:
    return sent(emulator, "GET", "/runs")


def ident(target: str) -> str:
    return target.split("/", 1)[1]


def page(*items: dict[str, Any]) -> dict[str, Any]:
    return {"items": list(items), "first": None, "next": None, "previous": None}


def record(**fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "status_code": "succeeded", **fields}


# -- the id form ----------------------------------------------------------------------------


async def test_an_id_target_filters_on_the_server(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    other = emulator.add_model("acme/other")
    emulator.plan_next(queued=0, running=0)
    done = await client.create(emulator.default_target)
    emulator.advance(5)
    emulator.plan_next(queued=10_000)
    waiting = await client.create(emulator.default_target)
    await client.create(other)
    mine = [r async for r in client.list(target=emulator.default_target)]
    assert [r.ref for r in mine] == [waiting.ref, done.ref]
    assert {r.target for r in mine} == {emulator.default_target}
    assert listings(emulator)[-1].param("q") == f"model_id:{ident(emulator.default_target)}"
    # A status with it: the target goes alone (how AND and OR bind is undocumented),
    # and the core checks the status of every run.
    succeeded = [
        r.ref async for r in client.list(target=emulator.default_target, status="succeeded")
    ]
    assert succeeded == [done.ref]
    assert listings(emulator)[-1].param("q") == f"model_id:{ident(emulator.default_target)}"


async def test_a_target_filter_never_lets_other_runs_through(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    model = ident(emulator.default_target)
    ours = record(model_id=model, target_type="model")
    # A server that ignores q: runs of another model, of a workflow, and of no known target.
    emulator.inject(
        200,
        body=page(
            record(model_id=str(uuid.uuid4()), target_type="model"),
            ours,
            record(comfyui_workflow_id=model),
            record(target_type="model"),
            record(),
        ),
    )
    listed = [r async for r in client.list(target=emulator.default_target)]
    assert [r.id for r in listed] == [ours["id"]]


async def test_a_workflow_id_and_a_flow_id_filter_by_their_own_field(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    workflow = emulator.add_workflow("acme/upscale")
    run = await client.create(workflow)
    await client.create(emulator.default_target)
    assert emulator.log[-2].path == f"/v1/{workflow}/runs"  # by id (an assumption)
    assert [r.ref async for r in client.list(target=workflow)] == [run.ref]
    assert listings(emulator)[-1].param("q") == f"comfyui_workflow_id:{ident(workflow)}"
    assert [r async for r in client.list(target=f"flows/{FLOW.upper()}")] == []
    assert listings(emulator)[-1].param("q") == f"flow_id:{FLOW}"


async def test_a_flow_target_cannot_be_started(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await client.create(f"flows/{FLOW}")
    assert caught.value.field == "target" and "flow" in caught.value.message
    result = await client.create_many([RunRequest(target=f"flows/{FLOW}")] * 2)
    assert [type(e.error) for e in result.errors] == [InvalidRequest, InvalidRequest]
    assert emulator.log == []


# -- path forms -----------------------------------------------------------------------------


async def test_an_unknown_model_path_cannot_be_listed_and_says_how(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    path = emulator.path_of(emulator.default_target)
    for attempt in (client.list_page(target=path), client.list(target=path).collect()):
        with pytest.raises(InvalidRequest) as caught:
            await attempt
        assert caught.value.field == "target"
        assert "models/<model_id>" in caught.value.message
    assert emulator.log == []


async def test_a_created_path_lists_by_its_id(client: RunClient, emulator: RunflowEmulator) -> None:
    path = emulator.path_of(emulator.default_target)
    run = await client.create(path)
    await client.create(emulator.add_model("acme/other"))
    assert client.adapter.canonical_target(path) == emulator.default_target
    listed = [r async for r in client.list(target=path)]
    assert [(r.ref, r.target) for r in listed] == [(run.ref, emulator.default_target)]
    assert listings(emulator)[-1].param("q") == f"model_id:{ident(emulator.default_target)}"
    # And the id form now starts runs through the path the adapter knows.
    await client.create(emulator.default_target)
    assert emulator.log[-1].path == f"/v1/{path}/runs"


async def test_a_path_learned_after_the_listing_was_set_up_still_matches(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    path = emulator.path_of(emulator.default_target)
    listing = client.list(target=path)  # no request yet; the filter holds the path
    run = await client.create(path)
    listed = [r async for r in listing]
    # Reported under the path the caller filtered by, so the core's check matches.
    assert [(r.ref, r.target) for r in listed] == [(run.ref, path)]


async def test_a_workflow_path_lists_through_its_own_endpoint(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    workflow = emulator.add_workflow("acme/upscale")
    other = emulator.add_workflow("acme/other")
    async with emulated_client("runflow", emulator=emulator) as (creator, _):
        mine = [await creator.create(workflow) for _ in range(3)]
        await creator.create(other)
    path = emulator.path_of(workflow)
    listed = [r async for r in client.list(target=path, page_size=2)]
    assert [r.ref for r in listed] == [run.ref for run in reversed(mine)]
    assert {r.target for r in listed} == {path}
    assert {r.path for r in listings(emulator)} == {f"/v1/{path}/runs"}
    # The listing taught the client the workflow's id.
    assert client.adapter.canonical_target(path) == workflow


async def test_a_workflow_listing_that_mixes_workflows_is_refused(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    path = emulator.path_of(emulator.add_workflow("acme/upscale"))
    emulator.inject(
        200,
        body=page(
            record(comfyui_workflow_id=str(uuid.uuid4())),
            record(comfyui_workflow_id=str(uuid.uuid4())),
        ),
    )
    with pytest.raises(ResponseError):
        await client.list_page(target=path)


async def test_a_workflow_listing_keeps_out_what_is_not_a_workflow_run(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    path = emulator.path_of(emulator.add_workflow("acme/upscale"))
    workflow = str(uuid.uuid4())
    ours = record(comfyui_workflow_id=workflow)
    emulator.inject(200, body=page(record(model_id=workflow), ours, record()))
    listed = [r async for r in client.list(target=path)]
    assert [(r.id, r.target) for r in listed] == [(ours["id"], path)]


# -- servers that name owners (undocumented, tolerated) --------------------------------


async def test_a_model_owner_teaches_the_path_without_a_create() -> None:
    emulator = RunflowEmulator(extras={"model_owner"})
    path = emulator.path_of(emulator.default_target)
    async with emulated_client("runflow", emulator=emulator) as (creator, _):
        run = await creator.create(emulator.default_target)
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        got = await client.get(run)
        assert got.raw["model"]["owner"] == "acme"
        assert got.target == emulator.default_target  # the id, which the record also has
        assert [r.ref async for r in client.list(target=path)] == [run.ref]


async def test_an_owner_without_an_id_gives_the_path_form(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    run_id = str(uuid.uuid4())
    emulator.inject(200, body=record(id=run_id, model={"owner": "acme", "slug": "echo/v1"}))
    got = await client.get(run_id)
    assert got.target == "models/acme/echo/v1"
    with pytest.raises(InvalidRequest):  # still no id: this path cannot be listed
        await client.list_page(target=got.target)


async def test_a_workflow_object_teaches_its_path() -> None:
    emulator = RunflowEmulator(extras={"comfyui_workflow"})
    workflow = emulator.add_workflow("acme/upscale")
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        run = await client.create(workflow)
        assert run.raw["comfyui_workflow"]["owner"] == "acme"
        assert run.target == workflow
        assert client.adapter.canonical_target("comfyui-workflows/acme/upscale") == workflow


# -- the directory --------------------------------------------------------------------------


def test_the_directory_is_bounded_and_forgets_stale_pairs() -> None:
    directory = Directory(size=2)
    directory.learn("models/a/x", "models/1")
    directory.learn("models/b/x", "models/2")
    directory.learn("models/c/x", "models/3")
    assert len(directory) == 2
    assert directory.id_for("models/a/x") is None
    directory.learn("models/b/x", "models/4")  # re-created under the same path
    assert (directory.id_for("models/b/x"), directory.path_for("models/2")) == ("models/4", None)
    directory.learn("models/d/x", "models/3")  # renamed
    assert (directory.id_for("models/c/x"), directory.path_for("models/3")) == (None, "models/d/x")


async def test_canonical_targets(client: RunClient, emulator: RunflowEmulator) -> None:
    upper = f"models/{ident(emulator.default_target).upper()}"
    assert client.adapter.canonical_target(upper) == emulator.default_target
    assert client.adapter.canonical_target("models/acme/x") == "models/acme/x"
    assert client.adapter.canonical_target("not a target") == "not a target"
    run = await client.create(upper)
    assert run.target == emulator.default_target
    assert (await client.get(run)).status is RunStatus.PENDING
