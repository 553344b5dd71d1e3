"""What the application did, as the emulator saw it: the runs created and the calls made
per operation, with sensitive inputs never kept."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from runbridge import RunClient, RunRequest
from runbridge.adapter import Support
from runbridge.emulation import MASK, CreatedRun, Emulator
from runbridge.testing import RawClient
from runbridge_cyberdesk.emulator import CyberdeskEmulator

SECRET = "hunter2-Sécret/+="


async def test_each_client_operation_is_counted_under_its_name(
    provider: str, client: RunClient, emulator: Emulator, target: str
) -> None:
    run = await client.create(target)
    read_back = emulator.calls["get"]  # the Kognitos API's invoke answers an id: it is read
    assert read_back == (1 if provider == "kognitos-api" else 0)
    await client.get(run)
    await client.get(run)
    await client.list(target=target).collect()
    calls = emulator.calls
    assert (calls["create"], calls["get"], calls["cancel"]) == (1, read_back + 2, 0)
    assert calls["list"] >= 1
    if client.capabilities.support("cancel") is Support.NATIVE:
        await client.cancel(run)  # some adapters read the run first
        assert emulator.calls["cancel"] == 1
    calls = emulator.calls
    assert sum(calls.values()) == len(emulator.log)  # every routed request is named


@pytest.mark.parametrize("provider", ["cyberdesk"])
async def test_cyberdesk_names_its_writes(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    run = await client.create(target)
    await client.update(run, inputs={"a": 1})
    emulator.advance(3600)
    await client.retry(run)
    emulator.advance(3600)
    await client.delete(run)
    await client.create_many([RunRequest(target=target) for _ in range(2)])
    calls = emulator.calls
    assert (calls["update"], calls["retry"], calls["delete"], calls["create_many"]) == (1, 1, 1, 1)


async def test_refused_requests_are_calls_too(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    emulator.inject(503, times=2)
    await client.create(target)
    assert emulator.calls["create"] == 3  # two refused, one served
    assert len(emulator.created) == 1


async def test_a_path_no_route_takes_names_no_operation(api: RawClient) -> None:
    response = await api("GET", "/definitely/not/a/route")
    assert response.status == 404
    assert api.emulator.log[-1].operation is None
    assert sum(api.emulator.calls.values()) == 0


async def test_the_runs_created_say_what_was_asked(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    first = await client.create(target, inputs={"text": "a", "n": 1})
    second = await client.create(target, inputs={"text": "b"})
    assert [c.id for c in emulator.created] == [first.id, second.id]
    assert [dict(c.inputs) for c in emulator.created] == [{"text": "a", "n": 1}, {"text": "b"}]
    assert {c.target for c in emulator.created} == {target}


@pytest.mark.parametrize("provider", ["kognitos"])
async def test_kognitos_created_runs_carry_the_name_and_stage(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    await client.create(target, name="nightly import")
    [created] = emulator.created
    assert created.name == "nightly import"
    assert created.options == {"stage": "Published"}


@pytest.mark.parametrize("provider", ["runflow"])
async def test_runflow_created_runs_carry_the_options_sent(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    await client.create(target, inputs={"p": 1}, client_ref="order-7")
    [created] = emulator.created
    assert created.name is None  # Runflow runs have no name of their own
    assert created.options["client_ref"] == "order-7"


@pytest.mark.parametrize("provider", ["cyberdesk", "runflow"])
async def test_bulk_creates_list_every_run_made(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    requests = [RunRequest(target=target, inputs={"i": i}) for i in range(3)]
    result = await client.create_many(requests)
    assert sorted(c.inputs["i"] for c in emulator.created) == [0, 1, 2]
    assert {c.id for c in emulator.created} == {run.id for run in result.runs}


@pytest.mark.parametrize("provider", ["cyberdesk"])
async def test_a_partly_failed_bulk_lists_only_the_runs_made(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    assert isinstance(emulator, CyberdeskEmulator)
    emulator.fail_bulk(2)
    result = await client.create_many([RunRequest(target=target) for _ in range(5)])
    assert len(emulator.created) == len(result.runs) == 3


@pytest.mark.parametrize("provider", ["cyberdesk"])
async def test_secrets_are_never_kept_in_any_encoding(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    await client.create(target, inputs={"q": 1}, secrets={"password": SECRET})
    [created] = emulator.created
    assert created.secrets == ("password",)
    assert "password" not in created.inputs and "password" not in created.options
    seen = repr(emulator.created) + repr(emulator.log) + repr(emulator.calls)
    for form in (
        SECRET,
        SECRET.encode().hex(),
        base64.b64encode(SECRET.encode()).decode(),
        urllib.parse.quote(SECRET),
        SECRET.encode("unicode_escape").decode(),
    ):
        assert form not in seen
    assert MASK in str(emulator.log[0].body)
    assert emulator.secrets_of(created.id) == {"password": SECRET}  # it did arrive


def test_a_created_run_is_a_plain_record() -> None:
    created = CreatedRun(id="r1", target="t", inputs={"a": 1})
    assert created.name is None and created.options == {} and created.secrets == ()
    with pytest.raises(TypeError):
        CreatedRun("r1", "t")  # type: ignore[call-arg]  # keyword-only
