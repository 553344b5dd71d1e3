"""Fault profiles of the emulators, seen from a bare HTTP client and through runbridge."""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import orjson
import pytest

from memo_plugin.emulator import MemoEmulator
from runbridge import RetryPolicy, RunStatus
from runbridge.emulation import Emulator, Faults, ManualClock
from runbridge.testing import (
    RawClient,
    RawResponse,
    emulated_client,
    load_emulator,
    testing_options,
)
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from runbridge_runflow.emulator import RunflowEmulator

MYSTERY = "mystery_state"


@contextlib.asynccontextmanager
async def bare(emulator: Emulator) -> AsyncIterator[RawClient]:
    """Plain HTTP access to ``emulator`` that shows every dropped connection.

    aiohttp quietly resends a GET, PUT or DELETE once when the connection drops;
    its own test client turns that off the same way, so one fault is one error.
    """
    async with emulator.serve() as base_url, aiohttp.ClientSession() as session:
        session._retry_connection = False
        yield RawClient(session, base_url, emulator)


@pytest.fixture
async def api(emulator: Emulator) -> AsyncIterator[RawClient]:
    """``bare`` access to each built-in provider's emulator in turn."""
    async with bare(emulator) as api:
        yield api


# Where the providers differ over raw HTTP: the Kognitos API names a run by its resource
# name, answers an invoke with the new run's id only, and lists under "runs".
ID_FIELD = {"kognitos-api": "name"}
"""The key of a run object's id, where it is not ``id``."""
CREATED_FIELD = {"kognitos-api": "create_time"}
"""The key of a run object's creation time, where it is not ``created_at``."""
ITEMS_FIELD = {"kognitos-api": "runs"}
"""The key of a listing's runs, where it is not ``items``."""
HEALTH = {"cyberdesk": "/v1/health", "kognitos": "/health"}
"""Health checks; Runflow and the Kognitos API have none."""
KOGNITOS_API_STAGE = "AUTOMATION_STAGE_PUBLISHED"


def id_of(emulator: Emulator, run: dict[str, Any]) -> Any:
    return run[ID_FIELD.get(emulator.provider, "id")]


def items_field(emulator: Emulator) -> str:
    return ITEMS_FIELD.get(emulator.provider, "items")


def runs_path(emulator: Emulator) -> str:
    """The path that lists the runs (of the default target, where listings need one)."""
    if emulator.provider == "kognitos-api":
        return f"/api/v1/{emulator.default_target}/runs"
    return "/runs" if emulator.provider == "kognitos" else "/v1/runs"


def run_path(emulator: Emulator, run_id: str) -> str:
    if emulator.provider == "kognitos-api":
        return f"/api/v1/{run_id}"  # the id is the resource name
    return f"{runs_path(emulator)}/{run_id}"


def create_request(emulator: Emulator) -> tuple[str, dict[str, Any]]:
    """Path and body of a valid create for the emulator's default target."""
    if emulator.provider == "cyberdesk":
        return "/v1/runs", {"workflow_id": emulator.default_target}
    if emulator.provider == "kognitos":
        agent_id, process_id = emulator.default_target.split("/")
        body = {
            "agent_id": agent_id,
            "process_id": process_id,
            "name": "fault test",
            "stage": "Published",
            "inputs": [],
        }
        return "/runs", body
    if emulator.provider == "kognitos-api":
        body = {"stage": KOGNITOS_API_STAGE, "inputs": {"prompt": {"text": "a cat"}}}
        return f"/api/v1/{emulator.default_target}:invoke", body
    return f"/v1/{emulator.default_target}/runs", {"input": {"prompt": "a cat"}}


def created_status(emulator: Emulator) -> int:
    """The status of a successful create: the Kognitos API's invoke answers 200."""
    return 200 if emulator.provider == "kognitos-api" else 201


async def create(api: RawClient) -> RawResponse:
    path, body = create_request(api.emulator)
    return await api("POST", path, json=body)


