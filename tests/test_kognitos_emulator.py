"""Fidelity of the Kognitos emulator to the provider facts, over raw HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest

from runbridge import RunStatus
from runbridge.emulation import iso
from runbridge_kognitos import KognitosEmulator

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


@attrs.frozen
class Api:
    """Raw access to a served emulator: ``await api("GET", "/runs")`` gives (status, body)."""

    session: aiohttp.ClientSession
    base: str
    key: str

    async def __call__(
        self, method: str, path: str, *, key: str | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = {"x-api-key": self.key if key is None else key}
        async with self.session.request(
            method, self.base + path, headers=headers, **kwargs
        ) as resp:
            return resp.status, await resp.json(content_type=None)


@pytest.fixture
def emulator() -> KognitosEmulator:
    return KognitosEmulator()


@pytest.fixture
async def api(emulator: KognitosEmulator) -> AsyncIterator[Api]:
    async with emulator.serve() as base, aiohttp.ClientSession() as session:
        assert base.endswith("/v2")
        yield Api(session, base, emulator.token)


@pytest.fixture
def ids(emulator: KognitosEmulator) -> dict[str, str]:
    agent_id, process_id = emulator.default_target.split("/")
    return {"agent_id": agent_id, "process_id": process_id}


def body(ids: dict[str, str], **overrides: Any) -> dict[str, Any]:
    return {**ids, "name": "Process invoice 42", "stage": "Published", **overrides}


async def start(api: Api, ids: dict[str, str], **overrides: Any) -> dict[str, Any]:
    status, run = await api("POST", "/runs", json=body(ids, **overrides))
    assert status == 201, run
    return dict(run)


# -- auth, health, not found ---------------------------------------------------------------


async def test_health(api: Api) -> None:
    assert await api("GET", "/health") == (200, {"status": "OK"})


@pytest.mark.parametrize("key", ["", "wrong"])
@pytest.mark.parametrize("path", ["/health", "/runs/abc", "/runs?agent_id=a&process_id=p"])
async def test_every_route_needs_the_api_key(api: Api, key: str, path: str) -> None:
    status, payload = await api("GET", path, key=key)
    assert status == 401
    assert payload == {"status_code": 401, "message": "access not permitted", "details": None}


async def test_unknown_run_is_404_in_the_error_model(api: Api, emulator: KognitosEmulator) -> None:
    status, payload = await api("GET", f"/runs/{emulator.unknown_id()}")
    assert (status, payload) == (
        404,
        {"status_code": 404, "message": "Run not found", "details": None},
    )


async def test_injected_faults_use_the_error_model(api: Api, emulator: KognitosEmulator) -> None:
    emulator.inject(503)
    status, payload = await api("GET", "/health")
    assert status == 503
    assert payload == {"status_code": 503, "message": "injected fault", "details": None}


# -- POST /v2/runs -------------------------------------------------------------------------


async def test_create_answers_201_with_a_created_run(
    api: Api, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    run = await start(api, ids, inputs=[{"name": "order_id", "value": "x1"}])
    assert set(run) >= DOCUMENTED
    assert run["status"] == "Created"
    assert run["outputs"] is None and run["file_ids"] is None
    assert re.fullmatch(r"[0-9a-z]{25}", run["id"])
    assert NAIVE.fullmatch(run["created_at"])
    assert run["created_at"] == iso(emulator.now(), naive=True)
    assert run["inputs"] == [{"name": "order_id", "value": "x1"}]
    assert await api("GET", f"/runs/{run['id']}") == (200, run)


async def test_without_extensions_runs_have_only_documented_fields() -> None:
    emulator = KognitosEmulator(extensions=False)
    async with emulator.serve() as base, aiohttp.ClientSession() as session:
        api = Api(session, base, emulator.token)
        agent_id, process_id = emulator.default_target.split("/")
        run = await start(api, {"agent_id": agent_id, "process_id": process_id})
    assert set(run) == DOCUMENTED


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
    api: Api, ids: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    status, payload = await api("POST", "/runs", json=body(ids, **overrides))
    assert status == 400
    assert payload["status_code"] == 400 and payload["message"] == "Invalid input values"
    assert [d["field"] for d in payload["details"]] == [field]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
async def test_create_needs_a_json_object(api: Api, raw: bytes) -> None:
    status, payload = await api("POST", "/runs", data=raw)
    assert status == 400
    assert payload["details"][0]["field"] is None


async def test_create_lists_every_violation(api: Api) -> None:
    status, payload = await api("POST", "/runs", json={})
    assert status == 400
    fields = [d["field"] for d in payload["details"]]
    assert fields == ["agent_id", "process_id", "name", "stage"]


@pytest.mark.parametrize(
    ("which", "message"),
    [("agent", "Agent not found"), ("process", "Process not found"), ("stage", None)],
)
async def test_create_for_a_missing_agent_process_or_stage_is_404(
    api: Api, emulator: KognitosEmulator, which: str, message: str | None
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


# -- lifecycle -----------------------------------------------------------------------------


async def test_runs_advance_on_the_clock_with_outputs_only_on_success(
    api: Api, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    emulator.plan_next(queued=10, running=20, outputs={"the output": 42})
    run = await start(api, ids)
    seen = []
    for step in (0, 5, 10, 30):
        emulator.advance(step)
        _, now = await api("GET", f"/runs/{run['id']}")
        seen.append((now["status"], now["outputs"], now["finished_at"] is not None))
    assert seen == [
        ("Created", None, False),
        ("Pending", None, False),
        ("Running", None, False),
        ("Succeeded", [{"name": "the output", "value": 42}], True),
    ]


async def test_default_outputs_echo_the_inputs(
    api: Api, emulator: KognitosEmulator, ids: dict[str, str]
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
    api: Api, emulator: KognitosEmulator, ids: dict[str, str], plan: dict[str, Any], native: str
) -> None:
    emulator.plan_next(**plan)
    run = await start(api, ids)
    emulator.advance(100)
    _, done = await api("GET", f"/runs/{run['id']}")
    assert (done["status"], done["outputs"]) == (native, None)


async def test_force_pins_a_status(
    api: Api, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    run = await start(api, ids)
    emulator.force(run["id"], "Cancelled")
    emulator.advance(100)
    _, done = await api("GET", f"/runs/{run['id']}")
    assert done["status"] == "Cancelled"
    assert done["finished_at"] == run["created_at"]


# -- GET /v2/runs --------------------------------------------------------------------------


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
    api: Api, ids: dict[str, str], query: dict[str, str], field: str
) -> None:
    params = {**ids, **query} if "agent_id" not in query and "process_id" not in query else query
    status, payload = await api("GET", "/runs", params=params)
    assert status == 400
    assert payload["details"][0]["field"] == field


@pytest.mark.parametrize("which", ["agent_id", "process_id"])
async def test_list_of_a_missing_process_is_404(
    api: Api, emulator: KognitosEmulator, ids: dict[str, str], which: str
) -> None:
    status, payload = await api("GET", "/runs", params={**ids, which: emulator.unknown_id()})
    assert status == 404 and payload["status_code"] == 404


async def test_empty_list_still_has_a_null_token(api: Api, ids: dict[str, str]) -> None:
    assert await api("GET", "/runs", params=ids) == (
        200,
        {"items": [], "continuation_token": None},
    )


async def test_limit_defaults_to_10_newest_first(
    api: Api, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    created = [(await start(api, ids))["id"] for _ in range(11)]
    _, first = await api("GET", "/runs", params=ids)
    assert [r["id"] for r in first["items"]] == created[::-1][:10]
    _, last = await api(
        "GET", "/runs", params={**ids, "continuation_token": first["continuation_token"]}
    )
    assert [r["id"] for r in last["items"]] == [created[0]]
    assert last["continuation_token"] is None


async def test_exactly_full_last_page_ends_with_null(api: Api, ids: dict[str, str]) -> None:
    for _ in range(4):
        await start(api, ids)
    _, first = await api("GET", "/runs", params={**ids, "limit": "2"})
    _, second = await api(
        "GET",
        "/runs",
        params={**ids, "limit": "2", "continuation_token": first["continuation_token"]},
    )
    assert len(second["items"]) == 2 and second["continuation_token"] is None


async def test_stage_filters_the_list(api: Api, ids: dict[str, str]) -> None:
    draft = await start(api, ids, stage="Draft")
    published = await start(api, ids)
    for stage, expected in (("Draft", [draft]), ("Published", [published])):
        _, page = await api("GET", "/runs", params={**ids, "stage": stage})
        assert [r["id"] for r in page["items"]] == [r["id"] for r in expected]
    _, both = await api("GET", "/runs", params=ids)
    assert len(both["items"]) == 2


async def test_tokens_are_opaque_reusable_and_bound_to_their_query(
    api: Api, emulator: KognitosEmulator, ids: dict[str, str]
) -> None:
    for _ in range(3):
        await start(api, ids)
    query = {**ids, "limit": "1", "stage": "Published"}
    _, first = await api("GET", "/runs", params=query)
    token = first["continuation_token"]
    assert isinstance(token, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", token)
    again = [await api("GET", "/runs", params={**query, "continuation_token": token}) for _ in "ab"]
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
    api: Api, emulator: KognitosEmulator, ids: dict[str, str]
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
