"""Documented Kognitos payloads give their canonical result, parsed and served over HTTP.

Each fixture under ``tests/data/documented/kognitos/`` is a payload from the
provider docs (see the README there); each test states what runbridge must make
of it. The emulator only replays the fixture (``inject``), so these tests hold
the adapter to the docs, not to the emulator.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest

from runbridge import (
    AuthError,
    InvalidRequest,
    NotFound,
    Run,
    RunbridgeError,
    RunClient,
    RunStatus,
)
from runbridge_kognitos.emulator import KognitosEmulator

DATA = Path(__file__).parent / "data" / "documented" / "kognitos"
EXAMPLE_ID = "b4fznghynbdemslfd5k044fgd"
NOON = datetime(2021, 1, 1, 12, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@attrs.frozen
class Expected:
    """The canonical reading of one documented run object."""

    id: str
    target: str
    name: str
    status: RunStatus
    native: str
    outputs: dict[str, Any] | None


RUN_EXAMPLE = Expected(
    id=EXAMPLE_ID,
    target=f"{EXAMPLE_ID}/{EXAMPLE_ID}@Draft",
    name="Process invoice",
    status=RunStatus.PENDING,
    native="Created",
    outputs={"total_items": 42, "customer_id": "9nvx1hdm9bd74rp585oe81t5i"},
)
LEGACY_ITEM = Expected(
    id="9nvx1hdm9bd74rp585oe81t5i",
    target=f"{EXAMPLE_ID}/a7xm2kp9qwj3v5nh8t4c6r1e9z",
    name="Process invoice",
    status=RunStatus.SUCCEEDED,
    native="Succeeded",
    outputs=None,
)


def check(run: Run, expected: Expected, payload: Any) -> None:
    assert run.ref.provider == "kognitos" and run.id == expected.id
    assert run.target == expected.target
    assert run.name == expected.name
    assert (run.status, run.native_status) == (expected.status, expected.native)
    assert run.failure is None
    assert run.created_at == NOON and run.created_at.tzinfo is UTC
    assert run.started_at is None and run.finished_at is None and run.duration is None
    assert run.outputs == expected.outputs
    assert run.inputs == {}
    assert run.cost is None and run.progress is None
    assert run.raw == payload


# Tests read through ``once``, a client that never retries, so each served payload
# is read exactly once.
@pytest.fixture
def provider() -> str:
    return "kognitos"


# -- run objects -------------------------------------------------------------------------


async def test_the_run_example_parses(once: RunClient) -> None:
    payload = load("run.json")
    check(once.parse_run(payload), RUN_EXAMPLE, payload)


async def test_the_run_example_served_by_get(once: RunClient, emulator: KognitosEmulator) -> None:
    payload = load("run.json")
    emulator.inject(200, body=payload)
    check(await once.get(EXAMPLE_ID), RUN_EXAMPLE, payload)


async def test_the_run_example_as_a_create_answer(
    once: RunClient, emulator: KognitosEmulator
) -> None:
    payload = load("run.json")
    emulator.inject(201, body=payload)
    check(await once.create(RUN_EXAMPLE.target, name="Process invoice"), RUN_EXAMPLE, payload)


async def test_a_documented_run_target_lists_the_run_back(
    once: RunClient, emulator: KognitosEmulator
) -> None:
    run = once.parse_run(load("run.json"))
    assert run.target is not None
    emulator.inject(200, body=load("list-with-token.constructed.json"))
    page = await once.list_page(target=run.target)
    assert [r.ref for r in page.items] == [run.ref]
    listing = emulator.log[-1]
    assert (listing.param("agent_id"), listing.param("process_id")) == (EXAMPLE_ID, EXAMPLE_ID)
    assert listing.param("stage") == "Draft"


# -- list envelopes ----------------------------------------------------------------------


async def test_the_legacy_list_example_is_a_last_page(
    once: RunClient, emulator: KognitosEmulator
) -> None:
    envelope = load("list-legacy-example.constructed.json")
    emulator.inject(200, body=envelope)
    page = await once.list_page(target=LEGACY_ITEM.target)
    assert page.next_cursor is None
    (run,) = page.items
    check(run, LEGACY_ITEM, envelope["items"][0])


async def test_a_list_with_a_token_gives_a_cursor_that_sends_it_back(
    once: RunClient, emulator: KognitosEmulator
) -> None:
    envelope = load("list-with-token.constructed.json")
    emulator.inject(200, body=envelope)
    page = await once.list_page(target=RUN_EXAMPLE.target, page_size=1)
    (run,) = page.items
    check(run, RUN_EXAMPLE, envelope["items"][0])
    assert page.next_cursor is not None and page.next_cursor != "text"
    emulator.inject(200, body=load("list-legacy-example.constructed.json"))
    await once.list_page(target=RUN_EXAMPLE.target, page_size=1, cursor=page.next_cursor)
    assert emulator.log[-1].param("continuation_token") == "text"
    assert emulator.log[-1].param("limit") == "1"


async def test_a_list_with_null_items_is_an_empty_last_page(
    once: RunClient, emulator: KognitosEmulator
) -> None:
    emulator.inject(200, body=load("list-items-null.schema-minimal.json"))
    page = await once.list_page(target=RUN_EXAMPLE.target)
    assert page.items == () and page.next_cursor is None


# -- error bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "error", "message", "field"),
    [
        ("error-404.json", 404, NotFound, "Run not found", None),
        ("error-401.json", 401, AuthError, "access not permitted", None),
        (
            "error-400-details.schema-minimal.json",
            400,
            InvalidRequest,
            "Invalid input values: name: must be a string of 1-100 characters",
            "name",
        ),
    ],
)
async def test_documented_error_bodies(
    once: RunClient,
    emulator: KognitosEmulator,
    name: str,
    status: int,
    error: type[RunbridgeError],
    message: str,
    field: str | None,
) -> None:
    body = load(name)
    emulator.inject(status, body=body)
    with pytest.raises(error) as caught:
        await once.get(EXAMPLE_ID)
    # The ErrorModel has no code: a provider code would show in the message as "[code]".
    assert (caught.value.status, caught.value.message) == (status, message)
    assert getattr(caught.value, "field", None) == field
    assert caught.value.body == body
    assert (caught.value.provider, caught.value.operation) == ("kognitos", "get")


# -- the emulator agrees with the docs -----------------------------------------------------


async def test_the_emulator_answers_in_the_documented_shapes(emulator: KognitosEmulator) -> None:
    # The witness itself: its own run objects and errors look like the fixtures.
    agent_id, process_id = emulator.default_target.split("/")
    create = {"agent_id": agent_id, "process_id": process_id, "name": "n", "stage": "Draft"}
    async with emulator.serve() as base, aiohttp.ClientSession() as session:
        key = {"x-api-key": emulator.token}
        async with session.post(f"{base}/runs", json=create, headers=key) as response:
            run = await response.json()
        async with session.get(f"{base}/runs/{emulator.unknown_id()}", headers=key) as response:
            missing = (response.status, await response.json())
        async with session.get(f"{base}/runs/{run['id']}") as response:
            denied = (response.status, await response.json())
        params = {"agent_id": agent_id, "process_id": process_id, "stage": "Published"}
        async with session.get(f"{base}/runs", params=params, headers=key) as response:
            empty = await response.json()
    assert set(run) == set(load("run.json"))
    assert missing == (404, load("error-404.json"))
    assert denied == (401, load("error-401.json"))
    assert set(empty) == set(load("list-items-null.schema-minimal.json"))
    assert empty == {"items": [], "continuation_token": None}