async def get(api: RawClient, run_id: str) -> RawResponse:
    return await api("GET", run_path(api.emulator, run_id))


async def list_runs(api: RawClient) -> RawResponse:
    params = None
    if api.emulator.provider == "kognitos":
        agent_id, process_id = api.emulator.default_target.split("/")
        params = {"agent_id": agent_id, "process_id": process_id}
    return await api("GET", runs_path(api.emulator), params=params)


async def new_run(api: RawClient) -> str:
    """Create a run with faults off (restoring the profile) and return its id."""
    emulator = api.emulator
    profile, emulator.faults = emulator.faults, None
    try:
        answer = await create(api)
        assert answer.status == created_status(emulator), answer.content
        created = orjson.loads(answer.content)
        if emulator.provider != "kognitos-api":
            run_id: str = id_of(emulator, created)
            return run_id
        # The invoke answers {"run_id"} only; the run's id is its resource name.
        assert created.keys() == {"run_id"}, created
        name = f"{emulator.default_target}/runs/{created['run_id']}"
        read = await get(api, name)
        assert read.status == 200, read.content
        assert orjson.loads(read.content)["name"] == name
        return name
    finally:
        emulator.faults = profile


async def listed(api: RawClient) -> list[dict[str, Any]]:
    """Every run listed, with faults switched off for good."""
    api.emulator.faults = None
    answer = await list_runs(api)
    assert answer.status == 200, answer.content
    items: list[dict[str, Any]] = orjson.loads(answer.content)[items_field(api.emulator)]
    return items


def status_of(emulator: Emulator, run: dict[str, Any]) -> Any:
    """The native status of a run object: the key of a Kognitos API state object."""
    assert emulator.status_field is not None
    status = run[emulator.status_field]
    if emulator.provider == "kognitos-api":
        (key,) = status.keys() - {"update_time"}
        return key
    return status


def garbled_status(emulator: Emulator, run: dict[str, Any]) -> Any:
    """The status field of ``run`` after an ``unknown_status`` fault: a Kognitos API state
    object keeps its ``update_time`` and names the mystery state, with no fields."""
    if emulator.provider == "kognitos-api":
        return {MYSTERY: {}, "update_time": run["state"]["update_time"]}
    return MYSTERY


def outcome(status: int, body: bytes) -> str:
    """A request's result as a short label, for comparing sequences."""
    if 200 <= status < 300:
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            return f"{status} garbled"
        return f"{status} {orjson.dumps(decoded, option=orjson.OPT_SORT_KEYS).decode()}"
    return str(status)


