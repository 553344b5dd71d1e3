"""Fidelity of the Kognitos API 1.0 emulator to the spec, over raw HTTP on loopback.

No adapter here: requests are sent as any HTTP client would, and answers are checked
against the documented schemas (``v1Run``, ``v1RunState``, ``commonV1Value``,
``v1ListRunsResponse``, ``rpcStatus``). Time moves only when a test advances it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbridge.emulation import MASK, ManualClock
from runbridge.testing import RawClient, raw_client
from runbridge_kognitos_api.emulator import KognitosApiEmulator
from runbridge_kognitos_api.emulator._filter import HIGHEST, LOWEST, parse_filter
from runbridge_kognitos_api.emulator._plain import (
    from_plain,
    number_of,
    number_to_python,
    to_plain,
)
from runbridge_kognitos_api.emulator._values import BadValue, check_value

START = 1_700_000_000.0
"""2023-11-14T22:13:20Z: the emulator clock's start in every test."""
DRAFT, PUBLISHED = "AUTOMATION_STAGE_DRAFT", "AUTOMATION_STAGE_PUBLISHED"
RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z")
RUN_FIELDS = {
    "name",
    "create_time",
    "state",
    "update_time",
    "stage",
    "stage_version",
    "invocation_details",
    "user_inputs",
}
"""The ``v1Run`` fields the emulator fills (``previous_run`` and ``executable_steps``
are never populated, so never sent)."""
SIGN = 0x80000000


@pytest.fixture
def emulator() -> KognitosApiEmulator:
    return KognitosApiEmulator(clock=ManualClock(START))


@pytest.fixture
async def api(emulator: KognitosApiEmulator) -> AsyncIterator[RawClient]:
    async with raw_client(emulator) as api:
        yield api


def at(seconds: float) -> str:
    """``START + seconds`` as the API writes timestamps."""
    stamp = datetime.fromtimestamp(START + seconds, UTC).isoformat()
    return stamp.replace("+00:00", "Z")


def url(name: str, suffix: str = "") -> str:
    """The path of a resource name (a target or a run name)."""
    return f"/api/v1/{name}{suffix}"


async def invoke(
    api: RawClient, target: str | None = None, *, stage: str = PUBLISHED, **body: Any
) -> str:
    """Invoke ``target`` (the default automation) and return the run's name."""
    automation = target or api.emulator.default_target
    status, answer = await api("POST", url(automation, ":invoke"), json={"stage": stage, **body})
    assert status == 200, answer
    assert set(answer) == {"run_id"}
    return f"{automation}/runs/{answer['run_id']}"


async def read(api: RawClient, name: str) -> dict[str, Any]:
    status, run = await api("GET", url(name))
    assert status == 200, run
    return dict(run)


async def state(api: RawClient, name: str) -> dict[str, Any]:
    return dict((await read(api, name))["state"])


def key(state: dict[str, Any]) -> str:
    """The one key naming a state (``update_time`` sits beside it)."""
    [name] = set(state) - {"update_time"}
    return name


async def refused(
    api: RawClient, method: str, path: str, code: int, **kwargs: Any
) -> dict[str, Any]:
    """Send a request that must fail with ``rpcStatus`` ``code``; the body."""
    answer = await api(method, path, **kwargs)
    statuses = {3: 400, 5: 404, 9: 400, 16: 401}
    assert answer.status == statuses[code], answer.body
    body = answer.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code and body["details"] == []
    assert isinstance(body["message"], str) and body["message"]
    return dict(body)


# -- serving, auth, routes, errors -------------------------------------------------------


async def test_the_api_is_served_at_the_root(api: RawClient) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", api.base_url)


def test_the_declarations_follow_the_spec() -> None:
    emulator = KognitosApiEmulator()
    assert emulator.provider == "kognitos-api"
    assert emulator.token.startswith("kgn_pat_")
    statuses = emulator.statuses
    assert statuses.documented == (
        "pending",
        "executing",
        "completed",
        "failed",
        "archived",
        "stopping",
        "stopped",
        "awaiting_guidance",
    )
    assert statuses.holds == {"stopped": "paused", "awaiting_guidance": "person"}
    assert statuses.terminal == {"completed", "failed", "archived"}
    assert re.fullmatch(
        r"organizations/[\w-]{16}/workspaces/[\w-]{16}/automations/[\w-]{21}",
        emulator.default_target,
    )
    with pytest.raises(ValueError, match="order"):
        KognitosApiEmulator(order="random")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}, {"Authorization": ""}],
)
async def test_every_route_needs_the_bearer_token(
    api: RawClient, emulator: KognitosApiEmulator, headers: dict[str, str]
) -> None:
    target = emulator.default_target
    for method, path, body in [
        ("POST", url(target, ":invoke"), {"stage": PUBLISHED}),
        ("GET", url(target, "/runs"), None),
        ("GET", url(emulator.unknown_id()), None),
        ("POST", url(emulator.unknown_id(), ":pause"), {"reason": "r"}),
        ("POST", url(emulator.unknown_id(), ":continue"), {}),
    ]:
        await refused(api, method, path, 16, json=body, headers=headers, auth=False)
    assert not emulator.runs and not emulator.created


async def test_the_log_masks_the_token(api: RawClient, emulator: KognitosApiEmulator) -> None:
    name = await invoke(api, inputs={"a": {"text": "x"}})
    [entry] = emulator.log
    assert entry.header("Authorization") == MASK
    assert emulator.token not in str(entry.headers)
    assert entry.body == {"stage": PUBLISHED, "inputs": {"a": {"text": "x"}}}
    assert entry.path == url(emulator.default_target, ":invoke")
    await read(api, name)
    assert emulator.calls == {"create": 1, "get": 1}


@pytest.mark.parametrize(
    "suffix",
    [
        "",
        ":invokes",
        ":invoke/",
        ":invoke:invoke",
        "/runs/",
        "/runs:invoke",
        "/invoke",
        ":run",
    ],
)
async def test_only_documented_paths_route(
    api: RawClient, emulator: KognitosApiEmulator, suffix: str
) -> None:
    await refused(api, "POST", url(emulator.default_target, suffix), 5, json={"stage": PUBLISHED})
    assert not emulator.runs


