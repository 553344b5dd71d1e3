"""Fidelity of the Kognitos emulator's run listing to the provider facts, over raw HTTP.

``GET /v2/runs``: one process of one agent, newest first, continuation tokens
with ``null`` on the last page.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest

from runbridge_kognitos.emulator import KognitosEmulator


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