# -- the profile itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"server_error": 1.5},
        {"rate_limited": -0.1},
        {"truncated": math.nan},
        {"slow": 2},
        {"rate_limited": 0.6, "server_error": 0.5},
        {"reset_before": 0.4, "reset_after": 0.4, "malformed": 0.3},
        {"slow_seconds": -1},
        {"paths": "(unclosed"},
    ],
)
def test_faults_reject_impossible_rates(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Faults(**fields)


@pytest.mark.parametrize("value", ["0.5", True, None])
def test_faults_rates_must_be_numbers(value: Any) -> None:
    with pytest.raises(TypeError):
        Faults(server_error=value)


def test_faults_independent_kinds_may_add_up_past_one() -> None:
    faults = Faults(server_error=1, slow=1, unknown_status=1, missing_fields=1, methods="get")
    assert faults.active
    assert faults.methods == frozenset({"GET"})
    assert faults.covers("get", "/v1/runs")
    assert not faults.covers("POST", "/v1/runs")


def test_faults_none_is_inactive() -> None:
    assert not Faults.none().active
    assert Faults.none() == Faults()


def test_mixed_spreads_the_total_over_every_kind() -> None:
    faults = Faults.mixed(0.2, seed=3)
    rates = {kind: faults.rate(kind) for kind in Faults.KINDS}
    assert all(rate > 0 for rate in rates.values())
    assert sum(rates.values()) == pytest.approx(0.2)
    assert rates["server_error"] == pytest.approx(0.04)
    assert rates["rate_limited"] == pytest.approx(0.03)
    assert faults.seed == 3
    assert Faults.mixed(1.0).active
    with pytest.raises(ValueError):
        Faults.mixed(1.5)


def test_inject_fault_rejects_unknown_kinds() -> None:
    emulator = load_emulator("cyberdesk")
    with pytest.raises(ValueError, match="unknown fault kind"):
        emulator.inject_fault("gremlins")  # type: ignore[arg-type]


# -- each kind, from a bare client -----------------------------------------------------


async def test_rate_limited_answers_429_with_retry_after(api: RawClient) -> None:
    run_id = await new_run(api)
    api.emulator.faults = Faults(rate_limited=1.0)
    answer = await get(api, run_id)
    assert (answer.status, answer.headers.get("Retry-After")) == (429, "0")
    assert orjson.loads(answer.content) == api.emulator.error_body(
        429, "injected fault: rate_limited"
    )
    assert api.emulator.fault_counts == Counter(rate_limited=1)


async def test_rate_limited_bare_answers_429_without_retry_after(api: RawClient) -> None:
    api.emulator.faults = Faults(rate_limited_bare=1.0)
    answer = await create(api)
    assert answer.status == 429
    assert "Retry-After" not in answer.headers
    assert api.emulator.fault_counts == Counter(rate_limited_bare=1)
    assert await listed(api) == []


async def test_server_errors_are_500_502_and_503(api: RawClient) -> None:
    run_id = await new_run(api)
    api.emulator.faults = Faults(server_error=1.0, seed=11)
    statuses = [(await get(api, run_id)).status for _ in range(30)]
    assert set(statuses) == {500, 502, 503}
    assert api.emulator.fault_counts == Counter(server_error=30)


async def test_reset_before_drops_the_connection_and_changes_nothing(api: RawClient) -> None:
    api.emulator.faults = Faults(reset_before=1.0)
    with pytest.raises(aiohttp.ClientConnectionError):
        await create(api)
    assert api.emulator.fault_counts == Counter(reset_before=1)
    assert await listed(api) == []


async def test_reset_after_keeps_the_change_but_loses_the_answer(api: RawClient) -> None:
    api.emulator.faults = Faults(reset_after=1.0)
    with pytest.raises(aiohttp.ClientConnectionError):
        await create(api)
    assert api.emulator.fault_counts == Counter(reset_after=1)
    assert len(await listed(api)) == 1


async def test_a_connection_after_a_reset_works(api: RawClient) -> None:
    run_id = await new_run(api)
    api.emulator.inject_fault("reset_after")
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(api, run_id)
    answer = await get(api, run_id)
    assert answer.status == 200
    assert id_of(api.emulator, orjson.loads(answer.content)) == run_id


async def test_truncated_cuts_a_success_body_short(api: RawClient) -> None:
    run_id = await new_run(api)
    whole = (await get(api, run_id)).content
    api.emulator.faults = Faults(truncated=1.0)
    answer = await get(api, run_id)
    cut = answer.content
    assert answer.status == 200
    assert 0 < len(cut) < len(whole)
    assert whole.startswith(cut)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(cut)
    assert api.emulator.fault_counts == Counter(truncated=1)


async def test_malformed_replaces_a_success_body(api: RawClient) -> None:
    run_id = await new_run(api)
    api.emulator.faults = Faults(malformed=1.0)
    answer = await list_runs(api)
    assert answer.status == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(answer.content)
    assert api.emulator.fault_counts == Counter(malformed=1)
    assert [id_of(api.emulator, item) for item in await listed(api)] == [run_id]


@pytest.mark.parametrize("kind", ["truncated", "malformed", "unknown_status", "missing_fields"])
async def test_body_faults_leave_error_answers_alone(api: RawClient, kind: str) -> None:
    api.emulator.faults = Faults(**{kind: 1.0})
    answer = await get(api, api.emulator.unknown_id())
    assert answer.status == 404
    assert orjson.loads(answer.content)
    assert api.emulator.fault_counts == Counter()


async def test_unknown_status_rewrites_every_run_object(api: RawClient) -> None:
    first, second = await new_run(api), await new_run(api)
    plain = (await get(api, first)).content
    api.emulator.faults = Faults(unknown_status=1.0)
    answer = await get(api, first)
    assert answer.status == 200
    garbled, whole = orjson.loads(answer.content), orjson.loads(plain)
    assert status_of(api.emulator, garbled) == MYSTERY
    field = api.emulator.status_field
    assert garbled[field] == garbled_status(api.emulator, whole)
    assert {k: v for k, v in garbled.items() if k != field} == {
        k: v for k, v in whole.items() if k != field
    }
    listing = (await list_runs(api)).content
    items = orjson.loads(listing)[items_field(api.emulator)]
    assert {id_of(api.emulator, item) for item in items} == {first, second}
    assert {status_of(api.emulator, item) for item in items} == {MYSTERY}
    assert api.emulator.fault_counts == Counter(unknown_status=2)


async def test_missing_fields_strips_optional_fields_only(api: RawClient) -> None:
    run_id = await new_run(api)
    plain = orjson.loads((await get(api, run_id)).content)
    optional = api.emulator.optional_fields
    assert plain.keys() & optional, "the emulator should show some optional fields"
    api.emulator.faults = Faults(missing_fields=1.0)
    stripped = orjson.loads((await get(api, run_id)).content)
    assert stripped == {k: v for k, v in plain.items() if k not in optional}
    id_field = ID_FIELD.get(api.emulator.provider, "id")
    assert {id_field, api.emulator.status_field} <= stripped.keys()
    assert CREATED_FIELD.get(api.emulator.provider, "created_at") in stripped
    listing = (await list_runs(api)).content
    (item,) = orjson.loads(listing)[items_field(api.emulator)]
    assert not item.keys() & optional
    assert api.emulator.fault_counts == Counter(missing_fields=2)


async def test_slow_responses_still_answer(api: RawClient) -> None:
    run_id = await new_run(api)
    api.emulator.faults = Faults(slow=1.0, slow_seconds=0.0)
    for _ in range(3):
        answer = await get(api, run_id)
        assert (answer.status, id_of(api.emulator, orjson.loads(answer.content))) == (200, run_id)
    assert api.emulator.fault_counts == Counter(slow=3)


async def test_fault_counts_match_what_the_client_saw(api: RawClient) -> None:
    run_id = await new_run(api)
    api.emulator.faults = attrs.evolve(Faults.mixed(0.8, seed=5), slow_seconds=0.0)
    seen: Counter[str] = Counter()
    for _ in range(120):
        try:
            answer = await get(api, run_id)
        except aiohttp.ClientConnectionError:
            seen["reset"] += 1
            continue
        status, body = answer.status, answer.content
        if status == 429:
            seen["429"] += 1
        elif status >= 500:
            seen["5xx"] += 1
        elif outcome(status, body).endswith("garbled"):
            seen["garbled"] += 1
        elif status_of(api.emulator, orjson.loads(body)) == MYSTERY:
            seen["mystery"] += 1
    counts = api.emulator.fault_counts
    assert set(counts) == set(Faults.KINDS)
    assert seen["429"] == counts["rate_limited"] + counts["rate_limited_bare"]
    assert seen["5xx"] == counts["server_error"]
    assert seen["reset"] == counts["reset_before"] + counts["reset_after"]
    assert seen["garbled"] == counts["truncated"] + counts["malformed"]
    assert seen["mystery"] == counts["unknown_status"]


async def test_a_seed_makes_the_faults_reproducible(provider: str) -> None:
    async def sequence(target: Emulator, faults: Faults) -> tuple[list[str], Counter[str]]:
        async with bare(target) as api:
            run_id = await new_run(api)
            plain = (await get(api, run_id)).content
            target.faults = faults
            seen = []
            for _ in range(40):
                try:
                    answer = await get(api, run_id)
                except aiohttp.ClientConnectionError:
                    seen.append("reset")
                    continue
                # Run ids differ between emulators: compare bodies by what changed.
                body = answer.content
                seen.append(f"{answer.status} {'same' if body == plain else len(body)}")
            return seen, target.fault_counts

    def fresh() -> Emulator:
        # One start time for all three: a timestamp's length (the Kognitos API trims
        # trailing zeros of its fraction) must not make the bodies differ by chance.
        return load_emulator(provider, clock=ManualClock(1_750_000_000.25))

    profile = attrs.evolve(Faults.mixed(0.6, seed=1234), slow_seconds=0.0)
    first = await sequence(fresh(), profile)
    again = await sequence(fresh(), profile)
    other = await sequence(fresh(), attrs.evolve(profile, seed=4321))
    assert first == again
    assert first[0] != other[0]


async def test_setting_the_profile_again_restarts_its_sequence(api: RawClient) -> None:
    run_id = await new_run(api)
    profile = Faults(server_error=0.5, seed=7)

    async def statuses() -> list[int]:
        api.emulator.faults = profile
        return [(await get(api, run_id)).status for _ in range(20)]

    first = await statuses()
    assert set(first) > {200}
    assert await statuses() == first


async def test_methods_and_paths_limit_what_is_hit(api: RawClient) -> None:
    run_id = await new_run(api)
    api.emulator.faults = Faults(server_error=1.0, methods={"POST"})
    assert (await get(api, run_id)).status == 200
    assert (await create(api)).status >= 500
    api.emulator.faults = Faults(server_error=1.0, paths=r"/runs/")
    assert (await list_runs(api)).status == 200
    assert (await get(api, run_id)).status >= 500


async def test_injected_faults_come_first_then_the_profile_resumes(api: RawClient) -> None:
    run_id = await new_run(api)
    api.emulator.faults = Faults(unknown_status=1.0)
    api.emulator.inject_fault("rate_limited_bare", times=2)
    first = [(await get(api, run_id)).status for _ in range(2)]
    answer = await get(api, run_id)
    assert first == [429, 429]
    assert (answer.status, status_of(api.emulator, orjson.loads(answer.content))) == (
        200,
        MYSTERY,
    )
    assert api.emulator.fault_counts == Counter(rate_limited_bare=2, unknown_status=1)


async def test_routes_outside_the_api_are_not_hit(api: RawClient) -> None:
    api.emulator.faults = Faults(reset_before=1.0)
    assert (await api("GET", "/no/such/route")).status in (401, 404)
    if health := HEALTH.get(api.emulator.provider):
        assert (await api("GET", health)).status == 200
    assert api.emulator.fault_counts == Counter()


# -- idempotent writes keep their real answers ------------------------------------------


async def test_cyberdesk_replays_the_real_create_after_a_reset() -> None:
    emulator = CyberdeskEmulator()
    async with bare(emulator) as api:
        path, body = create_request(emulator)
        key = {"Idempotency-Key": "2f1d8a4c-5e7b-4c3a-9d2e-1b6f0a7c8e90"}
        emulator.inject_fault("reset_after")
        with pytest.raises(aiohttp.ClientConnectionError):
            await api("POST", path, json=body, headers=key)
        (created,) = await listed(api)
        emulator.inject_fault("unknown_status")
        garbled = await api("POST", path, json=body, headers=key)
        replayed = await api("POST", path, json=body, headers=key)
        assert replayed.status == 201
        assert orjson.loads(garbled.content) == {**created, "status": MYSTERY}
        assert orjson.loads(replayed.content) == created
        assert await listed(api) == [created]


async def test_runflow_replays_the_real_batch_after_a_reset() -> None:
    emulator = RunflowEmulator()
    async with bare(emulator) as api:
        path = f"/v1/{emulator.default_target}/batches"
        body = {"items": [{"input": {"prompt": "a"}}, {"input": {"prompt": "b"}}]}
        key = {"Idempotency-Key": "batch-1"}
        emulator.inject_fault("reset_after")
        with pytest.raises(aiohttp.ClientConnectionError):
            await api("POST", path, json=body, headers=key)
        assert len(emulator.batches) == 1
        emulator.inject_fault("truncated")
        cut = (await api("POST", path, json=body, headers=key)).content
        answer = await api("POST", path, json=body, headers=key)
        replayed = answer.content
        assert answer.status == 201
        assert replayed.startswith(cut) and len(cut) < len(replayed)
        assert len(await listed(api)) == 2
        assert list(emulator.batches) == [orjson.loads(replayed)["id"]]


# -- an emulator that declares nothing about its runs ----------------------------------


async def test_an_emulator_without_run_knowledge_gets_the_generic_kinds() -> None:
    memo = MemoEmulator(faults=Faults(unknown_status=1.0, missing_fields=1.0))
    async with bare(memo) as api:
        created = orjson.loads((await api("POST", "/runs", json={"target": "echo"})).content)
        assert created["state"] == "QUEUED"
        assert "cost" in created
        assert memo.fault_counts == Counter()
        memo.inject_fault("reset_before")
        with pytest.raises(aiohttp.ClientConnectionError):
            await api("GET", "/runs")
        assert memo.fault_counts == Counter(reset_before=1)


# -- through the runbridge client ------------------------------------------------------


async def test_reads_succeed_through_a_mixed_profile(provider: str) -> None:
    options = testing_options(retry=RetryPolicy.testing(attempts=8))
    async with emulated_client(provider, options=options) as (client, emulator):
        runs = [await client.create(emulator.default_target) for _ in range(3)]
        emulator.faults = Faults.mixed(0.3, seed=2024)
        for n in range(60):
            expected = runs[n % len(runs)]
            got = await client.get(expected.ref)
            assert got.ref == expected.ref
        listed = [run.ref async for run in client.list(target=emulator.default_target)]
        assert sorted(map(str, listed)) == sorted(str(run.ref) for run in runs)
        counts = emulator.fault_counts
        failing = ("rate_limited", "server_error", "reset_before", "reset_after")
        assert all(counts[kind] > 0 for kind in failing), counts


async def test_unknown_statuses_read_as_unknown_keeping_the_native_value(provider: str) -> None:
    async with emulated_client(provider) as (client, emulator):
        created = await client.create(emulator.default_target)
        emulator.inject_fault("unknown_status")
        run = await client.get(created.ref)
        assert run.status is RunStatus.UNKNOWN
        assert run.native_status == MYSTERY
        assert status_of(emulator, dict(run.raw)) == MYSTERY
        emulator.faults = Faults(unknown_status=1.0)
        listed = [run async for run in client.list(target=emulator.default_target)]
        assert [run.status for run in listed] == [RunStatus.UNKNOWN]
        emulator.faults = None
        assert (await client.get(created.ref)).status is RunStatus.PENDING


async def test_missing_optional_fields_never_break_a_read(provider: str) -> None:
    async with emulated_client(provider) as (client, emulator):
        created = await client.create(emulator.default_target, inputs={"prompt": "x"})
        emulator.advance(10)
        whole = await client.get(created.ref)
        emulator.faults = Faults(missing_fields=1.0)
        run = await client.get(created.ref)
        assert (run.ref, run.status, run.native_status) == (
            whole.ref,
            whole.status,
            whole.native_status,
        )
        assert run.created_at == whole.created_at
        assert not run.raw.keys() & emulator.optional_fields
        listed = [run async for run in client.list(target=emulator.default_target)]
        assert [run.ref for run in listed] == [created.ref]
        assert emulator.fault_counts["missing_fields"] == 2