async def test_the_invoke_suffix_routes_to_invoke_only(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    name = await invoke(api)
    assert emulator.calls == {"create": 1}
    await refused(api, "GET", url(emulator.default_target, ":invoke"), 5)
    await refused(api, "GET", url(name, ":pause"), 5)
    await refused(api, "POST", url(name), 5, json={})
    await refused(api, "DELETE", url(name), 5)
    await refused(api, "PATCH", url(emulator.default_target, "/runs"), 5)
    await refused(api, "GET", "/api/v1/health", 5)
    await refused(api, "GET", "/v2/runs", 5)
    assert len(emulator.runs) == 1


async def test_operations_name_every_documented_route(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(queued=0, running=100)
    name = await invoke(api)
    await api("GET", url(emulator.default_target, "/runs"))
    await api("GET", url(name))
    await api("POST", url(name, ":pause"), json={"reason": "check"})
    emulator.advance(5)
    await api("POST", url(name, ":continue"), json={})
    assert emulator.calls == {"create": 1, "list": 1, "get": 1, "pause": 1, "resume": 1}


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 3), (401, 16), (403, 7), (404, 5), (409, 10), (429, 8), (500, 13), (503, 14)],
)
async def test_injected_answers_are_rpc_statuses(
    api: RawClient, emulator: KognitosApiEmulator, status: int, code: int
) -> None:
    emulator.inject(status)
    answer = await api("GET", url(emulator.unknown_id()))
    assert answer.status == status
    assert answer.json() == {"code": code, "message": "injected fault", "details": []}


async def test_fault_answers_are_rpc_statuses(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    emulator.inject_fault("rate_limited")
    answer = await api("GET", url(emulator.unknown_id()))
    assert (answer.status, answer.json()["code"]) == (429, 8)
    assert answer.headers["Retry-After"] == "0"
    emulator.inject_fault("server_error")
    answer = await api("GET", url(emulator.unknown_id()))
    assert answer.status in (500, 502, 503)
    assert answer.json()["code"] in (13, 14)
    assert answer.json()["message"] == "injected fault: server_error"


async def test_the_rate_limit_answers_resource_exhausted() -> None:
    emulator = KognitosApiEmulator(clock=ManualClock(START), rate_limit="1/s")
    async with raw_client(emulator) as api:
        await api("GET", url(emulator.default_target, "/runs"))
        answer = await api("GET", url(emulator.default_target, "/runs"))
    assert answer.status == 429
    assert answer.json()["code"] == 8


def test_error_bodies_carry_codes_by_name() -> None:
    emulator = KognitosApiEmulator()
    assert emulator.error_body(400, "m", code="FAILED_PRECONDITION") == {
        "code": 9,
        "message": "m",
        "details": [],
    }
    assert emulator.error_body(409, "m", code="ALREADY_EXISTS")["code"] == 6
    assert emulator.error_body(400, "m", code="11")["code"] == 11
    assert emulator.error_body(418, "m")["code"] == 3
    assert emulator.error_body(502, "m")["code"] == 14


# -- invoke and get ----------------------------------------------------------------------


async def test_invoke_then_get_has_the_documented_shape(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    inputs = {
        "name": {"text": "Ada"},
        "amount": {"number": {"lo": 12345, "mid": 0, "hi": 0, "flags": 131072}},
        "big": {"number": {"lo": "4294967295", "hi": "7", "flags": str(SIGN | 5 << 16)}},
    }
    name = await invoke(api, inputs=inputs)
    organization, workspace, automation = emulator.default_target.split("/")[1::2]
    match = re.fullmatch(
        rf"organizations/{organization}/workspaces/{workspace}/automations/{automation}"
        r"/runs/([A-Za-z0-9_-]{1,64})",
        name,
    )
    assert match is not None
    run = await read(api, name)
    assert set(run) == RUN_FIELDS
    assert run["name"] == name
    assert run["create_time"] == run["update_time"] == at(0)
    assert run["state"] == {"pending": {}, "update_time": at(0)}
    assert run["stage"] == PUBLISHED and run["stage_version"] == "1.0"
    assert run["invocation_details"] == {
        "user_id": emulator.user_id,
        "invocation_source": "INVOCATION_SOURCE_MANUAL",
    }
    assert run["user_inputs"] == inputs  # echoed verbatim, numeric strings too
    assert "id" not in run and "status" not in run


async def test_a_run_without_inputs_omits_them(api: RawClient) -> None:
    run = await read(api, await invoke(api, stage=DRAFT))
    assert set(run) == RUN_FIELDS - {"user_inputs"}
    assert (run["stage"], run["stage_version"]) == (DRAFT, "1.1")
    assert RFC3339_Z.fullmatch(run["create_time"])


async def test_timestamps_print_as_protojson_does(emulator: KognitosApiEmulator) -> None:
    emulator.advance(0.25)
    async with raw_client(emulator) as api:
        first = await read(api, await invoke(api))
        emulator.advance(0.000123)
        second = await read(api, await invoke(api))
    assert first["create_time"] == "2023-11-14T22:13:20.250Z"
    assert second["create_time"] == "2023-11-14T22:13:20.250123Z"


async def test_invoke_records_what_the_application_asked(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    name = await invoke(
        api,
        inputs={
            "n": {"number": {"lo": 42}},
            "price": {"number": {"lo": 1999, "flags": 2 << 16}},
            "tags": {"list": {"items": [{"text": "a"}, {"bool_value": True}]}},
            "map": {
                "dictionary": {"entries": [{"key": {"text": "k"}, "value": {"null_value": None}}]}
            },
            "when": {"date": {"year": 2024, "month": 1, "day": 2}},
        },
    )
    [created] = emulator.created
    assert created.id == name and created.target == emulator.default_target
    assert created.name is None and created.options == {"stage": PUBLISHED}
    assert created.inputs == {
        "n": 42,
        "price": Decimal("19.99"),
        "tags": ["a", True],
        "map": {"k": None},
        "when": {"date": {"year": 2024, "month": 1, "day": 2}},
    }


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "stage"),
        ({"stage": None}, "stage"),
        ({"stage": "AUTOMATION_STAGE_UNSPECIFIED"}, "stage"),
        ({"stage": "PUBLISHED"}, "stage"),
        ({"stage": 2}, "stage"),
        ({"stage": PUBLISHED, "input": {}}, "input"),
        ({"stage": PUBLISHED, "idempotency_key": "k"}, "idempotency_key"),
        ({"stage": PUBLISHED, "inputs": []}, "inputs"),
        ({"stage": PUBLISHED, "inputs": {"a": "plain"}}, '"a"'),
        ({"stage": PUBLISHED, "inputs": {"a": {}}}, '"a"'),
        ({"stage": PUBLISHED, "inputs": {"a": {"text": "x", "bool_value": True}}}, '"a"'),
        ({"stage": PUBLISHED, "inputs": {"a": {"boolValue": True}}}, "boolValue"),
        ({"stage": PUBLISHED, "inputs": {"a": {"time": {}}}}, "time"),
        ({"stage": PUBLISHED, "inputs": {"a": {"text": 3}}}, '"a"'),
        ({"stage": PUBLISHED, "inputs": {"a": {"bool_value": "true"}}}, '"a"'),
        ({"stage": PUBLISHED, "inputs": {"a": {"null_value": "NULL"}}}, '"a"'),
        ({"stage": PUBLISHED, "inputs": {"a": {"list": {"items": [1]}}}}, "items[0]"),
        ({"stage": PUBLISHED, "inputs": {"a": {"list": [{"text": "x"}]}}}, '"a"'),
        (
            {
                "stage": PUBLISHED,
                "inputs": {"a": {"dictionary": {"entries": [{"key": {"text": "k"}}]}}},
            },
            "entries[0]",
        ),
        (
            {
                "stage": PUBLISHED,
                "inputs": {
                    "a": {
                        "dictionary": {
                            "entries": [{"key": {"null_value": None}, "value": {"text": "v"}}]
                        }
                    }
                },
            },
            "key",
        ),
        (
            {
                "stage": PUBLISHED,
                "inputs": {"a": {"set": {"items": [{"time_zone": {"id": "UTC"}}]}}},
            },
            "items[0]",
        ),
        (
            {
                "stage": PUBLISHED,
                "inputs": {"a": {"set": {"items": [{"text": "x"}, {"text": "x"}]}}},
            },
            "once",
        ),
        ({"stage": PUBLISHED, "inputs": {"a": {"date": {"year": 2024, "month": 13}}}}, "month"),
        ({"stage": PUBLISHED, "inputs": {"a": {"timeofday": {"hours": "x"}}}}, "hours"),
        ({"stage": PUBLISHED, "inputs": {"a": {"duration": "3 seconds"}}}, "duration"),
        (
            {
                "stage": PUBLISHED,
                "inputs": {"a": {"datetime": {"utc_offset": "3600s", "time_zone": {"id": "UTC"}}}},
            },
            "not both",
        ),
        ({"stage": PUBLISHED, "inputs": {"a": {"file": {}}}}, "file"),
        ({"stage": PUBLISHED, "inputs": {"a": {"file": {"remote": "r", "inline": {}}}}}, "file"),
        (
            {"stage": PUBLISHED, "inputs": {"a": {"file": {"inline": {"content": "not base64!"}}}}},
            "base64",
        ),
        (
            {
                "stage": PUBLISHED,
                "inputs": {
                    "a": {
                        "table": {
                            "inline": {
                                "columns": [
                                    {"name": "x", "values": [{"text_value": "1"}]},
                                    {"name": "y", "values": []},
                                ]
                            }
                        }
                    }
                },
            },
            "equal lengths",
        ),
    ],
)
async def test_invoke_refuses_what_the_schema_forbids(
    api: RawClient, emulator: KognitosApiEmulator, body: dict[str, Any], words: str
) -> None:
    answer = await refused(api, "POST", url(emulator.default_target, ":invoke"), 3, json=body)
    assert words in answer["message"]
    assert not emulator.runs and not emulator.created


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1]", b'"stage"'])
async def test_invoke_needs_a_json_object(
    api: RawClient, emulator: KognitosApiEmulator, raw: bytes
) -> None:
    await refused(api, "POST", url(emulator.default_target, ":invoke"), 3, data=raw)


