"""Fidelity of the Kognitos emulator to the provider facts, over raw HTTP.

By default the emulator serves the documented shape only; tests that need one of
its undocumented extras turn it on by name.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from runbridge import RunStatus
from runbridge.emulation import MASK, iso
from runbridge.testing import RawClient, raw_client
from runbridge_kognitos.emulator import KognitosEmulator

NAIVE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?")
DOCUMENTED = {
    "id",
    "agent_id",
    "process_id",
    "name",
    "created_at",
    "stage",
    "status",
    "file_ids",
    "outputs",
}


@pytest.fixture
def provider() -> str:
    return "kognitos"


@pytest.fixture
async def api_with_extras() -> AsyncIterator[tuple[RawClient, KognitosEmulator]]:
    emulator = KognitosEmulator(extras={"inputs", "timings"})
    async with raw_client(emulator) as api:
        yield api, emulator


@pytest.fixture
def ids(emulator: KognitosEmulator) -> dict[str, str]:
    agent_id, process_id = emulator.default_target.split("/")
    return {"agent_id": agent_id, "process_id": process_id}


def body(ids: dict[str, str], **overrides: Any) -> dict[str, Any]:
    return {**ids, "name": "Process invoice 42", "stage": "Published", **overrides}


async def start(api: RawClient, ids: dict[str, str], **overrides: Any) -> dict[str, Any]:
    status, run = await api("POST", "/runs", json=body(ids, **overrides))
    assert status == 201, run
    return dict(run)


# -- auth, health, not found ---------------------------------------------------------------


async def test_the_api_is_served_under_v2(api: RawClient) -> None:
    assert api.base_url.endswith("/v2")


@pytest.mark.parametrize("key", [None, "", "wrong"])
async def test_health_is_public(api: RawClient, key: str | None) -> None:
    headers = {} if key is None else {"x-api-key": key}
    answer = await api("GET", "/health", headers=headers, auth=key is None)
    assert tuple(answer) == (200, {"status": "OK"})


@pytest.mark.parametrize("key", ["", "wrong"])
@pytest.mark.parametrize("path", ["/runs/abc", "/runs?agent_id=a&process_id=p"])
async def test_every_runs_route_needs_the_api_key(api: RawClient, key: str, path: str) -> None:
    status, payload = await api("GET", path, headers={"x-api-key": key}, auth=False)
    assert status == 401
    assert payload == {"status_code": 401, "message": "access not permitted", "details": None}


async def test_a_bad_key_on_a_create_changes_nothing(
    api: RawClient, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    status, _ = await api("POST", "/runs", json=body(ids), token="wrong")
    assert status == 401
    assert not emulator.runs


async def test_unknown_run_is_404_in_the_error_model(
    api: RawClient, emulator: KognitosEmulator
) -> None:
    status, payload = await api("GET", f"/runs/{emulator.unknown_id()}")
    assert (status, payload) == (
        404,
        {"status_code": 404, "message": "Run not found", "details": None},
    )


async def test_injected_faults_use_the_error_model(
    api: RawClient, emulator: KognitosEmulator
) -> None:
    emulator.inject(503)
    status, payload = await api("GET", f"/runs/{emulator.unknown_id()}")
    assert status == 503
    assert payload == {"status_code": 503, "message": "injected fault", "details": None}


async def test_the_log_records_requests_with_the_key_masked(
    api: RawClient, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    await start(api, ids, inputs=[{"name": "order_id", "value": "x1"}])
    await api("GET", "/runs", params={**ids, "limit": "5"})
    create, listing = emulator.log
    assert (create.method, create.path) == ("POST", "/v2/runs")
    assert create.header("X-Api-Key") == MASK
    assert emulator.token not in str(create.headers)
    assert create.body == body(ids, inputs=[{"name": "order_id", "value": "x1"}])
    assert (listing.method, listing.path) == ("GET", "/v2/runs")
    assert listing.param("limit") == "5" and listing.param("agent_id") == ids["agent_id"]
    assert emulator.requests == [("POST", "/v2/runs"), ("GET", "/v2/runs")]


def test_extras_are_declared_by_name_and_off_by_default() -> None:
    assert set(KognitosEmulator.extras) == {"inputs", "timings"}
    assert KognitosEmulator().enabled_extras == frozenset()
    with pytest.raises(ValueError, match="no extra 'owner'"):
        KognitosEmulator(extras={"owner"})


# -- POST /v2/runs -------------------------------------------------------------------------


async def test_create_answers_201_with_a_created_run(
    api: RawClient, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    run = await start(api, ids, inputs=[{"name": "order_id", "value": "x1"}])
    assert set(run) == DOCUMENTED
    assert run["status"] == "Created"
    assert run["outputs"] is None and run["file_ids"] is None
    assert re.fullmatch(r"[0-9a-z]{25}", run["id"])
    assert NAIVE.fullmatch(run["created_at"])
    assert run["created_at"] == iso(emulator.now(), naive=True)
    assert run["name"] == "Process invoice 42"
    assert emulator.runs[run["id"]].inputs == [{"name": "order_id", "value": "x1"}]
    assert tuple(await api("GET", f"/runs/{run['id']}")) == (200, run)
    _, page = await api("GET", "/runs", params=ids)
    assert page["items"] == [run]


async def test_extras_add_inputs_and_timings(
    api_with_extras: tuple[RawClient, KognitosEmulator],
) -> None:
    api, emulator = api_with_extras
    agent_id, process_id = emulator.default_target.split("/")
    ids = {"agent_id": agent_id, "process_id": process_id}
    emulator.plan_next(queued=1, running=2)
    run = await start(api, ids, inputs=[{"name": "order_id", "value": "x1"}])
    assert set(run) == DOCUMENTED | {"inputs", "started_at", "finished_at"}
    assert run["inputs"] == [{"name": "order_id", "value": "x1"}]
    assert run["started_at"] is None and run["finished_at"] is None
    emulator.advance(10)
    _, done = await api("GET", f"/runs/{run['id']}")
    assert NAIVE.fullmatch(done["started_at"]) and NAIVE.fullmatch(done["finished_at"])
    assert done["started_at"] < done["finished_at"]


async def test_only_one_extra_adds_only_its_fields() -> None:
    emulator = KognitosEmulator(extras={"timings"})
    async with raw_client(emulator) as api:
        agent_id, process_id = emulator.default_target.split("/")
        run = await start(api, {"agent_id": agent_id, "process_id": process_id})
    assert set(run) == DOCUMENTED | {"started_at", "finished_at"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"stage": "Production"}, "stage"),
        ({"stage": None}, "stage"),
        ({"agent_id": "not valid!"}, "agent_id"),
        ({"process_id": "x" * 27}, "process_id"),
        ({"inputs": {"order_id": "x1"}}, "inputs"),
        ({"inputs": [{"value": 1}]}, "inputs"),
        ({"inputs": [{"name": "a"}]}, "inputs"),
        ({"file_ids": "s3://b/f"}, "file_ids"),
        ({"file_ids": [1]}, "file_ids"),
    ],
)
async def test_create_validates_the_body(
    api: RawClient, ids: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    status, payload = await api("POST", "/runs", json=body(ids, **overrides))
    assert status == 400
    assert payload["status_code"] == 400 and payload["message"] == "Invalid input values"
    assert [d["field"] for d in payload["details"]] == [field]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
async def test_create_needs_a_json_object(api: RawClient, raw: bytes) -> None:
    status, payload = await api("POST", "/runs", data=raw)
    assert status == 400
    assert payload["details"][0]["field"] is None


async def test_create_lists_every_violation(api: RawClient) -> None:
    status, payload = await api("POST", "/runs", json={})
    assert status == 400
    fields = [d["field"] for d in payload["details"]]
    assert fields == ["agent_id", "process_id", "name", "stage"]


@pytest.mark.parametrize(
    ("which", "message"),
    [("agent", "Agent not found"), ("process", "Process not found"), ("stage", None)],
)
async def test_create_for_a_missing_agent_process_or_stage_is_404(
    api: RawClient, emulator: KognitosEmulator, which: str, message: str | None
) -> None:
    agent_id, process_id = emulator.add_process(stages=("Published",))
    request = {
        "agent": body({"agent_id": emulator.unknown_id(), "process_id": process_id}),
        "process": body({"agent_id": agent_id, "process_id": emulator.unknown_id()}),
        "stage": body({"agent_id": agent_id, "process_id": process_id}, stage="Draft"),
    }[which]
    status, payload = await api("POST", "/runs", json=request)
    assert status == 404 and payload["status_code"] == 404
    assert message is None or payload["message"] == message
    assert not emulator.runs


# -- GET /v2/runs --------------------------------------------------------------------------
# One process of one agent, newest first; continuation tokens, ``null`` on the last page.


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"process_id": "p"}, "agent_id"),
        ({"agent_id": "a"}, "process_id"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"stage": "Live"}, "stage"),
        ({"continuation_token": "garbage"}, "continuation_token"),
    ],
)
async def test_list_rejects_bad_queries(
    api: RawClient, ids: dict[str, str], query: dict[str, str], field: str
) -> None:
    params = {**ids, **query} if "agent_id" not in query and "process_id" not in query else query
    status, payload = await api("GET", "/runs", params=params)
    assert status == 400
    assert payload["details"][0]["field"] == field


@pytest.mark.parametrize("which", ["agent_id", "process_id"])
async def test_list_of_a_missing_process_is_404(
    api: RawClient, emulator: KognitosEmulator, ids: dict[str, str], which: str
) -> None:
    status, payload = await api("GET", "/runs", params={**ids, which: emulator.unknown_id()})
    assert status == 404 and payload["status_code"] == 404


async def test_empty_list_still_has_a_null_token(api: RawClient, ids: dict[str, str]) -> None:
    assert tuple(await api("GET", "/runs", params=ids)) == (
        200,
        {"items": [], "continuation_token": None},
    )


async def test_limit_defaults_to_10_newest_first(
    api: RawClient, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    created = [(await start(api, ids))["id"] for _ in range(11)]
    _, first = await api("GET", "/runs", params=ids)
    assert [r["id"] for r in first["items"]] == created[::-1][:10]
    _, last = await api(
        "GET", "/runs", params={**ids, "continuation_token": first["continuation_token"]}
    )
    assert [r["id"] for r in last["items"]] == [created[0]]
    assert last["continuation_token"] is None


async def test_exactly_full_last_page_ends_with_null(api: RawClient, ids: dict[str, str]) -> None:
    for _ in range(4):
        await start(api, ids)
    _, first = await api("GET", "/runs", params={**ids, "limit": "2"})
    _, second = await api(
        "GET",
        "/runs",
        params={**ids, "limit": "2", "continuation_token": first["continuation_token"]},
    )
    assert len(second["items"]) == 2 and second["continuation_token"] is None


async def test_stage_filters_the_list(api: RawClient, ids: dict[str, str]) -> None:
    draft = await start(api, ids, stage="Draft")
    published = await start(api, ids)
    for stage, expected in (("Draft", [draft]), ("Published", [published])):
        _, page = await api("GET", "/runs", params={**ids, "stage": stage})
        assert [r["id"] for r in page["items"]] == [r["id"] for r in expected]
    _, both = await api("GET", "/runs", params=ids)
    assert len(both["items"]) == 2


async def test_tokens_are_opaque_reusable_and_bound_to_their_query(
    api: RawClient, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    for _ in range(3):
        await start(api, ids)
    query = {**ids, "limit": "1", "stage": "Published"}
    _, first = await api("GET", "/runs", params=query)
    token = first["continuation_token"]
    assert isinstance(token, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", token)
    again = [
        tuple(await api("GET", "/runs", params={**query, "continuation_token": token}))
        for _ in "ab"
    ]
    assert again[0] == again[1] and again[0][0] == 200
    other_agent, other_process = emulator.add_process()
    for changed in (
        {"limit": "2"},
        {"stage": "Draft"},
        {"stage": ""},
        {"agent_id": other_agent, "process_id": other_process},
    ):
        status, payload = await api(
            "GET", "/runs", params={**query, **changed, "continuation_token": token}
        )
        assert status == 400, changed
        assert payload["details"][0]["field"] == "continuation_token"
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    status, _ = await api("GET", "/runs", params={**query, "continuation_token": forged})
    assert status == 400


async def test_pages_do_not_shift_when_runs_are_created_meanwhile(
    api: RawClient, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    older = [(await start(api, ids))["id"] for _ in range(4)]
    _, first = await api("GET", "/runs", params={**ids, "limit": "2"})
    emulator.advance(1)
    await start(api, ids)
    _, second = await api(
        "GET",
        "/runs",
        params={**ids, "limit": "2", "continuation_token": first["continuation_token"]},
    )
    listed = [r["id"] for r in first["items"] + second["items"]]
    assert listed == older[::-1]


# -- lifecycle -----------------------------------------------------------------------------


async def test_runs_advance_on_the_clock_with_outputs_only_on_success(
    api: RawClient, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    emulator.plan_next(queued=10, running=20, outputs={"the output": 42})
    run = await start(api, ids)
    seen = []
    for step in (0, 5, 10, 30):
        emulator.advance(step)
        _, now = await api("GET", f"/runs/{run['id']}")
        seen.append((now["status"], now["outputs"]))
    assert seen == [
        ("Created", None),
        ("Pending", None),
        ("Running", None),
        ("Succeeded", [{"name": "the output", "value": 42}]),
    ]


async def test_default_outputs_echo_the_inputs(
    api: RawClient, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    run = await start(api, ids, inputs=[{"name": "a", "value": 1}])
    emulator.advance(100)
    _, done = await api("GET", f"/runs/{run['id']}")
    assert done["outputs"] == [{"name": "the output", "value": {"a": 1}}]


@pytest.mark.parametrize(
    ("plan", "native"),
    [
        ({"outcome": RunStatus.FAILED}, "Failed"),
        ({"outcome": RunStatus.FAILED, "failure": "timeout"}, "TimedOut"),
        ({"outcome": RunStatus.CANCELLED}, "Cancelled"),
        ({"native": "Exploded"}, "Exploded"),
    ],
)
async def test_other_outcomes_have_no_outputs(
    api: RawClient,
    emulator: KognitosEmulator,
    ids: dict[str, str],
    plan: dict[str, Any],
    native: str,
) -> None:
    emulator.plan_next(**plan)
    run = await start(api, ids)
    emulator.advance(100)
    _, done = await api("GET", f"/runs/{run['id']}")
    assert (done["status"], done["outputs"]) == (native, None)


@pytest.mark.parametrize(
    "native", ["Created", "Pending", "Running", "Succeeded", "Failed", "TimedOut", "Cancelled"]
)
async def test_force_status_gives_any_documented_status(
    api: RawClient, emulator: KognitosEmulator, ids: dict[str, str], native: str
) -> None:
    assert native in emulator.statuses.documented
    emulator.plan_next(queued=10, running=10)
    run = await start(api, ids)
    emulator.force_status(run["id"], native)
    emulator.advance(100)  # the clock no longer moves a forced run
    _, got = await api("GET", f"/runs/{run['id']}")
    _, page = await api("GET", "/runs", params=ids)
    assert got["status"] == page["items"][0]["status"] == native
    assert (got["outputs"] is not None) is (native == "Succeeded")


def test_force_status_refuses_undocumented_values_unless_asked() -> None:
    emulator = KognitosEmulator()
    with pytest.raises(ValueError, match="not a documented kognitos status"):
        emulator.force_status(emulator.unknown_id(), "Paused")
    with pytest.raises(KeyError):
        emulator.force_status(emulator.unknown_id(), "Paused", undocumented=True)


async def test_a_forced_terminal_status_finishes_the_run_now(
    api_with_extras: tuple[RawClient, KognitosEmulator],
) -> None:
    api, emulator = api_with_extras
    agent_id, process_id = emulator.default_target.split("/")
    run = await start(api, {"agent_id": agent_id, "process_id": process_id})
    emulator.force_status(run["id"], "Cancelled")
    emulator.advance(100)
    _, done = await api("GET", f"/runs/{run['id']}")
    assert done["status"] == "Cancelled"
    assert done["finished_at"] == run["created_at"]


# -- seeding -------------------------------------------------------------------------------


def test_add_process_mints_ids_and_checks_given_ones() -> None:
    emulator = KognitosEmulator()
    agent_id, process_id = emulator.add_process()
    assert re.fullmatch(r"[0-9a-z]{25}", agent_id) and re.fullmatch(r"[0-9a-z]{25}", process_id)
    assert emulator.add_process("my-agent", "invoices_2") == ("my-agent", "invoices_2")
    assert emulator.processes["my-agent", "invoices_2"] == {"Draft", "Published"}
    with pytest.raises(ValueError, match="not a Kognitos id"):
        emulator.add_process("a/b", "c")
    with pytest.raises(ValueError, match="unknown stages"):
        emulator.add_process(stages=("Live",))
