"""``Run.raw`` is the provider's whole payload, decoded from the response only when read.

Runs read from responses keep the response bytes, not a decoded copy; these tests
check that what comes out is the payload the provider sent, whatever the caller does
with it: compare, pickle, serialise, evolve, read it after the client closed.
"""

from __future__ import annotations

import pickle

import attrs
import orjson

from runbridge import ResponseError, Run, RunClient, RunStatus
from runbridge.emulation import Emulator
from support import SECRET

EXTRA = {"x_undocumented": [1, {"nested": "é ünïcode"}], "x_null": None}
"""Fields no adapter reads: ``Run.raw`` must keep them verbatim."""


async def test_raw_is_the_whole_payload_the_provider_sent(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    run = await client.create(target, inputs={"k": "v"})
    payload = {**(await client.get(run)).raw, **EXTRA}
    emulator.inject(200, body=payload)
    got = await client.get(run)
    assert type(got.raw) is dict
    assert got.raw == payload


async def test_every_listed_run_keeps_its_own_payload(client: RunClient, target: str) -> None:
    made = [await client.create(target, inputs={"n": n}) for n in range(5)]
    page = await client.list_page(target=target, page_size=5)
    by_id = {run.id: run for run in page.items}
    assert by_id.keys() == {run.id for run in made}
    for run in page.items:
        assert run.raw.get("id", run.id) == run.id or run.id in orjson.dumps(run.raw).decode()
    assert len({orjson.dumps(run.raw) for run in page.items}) == 5


async def test_raw_compares_pickles_serialises_and_evolves_as_a_dict(
    client: RunClient, target: str
) -> None:
    created = await client.create(target, inputs={"k": "v"})
    first, second = await client.get(created), await client.get(created)
    assert first == second  # neither raw read yet
    assert hash(first) == hash(second)
    assert pickle.loads(pickle.dumps(first)) == first
    assert orjson.loads(orjson.dumps(second.raw)) == second.raw
    assert attrs.evolve(first, name="renamed").raw == first.raw
    assert Run(ref=first.ref, status=first.status, raw={"id": first.id}).raw == {"id": first.id}


async def test_raw_can_be_read_after_the_client_is_closed(emulator: Emulator, target: str) -> None:
    from runbridge.testing import emulated_client

    async with emulated_client(emulator.provider, emulator=emulator) as (client, _):
        await client.create(target)
        page = await client.list_page(target=target)
    assert all(run.raw and run.raw.keys() for run in page.items)


async def test_a_run_whose_status_has_another_type_is_refused_naming_it(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    run = await client.create(target)
    payload = dict((await client.get(run)).raw)
    payload[emulator.status_field] = {"not": "a status"}
    emulator.inject(200, body=payload)
    refused: ResponseError | None = None
    try:
        got = await client.get(run)
    except ResponseError as exc:
        refused = exc
    if refused is not None:  # the wire struct refuses it, naming the field
        assert refused.provider == emulator.provider
        assert emulator.status_field in str(refused)
    else:  # or the adapter reads it as a value it does not know, keeping it
        assert got.status is RunStatus.UNKNOWN
        assert got.raw[emulator.status_field] == {"not": "a status"}


async def test_an_echoed_secret_never_reaches_raw(
    client: RunClient, emulator: Emulator, target: str
) -> None:
    run = await client.create(target)
    payload = {**(await client.get(run)).raw, "x_echo": f"token={emulator.token}"}
    emulator.inject(200, body=payload)
    got = await client.get(run)
    assert emulator.token not in orjson.dumps(got.raw).decode()
    assert SECRET not in repr(got)