@pytest.mark.parametrize(
    "value",
    [
        {"null_value": None},
        {"null_value": "NULL_VALUE"},
        {"number": {}},
        {"number": {"lo": 0, "mid": 4294967295, "hi": "4294967295", "flags": 28 << 16 | SIGN}},
        {"date": {"year": 2024}},
        {"timeofday": {"hours": 23, "minutes": 59, "seconds": 59, "nanos": 999_999_999}},
        {"datetime": {"year": 2024, "month": 1, "day": 1, "utc_offset": "-14400s"}},
        {"datetime": {"year": 2024, "time_zone": {"id": "America/New_York", "version": "2019a"}}},
        {"time_zone": {"id": "Europe/Paris"}},
        {"duration": "-3.5s"},
        {"file": {"remote": "files/abc"}},
        {"file": {"inline": {"file_name": "a.txt", "content": "aGVsbG8="}}},
        {"table": {"remote": "https://example.com/t.feather"}},
        {"table": {"inline": {"columns": [{"name": "c", "values": [{"number_value": 1.5}]}]}}},
        {"set": {"items": [{"number": {"lo": 1}}, {"duration": "1s"}]}},
        {"list": {}},
        {"dictionary": {"entries": [{"key": {"number": {"lo": 1}}, "value": {"list": {}}}]}},
    ],
)
async def test_invoke_takes_every_documented_kind(
    api: RawClient, emulator: KognitosApiEmulator, value: dict[str, Any]
) -> None:
    name = await invoke(api, inputs={"v": value})
    assert (await read(api, name))["user_inputs"] == {"v": value}


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        ({"lo": 2**32}, "lo"),
        ({"mid": -1}, "mid"),
        ({"hi": "4294967296"}, "hi"),
        ({"lo": "-1"}, "lo"),
        ({"lo": 1.0}, "lo"),
        ({"lo": True}, "lo"),
        ({"lo": "0x10"}, "lo"),
        ({"flags": 1}, "flags"),
        ({"flags": 1 << 24}, "flags"),
        ({"flags": 29 << 16}, "scale"),
        ({"flags": 2**32}, "flags"),
        ({"scale": 2}, "scale"),
    ],
)
async def test_numbers_are_checked_against_v1number(
    api: RawClient, emulator: KognitosApiEmulator, parts: dict[str, Any], field: str
) -> None:
    body = {"stage": PUBLISHED, "inputs": {"amount": {"number": parts}}}
    answer = await refused(api, "POST", url(emulator.default_target, ":invoke"), 3, json=body)
    assert '"amount"' in answer["message"] and field in answer["message"]


async def test_a_stage_never_published_is_a_failed_precondition(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    draft_only = emulator.add_automation(stages=(DRAFT,))
    await refused(api, "POST", url(draft_only, ":invoke"), 9, json={"stage": PUBLISHED})
    run = await read(api, await invoke(api, draft_only, stage=DRAFT))
    assert run["stage_version"] == "1.1"
    versioned = emulator.add_automation(stages={PUBLISHED: "3.2"})
    assert (await read(api, await invoke(api, versioned)))["stage_version"] == "3.2"


async def test_unknown_resources_are_not_found(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    organization, workspace, automation = emulator.default_target.split("/")[1::2]
    other = "A" * 21
    for path in [
        f"/api/v1/organizations/nobody/workspaces/{workspace}/automations/{automation}",
        f"/api/v1/organizations/{organization}/workspaces/nowhere/automations/{automation}",
        f"/api/v1/organizations/{organization}/workspaces/{workspace}/automations/{other}",
    ]:
        await refused(api, "POST", path + ":invoke", 5, json={"stage": PUBLISHED})
        await refused(api, "GET", path + "/runs", 5)
        await refused(api, "GET", path + "/runs/r1", 5)
    await refused(api, "GET", url(emulator.unknown_id()), 5)
    await refused(api, "POST", url(emulator.unknown_id(), ":pause"), 5, json={"reason": "r"})
    await refused(api, "POST", url(emulator.unknown_id(), ":continue"), 5, json={})


async def test_a_run_is_found_only_under_its_own_automation(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    name = await invoke(api)
    other = emulator.add_target()
    await refused(api, "GET", url(other, "/runs/" + name.rsplit("/", 1)[1]), 5)


@pytest.mark.parametrize(
    "which",
    ["organization", "workspace", "automation-short", "automation-long", "automation-char", "run"],
)
async def test_malformed_ids_are_invalid_arguments(
    api: RawClient, emulator: KognitosApiEmulator, which: str
) -> None:
    organization, workspace, automation = emulator.default_target.split("/")[1::2]
    run = "r1"
    if which == "organization":
        organization = "x" * 65
    elif which == "workspace":
        workspace = "a.b"
    elif which == "automation-short":
        automation = automation[:20]
    elif which == "automation-long":
        automation += "x"
    elif which == "automation-char":
        automation = automation[:20] + "."
    else:
        run = "x" * 65
    base = f"/api/v1/organizations/{organization}/workspaces/{workspace}/automations/{automation}"
    await refused(api, "GET", f"{base}/runs/{run}", 3)
    if which != "run":
        await refused(api, "POST", f"{base}:invoke", 3, json={"stage": PUBLISHED})
        await refused(api, "GET", f"{base}/runs", 3)


# -- lifecycle ----------------------------------------------------------------------------


async def test_a_run_goes_pending_executing_completed(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(queued=1, running=2)
    name = await invoke(api, inputs={"who": {"text": "Ada"}})
    assert await state(api, name) == {"pending": {}, "update_time": at(0)}
    emulator.advance(1.5)
    assert await state(api, name) == {"executing": {}, "update_time": at(1)}
    emulator.advance(2)
    run = await read(api, name)
    assert run["state"] == {
        "completed": {
            "outputs": {
                "result": {
                    "dictionary": {"entries": [{"key": {"text": "who"}, "value": {"text": "Ada"}}]}
                }
            }
        },
        "update_time": at(3),
    }
    assert run["update_time"] == at(3) and run["create_time"] == at(0)


async def test_planned_outputs_become_values(api: RawClient, emulator: KognitosApiEmulator) -> None:
    emulator.plan_next(
        outputs={
            "total": Decimal("-12.50"),
            "count": 3,
            "zero": 0,
            "big": 2**70,
            "ratio": 0.25,
            "ok": True,
            "nothing": None,
            "items": [1, "a"],
            "map": {"k": "v"},
            "date": {"date": {"year": 2024, "month": 2, "day": 29}},
        },
        queued=0,
        running=1,
    )
    name = await invoke(api)
    emulator.advance(1)
    outputs = (await state(api, name))["completed"]["outputs"]
    assert outputs == {
        "total": {"number": {"lo": 1250, "flags": SIGN | 2 << 16}},
        "count": {"number": {"lo": 3}},
        "zero": {"number": {}},
        "big": {"number": {"hi": 64}},
        "ratio": {"number": {"lo": 25, "flags": 2 << 16}},
        "ok": {"bool_value": True},
        "nothing": {"null_value": None},
        "items": {"list": {"items": [{"number": {"lo": 1}}, {"text": "a"}]}},
        "map": {"dictionary": {"entries": [{"key": {"text": "k"}, "value": {"text": "v"}}]}},
        "date": {"date": {"year": 2024, "month": 2, "day": 29}},
    }


async def test_a_run_without_inputs_completes_with_a_text_result(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    name = await invoke(api)
    emulator.advance(10)
    assert (await state(api, name))["completed"] == {"outputs": {"result": {"text": "done"}}}


@pytest.mark.parametrize("failure", ["task", "system", "timeout"])
async def test_a_failed_run_carries_id_description_and_location(
    api: RawClient, emulator: KognitosApiEmulator, failure: str
) -> None:
    emulator.plan_next(outcome="failed", failure=failure, queued=0, running=1)
    emulator.plan_next(outcome="failed", message="the invoice had no total", queued=0, running=1)
    first, second = await invoke(api), await invoke(api)
    emulator.advance(1)
    failed = (await state(api, first))["failed"]
    assert set(failed) == {"id", "description", "location"}
    assert isinstance(failed["id"], str) and failed["id"]
    assert failed["location"] == {"start_byte": "12", "end_byte": "48"}  # int64 as strings
    assert (await state(api, second))["failed"]["description"] == "the invoice had no total"


async def test_a_cancelled_plan_ends_archived(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(outcome="cancelled", queued=0, running=1)
    name = await invoke(api)
    emulator.advance(1)
    assert await state(api, name) == {"archived": {}, "update_time": at(1)}


async def test_an_undocumented_planned_state_is_served_verbatim(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(native="quantum_entangled", queued=0, running=1)
    name = await invoke(api)
    emulator.advance(1)
    assert await state(api, name) == {"quantum_entangled": {}, "update_time": at(1)}


# -- pause and continue --------------------------------------------------------------------


async def test_pause_stops_and_continue_resumes_the_remaining_work(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(queued=0, running=10)
    name = await invoke(api)
    emulator.advance(4)
    assert key(await state(api, name)) == "executing"
    status, paused = await api("POST", url(name, ":pause"), json={"reason": "checking totals"})
    assert status == 200 and set(paused) == RUN_FIELDS - {"user_inputs"}
    assert paused["state"] == {"stopping": {"reason": "checking totals"}, "update_time": at(4)}
    emulator.advance(0.5)
    assert key(await state(api, name)) == "stopping"
    emulator.advance(0.5)
    stopped = {"stopped": {"reason": "checking totals"}, "update_time": at(5)}
    assert await state(api, name) == stopped
    emulator.advance(100)  # a stopped run stays stopped
    assert await state(api, name) == stopped
    status, resumed = await api("POST", url(name, ":continue"), json={})
    assert status == 200 and resumed["name"] == name
    assert resumed["state"] == {"executing": {}, "update_time": at(105)}
    assert resumed["update_time"] == at(105)
    emulator.advance(5.9)  # 6 of the 10 planned seconds were left
    assert key(await state(api, name)) == "executing"
    emulator.advance(0.1)
    assert key(await state(api, name)) == "completed"
    assert (await read(api, name))["update_time"] == at(111)


async def test_a_run_paused_in_the_queue_continues_executing(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(queued=50, running=3)
    name = await invoke(api)
    await api("POST", url(name, ":pause"), json={"reason": "hold"})
    emulator.advance(2)
    await api("POST", url(name, ":continue"), json={})
    assert await state(api, name) == {"executing": {}, "update_time": at(2)}
    emulator.advance(2.9)
    assert key(await state(api, name)) == "executing"
    emulator.advance(0.1)
    assert key(await state(api, name)) == "completed"


async def test_a_run_paused_twice_keeps_its_remaining_work(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(queued=0, running=10)
    name = await invoke(api)
    for _ in range(2):
        emulator.advance(3)
        await api("POST", url(name, ":pause"), json={"reason": "again"})
        emulator.advance(20)
        await api("POST", url(name, ":continue"), json={})
    emulator.advance(3.9)
    assert key(await state(api, name)) == "executing"
    emulator.advance(0.1)
    assert key(await state(api, name)) == "completed"


async def test_stopping_lasts_stop_seconds() -> None:
    emulator = KognitosApiEmulator(clock=ManualClock(START), stop_seconds=0)
    assert KognitosApiEmulator.stop_seconds == 1.0 and emulator.stop_seconds == 0
    async with raw_client(emulator) as api:
        name = await invoke(api)
        _, paused = await api("POST", url(name, ":pause"), json={"reason": "now"})
    assert key(paused["state"]) == "stopped"


@pytest.mark.parametrize(
    ("native", "operation"),
    [
        ("completed", "pause"),
        ("failed", "pause"),
        ("archived", "pause"),
        ("stopping", "pause"),
        ("stopped", "pause"),
        ("awaiting_guidance", "pause"),
        ("pending", "continue"),
        ("executing", "continue"),
        ("stopping", "continue"),
        ("awaiting_guidance", "continue"),
        ("completed", "continue"),
    ],
)
async def test_pause_and_continue_in_the_wrong_state_fail_preconditions(
    api: RawClient, emulator: KognitosApiEmulator, native: str, operation: str
) -> None:
    name = await invoke(api)
    emulator.force_status(name, native)
    body = {"reason": "r"} if operation == "pause" else {}
    answer = await refused(api, "POST", url(name, f":{operation}"), 9, json=body)
    assert native in answer["message"]
    assert key(await state(api, name)) == native


async def test_a_forced_stop_continues(api: RawClient, emulator: KognitosApiEmulator) -> None:
    emulator.plan_next(queued=10_000)
    name = await invoke(api)
    emulator.force_status(name, "stopped")
    emulator.advance(5)
    _, resumed = await api("POST", url(name, ":continue"), json={})
    assert resumed["state"] == {"executing": {}, "update_time": at(5)}


@pytest.mark.parametrize(
    ("body", "data"),
    [
        ({}, None),
        ({"reason": ""}, None),
        ({"reason": 3}, None),
        ({"reason": "r", "x": 1}, None),
        (None, b""),
        (None, b"nope"),
        (None, b'["reason"]'),
    ],
)
async def test_pause_needs_a_reason(
    api: RawClient, emulator: KognitosApiEmulator, body: Any, data: bytes | None
) -> None:
    name = await invoke(api)
    await refused(api, "POST", url(name, ":pause"), 3, json=body, data=data)
    assert key(await state(api, name)) == "pending"


@pytest.mark.parametrize(("body", "data"), [(None, b""), ({"reason": "r"}, None), ([], None)])
async def test_continue_takes_an_empty_object(
    api: RawClient, emulator: KognitosApiEmulator, body: Any, data: bytes | None
) -> None:
    name = await invoke(api)
    emulator.force_status(name, "stopped")
    await refused(api, "POST", url(name, ":continue"), 3, json=body, data=data)
    assert key(await state(api, name)) == "stopped"


# -- force_status and faults ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("native", "fields"),
    [
        ("pending", {}),
        ("executing", {}),
        ("stopping", {"reason": "Stopped by a user"}),
        ("stopped", {"reason": "Stopped by a user"}),
        ("archived", {}),
        ("completed", {"outputs": {"result": {"text": "done"}}}),
        ("runbridge-kit-undeclared-status", {}),
    ],
)
async def test_force_status_renders_each_state(
    api: RawClient, emulator: KognitosApiEmulator, native: str, fields: dict[str, Any]
) -> None:
    emulator.plan_next(queued=10_000)
    name = await invoke(api)
    emulator.advance(3)
    emulator.force_status(name, native, undocumented=native.startswith("runbridge"))
    assert await state(api, name) == {native: fields, "update_time": at(3)}
    emulator.advance(10**6)
    assert key(await state(api, name)) == native


async def test_forced_guidance_and_failure_carry_their_fields(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    name = await invoke(api)
    emulator.force_status(name, "awaiting_guidance")
    guidance = (await state(api, name))["awaiting_guidance"]
    assert set(guidance) == {"exception", "description", "location"}
    assert set(guidance["location"]) == {"start_byte", "end_byte"}
    emulator.force_status(name, "failed")
    assert set((await state(api, name))["failed"]) == {"id", "description", "location"}


async def test_a_forced_stop_keeps_the_pause_reason(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    emulator.plan_next(queued=0, running=100)
    name = await invoke(api)
    await api("POST", url(name, ":pause"), json={"reason": "month end"})
    emulator.force_status(name, "stopped")
    assert (await state(api, name))["stopped"] == {"reason": "month end"}


async def test_force_status_takes_a_name_or_a_bare_id(emulator: KognitosApiEmulator) -> None:
    run_id = emulator.seed(status="running")
    bare = run_id.rsplit("/", 1)[1]
    emulator.force_status(bare, "stopped")
    assert emulator.state_of(run_id) == "stopped"
    with pytest.raises(ValueError, match="pass undocumented=True"):
        emulator.force_status(run_id, "paused")
    with pytest.raises(KeyError):
        emulator.force_status(emulator.unknown_id(), "stopped")


async def test_unknown_status_garbles_the_state_key(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    name = await invoke(api)
    await invoke(api)
    emulator.inject_fault("unknown_status")
    garbled = await read(api, name)
    assert garbled["state"] == {"mystery_state": {}, "update_time": at(0)}
    assert "status" not in garbled and set(garbled) == RUN_FIELDS - {"user_inputs"}
    emulator.inject_fault("unknown_status")
    _, page = await api("GET", url(emulator.default_target, "/runs"))
    assert [key(run["state"]) for run in page["runs"]] == ["mystery_state"] * 2
    assert emulator.fault_counts["unknown_status"] == 2
    assert key(await state(api, name)) == "pending"


async def test_missing_fields_strips_the_optional_ones(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    name = await invoke(api, inputs={"a": {"text": "x"}})
    emulator.inject_fault("missing_fields")
    run = await read(api, name)
    assert set(run) == {"name", "create_time", "state", "stage", "stage_version"}


# -- listing -------------------------------------------------------------------------------


def seed_hours(
    emulator: KognitosApiEmulator, hours: list[int], target: str | None = None
) -> dict[int, str]:
    """Runs created ``h`` hours before now, by ``h``."""
    now = datetime.fromtimestamp(emulator.now(), UTC)
    return {h: emulator.seed(target, created_at=now - timedelta(hours=h)) for h in hours}


async def names(api: RawClient, target: str, **params: Any) -> tuple[list[str], str | None]:
    status, page = await api("GET", url(target, "/runs"), params=params)
    assert status == 200, page
    assert set(page) <= {"runs", "next_page_token"}
    assert "next_page_token" not in page or page["next_page_token"]
    return [run["name"] for run in page["runs"]], page.get("next_page_token")


async def test_an_empty_listing_has_no_token(api: RawClient, emulator: KognitosApiEmulator) -> None:
    status, page = await api("GET", url(emulator.default_target, "/runs"))
    assert (status, page) == (200, {"runs": []})


async def test_pages_hold_ten_by_default_and_the_last_has_no_token(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    seeded = seed_hours(emulator, list(range(1, 13)))
    target = emulator.default_target
    first, token = await names(api, target)
    assert first == [seeded[h] for h in range(1, 11)] and token
    rest, end = await names(api, target, page_token=token)
    assert rest == [seeded[11], seeded[12]] and end is None
    again, _ = await names(api, target, page_size="0")
    assert again == first


async def test_a_run_lists_as_it_reads(api: RawClient, emulator: KognitosApiEmulator) -> None:
    name = await invoke(api, inputs={"a": {"text": "x"}})
    _, page = await api("GET", url(emulator.default_target, "/runs"))
    assert page["runs"] == [await read(api, name)]


async def test_page_size_is_coerced_to_a_thousand(emulator: KognitosApiEmulator) -> None:
    now = datetime.fromtimestamp(emulator.now(), UTC)
    for n in range(1001):
        emulator.seed(created_at=now - timedelta(seconds=n))
    async with raw_client(emulator) as api:
        runs, token = await names(api, emulator.default_target, page_size="5000")
        assert len(runs) == 1000 and token
        rest, end = await names(api, emulator.default_target, page_size="5000", page_token=token)
    assert len(rest) == 1 and end is None


@pytest.mark.parametrize("size", ["-1", "ten", "1.5", str(2**31)])
async def test_a_bad_page_size_is_an_invalid_argument(
    api: RawClient, emulator: KognitosApiEmulator, size: str
) -> None:
    await refused(api, "GET", url(emulator.default_target, "/runs"), 3, params={"page_size": size})


async def test_the_token_is_bound_to_the_other_parameters(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    seed_hours(emulator, list(range(1, 6)))
    other = emulator.add_target()
    seed_hours(emulator, [1, 2, 3], other)
    target = emulator.default_target
    query = {"page_size": "2", "filter": 'create_time < "2100-01-01T00:00:00Z"'}
    _, token = await names(api, target, **query)
    assert token is not None
    runs_path = url(target, "/runs")
    for changed in [
        {**query, "page_size": "3"},
        {"page_size": "2"},
        {**query, "filter": 'create_time < "2100-01-01T00:00:01Z"'},
        {"filter": query["filter"]},
    ]:
        await refused(api, "GET", runs_path, 3, params={**changed, "page_token": token})
    await refused(api, "GET", url(other, "/runs"), 3, params={**query, "page_token": token})
    for forged in ["garbage", token[:-2], "x" + token, token.replace(".", "")]:
        await refused(api, "GET", runs_path, 3, params={**query, "page_token": forged})
    second, _ = await names(api, target, **query, page_token=token)
    assert len(second) == 2
    assert (await names(api, target, **query, page_token=""))[1] == token  # empty: no token


async def test_a_token_is_reusable_and_pages_never_overlap(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    seeded = seed_hours(emulator, list(range(1, 8)))
    target = emulator.default_target
    walked: list[str] = []
    token: str | None = None
    while True:
        page, token = await names(
            api, target, page_size="3", **({"page_token": token} if token else {})
        )
        walked += page
        if token is None:
            break
    assert walked == [seeded[h] for h in range(1, 8)]
    _, first_token = await names(api, target, page_size="3")
    assert first_token is not None
    a, _ = await names(api, target, page_size="3", page_token=first_token)
    b, _ = await names(api, target, page_size="3", page_token=first_token)
    assert a == b == walked[3:6]


async def test_runs_created_after_a_token_do_not_shift_its_pages(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    seeded = seed_hours(emulator, [1, 2, 3, 4])
    target = emulator.default_target
    first, token = await names(api, target, page_size="2")
    await invoke(api)  # newer than every listed run
    rest, _ = await names(api, target, page_size="2", page_token=token)
    assert first + rest == [seeded[h] for h in (1, 2, 3, 4)]


@pytest.mark.parametrize("order", ["newest", "oldest"])
async def test_the_listing_order_is_a_choice(order: str) -> None:
    emulator = KognitosApiEmulator(clock=ManualClock(START), order=order)  # type: ignore[arg-type]
    seeded = seed_hours(emulator, [5, 1, 30, 2])
    at_once = datetime.fromtimestamp(START, UTC) - timedelta(hours=3)
    ties = [emulator.seed(created_at=at_once) for _ in range(3)]
    async with raw_client(emulator) as api:
        fresh = await invoke(api)
        walked: list[str] = []
        token: str | None = None
        while True:
            params = {"page_size": "2", **({"page_token": token} if token else {})}
            page, token = await names(api, emulator.default_target, **params)
            walked += page
            if token is None:
                break
    newest = [fresh, seeded[1], seeded[2], *reversed(ties), seeded[5], seeded[30]]
    assert walked == (newest if order == "newest" else newest[::-1])


async def test_each_automation_lists_its_own_runs(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    mine = await invoke(api)
    elsewhere = emulator.add_automation(organization="acme-corp", workspace="finance")
    theirs = await invoke(api, elsewhere)
    assert (await names(api, emulator.default_target))[0] == [mine]
    assert (await names(api, elsewhere))[0] == [theirs]
    assert elsewhere.startswith("organizations/acme-corp/workspaces/finance/automations/")


def stamp(hours_ago: int) -> str:
    return at(-hours_ago * 3600)


@pytest.mark.parametrize(
    ("expression", "kept"),
    [
        (f'create_time >= "{stamp(3)}"', [1, 2, 3]),
        (f'create_time <= "{stamp(3)}"', [3, 4, 5, 6]),
        (f'create_time > "{stamp(3)}"', [1, 2]),
        (f'create_time < "{stamp(3)}"', [4, 5, 6]),
        (f'create_time = "{stamp(3)}"', [3]),
        (f'create_time != "{stamp(3)}"', [1, 2, 4, 5, 6]),
        (f'create_time >= "{stamp(5)}" AND create_time <= "{stamp(2)}"', [2, 3, 4, 5]),
        (
            f'(create_time >= "{stamp(6)}" AND create_time <= "{stamp(5)}") '
            f'OR create_time >= "{stamp(2)}"',
            [1, 2, 5, 6],
        ),
        (f'NOT create_time < "{stamp(3)}"', [1, 2, 3]),
        (f'-create_time < "{stamp(3)}"', [1, 2, 3]),
        (f'NOT (create_time < "{stamp(5)}" OR create_time > "{stamp(2)}")', [2, 3, 4, 5]),
        # AIP-160: OR binds tighter than AND.
        (
            f'create_time <= "{stamp(4)}" AND create_time = "{stamp(6)}" '
            f'OR create_time = "{stamp(1)}"',
            [6],
        ),
        (f'create_time>="{stamp(2)}"', [1, 2]),
        ('create_time >= "2023-11-14T20:13:20+00:00"', [1, 2]),
        ('create_time >= "2023-11-14T15:13:20-05:00"', [1, 2]),
        ('create_time > "2023-11-14T20:13:19.999999999Z"', [1, 2]),
        ("  ", [1, 2, 3, 4, 5, 6]),
    ],
)
async def test_the_filter_keeps_runs_by_creation_time(
    api: RawClient, emulator: KognitosApiEmulator, expression: str, kept: list[int]
) -> None:
    seeded = seed_hours(emulator, [1, 2, 3, 4, 5, 6])
    runs, _ = await names(api, emulator.default_target, filter=expression, page_size="100")
    assert runs == [seeded[h] for h in kept]


async def test_the_filter_compares_the_time_the_client_was_shown(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    emulator.advance(0.1234567)
    name = await invoke(api)
    shown = (await read(api, name))["create_time"]
    assert shown == "2023-11-14T22:13:20.123457Z"
    for op in ("=", ">=", "<="):
        runs, _ = await names(api, emulator.default_target, filter=f'create_time {op} "{shown}"')
        assert runs == [name], op


async def test_a_filtered_walk_pages_through_a_long_history(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    seeded = seed_hours(emulator, list(range(1, 41)))
    expression = f'create_time <= "{stamp(5)}" AND create_time > "{stamp(35)}"'
    walked: list[str] = []
    token: str | None = None
    while True:
        params = {
            "filter": expression,
            "page_size": "7",
            **({"page_token": token} if token else {}),
        }
        page, token = await names(api, emulator.default_target, **params)
        walked += page
        if token is None:
            break
    assert walked == [seeded[h] for h in range(5, 35)]


A, B = '"1970-01-01T00:00:01Z"', '"1970-01-01T00:00:02Z"'
SECOND = 10**9


@pytest.mark.parametrize(
    ("expression", "span"),
    [
        (f"create_time >= {A} AND create_time < {B}", (SECOND, 2 * SECOND)),
        (f"create_time = {A} OR create_time = {B}", (SECOND, 2 * SECOND)),
        (f"NOT (create_time < {A} OR create_time > {B})", (SECOND, 2 * SECOND)),
        (f"NOT (create_time >= {A} AND create_time <= {B})", (LOWEST, HIGHEST)),
        (f"create_time > {B} AND create_time < {A}", (2 * SECOND, SECOND)),
        (f"create_time != {A}", (LOWEST, HIGHEST)),
        (f"-create_time > {A}", (LOWEST, SECOND)),
    ],
)
def test_a_filter_span_bounds_the_walk(expression: str, span: tuple[int, int]) -> None:
    # The listing starts and stops where the span says: a page costs its own size.
    assert parse_filter(expression).span() == span


@pytest.mark.parametrize(
    "expression",
    [
        'status = "completed"',
        'update_time > "2024-01-01T00:00:00Z"',
        "create_time >= 2024-01-01T00:00:00Z",
        "create_time >= '2024-01-01T00:00:00Z'",
        'create_time >= "2024-01-01"',
        'create_time >= "2024-01-01 00:00:00Z"',
        'create_time >= "2024-13-01T00:00:00Z"',
        'create_time >= "2024-01-01T00:00:00"',
        'create_time : "2024-01-01T00:00:00Z"',
        'create_time =~ "2024-01-01T00:00:00Z"',
        "create_time",
        '"2024-01-01T00:00:00Z"',
        'create_time >= "2024-01-01T00:00:00Z" and create_time < "2025-01-01T00:00:00Z"',
        'create_time >= "2024-01-01T00:00:00Z" create_time < "2025-01-01T00:00:00Z"',
        'create_time >= "2024-01-01T00:00:00Z" AND',
        'OR create_time >= "2024-01-01T00:00:00Z"',
        '(create_time >= "2024-01-01T00:00:00Z"',
        'create_time >= "2024-01-01T00:00:00Z")',
        '- create_time >= "2024-01-01T00:00:00Z"',
        'NOT NOT create_time >= "2024-01-01T00:00:00Z"',
        "()",
        "(" * 40 + 'create_time >= "2024-01-01T00:00:00Z"' + ")" * 40,
    ],
)
async def test_an_invalid_filter_is_an_invalid_argument(
    api: RawClient, emulator: KognitosApiEmulator, expression: str
) -> None:
    answer = await refused(
        api, "GET", url(emulator.default_target, "/runs"), 3, params={"filter": expression}
    )
    assert "filter" in answer["message"]


# -- seeding and targets -------------------------------------------------------------------


async def test_seeded_runs_take_plain_inputs_and_options(
    api: RawClient, emulator: KognitosApiEmulator
) -> None:
    run_id = emulator.seed(
        inputs={"amount": Decimal("-0.001"), "n": 7, "who": "Ada"},
        stage=DRAFT,
        user_id="u-42",
        status="failed",
        message="no total",
    )
    run = await read(api, run_id)
    assert run["user_inputs"] == {
        "amount": {"number": {"lo": 1, "flags": SIGN | 3 << 16}},
        "n": {"number": {"lo": 7}},
        "who": {"text": "Ada"},
    }
    assert run["stage"] == DRAFT and run["invocation_details"]["user_id"] == "u-42"
    assert run["state"]["failed"]["description"] == "no total"
    assert emulator.created == []
    with pytest.raises(ValueError, match="no name"):
        emulator.seed(name="nightly")
    with pytest.raises(TypeError, match="trigger_id"):
        emulator.seed(trigger_id="t")
    with pytest.raises(ValueError, match="stage"):
        emulator.seed(emulator.add_automation(stages=(DRAFT,)), stage=PUBLISHED)


def test_targets_are_automation_names() -> None:
    emulator = KognitosApiEmulator()
    target = emulator.default_target
    assert emulator.target_key(target) == target
    assert emulator.target_key(target + "/runs") is None
    assert emulator.target_key(target.replace("automations/", "automations/x")) is None
    added = emulator.add_target()
    assert added != target and emulator.target_key(added) == added
    assert added.rsplit("/", 2)[0] == target.rsplit("/", 2)[0]  # same workspace
    assert emulator.unknown_id().startswith(target + "/runs/")
    assert emulator.unknown_id() not in emulator.runs
    with pytest.raises(KeyError):
        emulator.plan_next(target="organizations/o/workspaces/w/automations/a")
    with pytest.raises(ValueError, match="automation id"):
        emulator.add_automation(automation="short")
    with pytest.raises(ValueError, match="stages"):
        emulator.add_automation(stages=("AUTOMATION_STAGE_UNSPECIFIED",))


async def test_plans_apply_per_automation(api: RawClient, emulator: KognitosApiEmulator) -> None:
    other = emulator.add_target()
    emulator.plan_next(outcome="failed", queued=0, running=1, target=other)
    mine, theirs = await invoke(api), await invoke(api, other)
    emulator.advance(10)
    assert key(await state(api, mine)) == "completed"
    assert key(await state(api, theirs)) == "failed"


# -- values in plain Python ----------------------------------------------------------------

decimals = st.builds(
    lambda sign, mantissa, scale: Decimal((sign, tuple(map(int, str(mantissa))), -scale)),
    st.integers(0, 1),
    st.integers(0, 2**96 - 1),
    st.integers(0, 28),
)


@given(st.integers(min_value=-(2**96) + 1, max_value=2**96 - 1))
def test_integers_round_trip_exactly(number: int) -> None:
    value = {"number": number_of(number)}
    check_value(value)
    back = number_to_python(value["number"])
    assert type(back) is int and back == number


@given(decimals)
def test_decimals_round_trip_exactly(number: Decimal) -> None:
    value = {"number": number_of(number)}
    check_value(value)
    back = number_to_python(value["number"])
    assert back == number
    if number.as_tuple().exponent or (number.is_signed() and not number):
        assert isinstance(back, Decimal) and back.as_tuple() == number.as_tuple()
    else:
        assert type(back) is int


plain = st.recursive(
    st.none() | st.booleans() | st.text(max_size=5) | st.integers(-(2**64), 2**64),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(plain)
def test_plain_values_round_trip(value: Any) -> None:
    converted = from_plain(value)
    check_value(converted)
    assert to_plain(converted) == value


def test_other_kinds_stay_raw_values() -> None:
    raws: list[dict[str, Any]] = [
        {"date": {"year": 2024}},
        {"set": {"items": [{"text": "a"}]}},
        {"dictionary": {"entries": [{"key": {"number": {"lo": 1}}, "value": {"text": "a"}}]}},
        {"file": {"remote": "files/1"}},
    ]
    for raw in raws:
        assert to_plain(raw) == raw and from_plain(raw) == raw
    assert to_plain({"number": {"flags": SIGN}}) == Decimal("-0")
    assert to_plain({"number": {"flags": 2 << 16}}) == Decimal("0.00")
    assert from_plain({"text": "not a value"}) == {
        "dictionary": {"entries": [{"key": {"text": "text"}, "value": {"text": "not a value"}}]}
    }
    with pytest.raises(ValueError, match="28"):
        from_plain(Decimal("1e-29"))
    with pytest.raises(ValueError, match="96"):
        from_plain(2**96)
    with pytest.raises(TypeError):
        from_plain(object())
    with pytest.raises(BadValue):
        check_value({"list": {"items": [{"list": {"items": []}}] * 2, "x": 1}})
