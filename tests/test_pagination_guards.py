"""Listings always end: hostile servers that would page for ever are stopped with a
``ResponseError`` naming the provider.

Each server here misbehaves on purpose, as a small subclass of a provider's emulator
or through answers injected into it: a continuation token that repeats, a cycle of
cursors, an offset listing that never runs out, a total that the listing outgrows,
and empty pages that keep naming a next one. Each test counts the requests the
server received, so a guard that let the listing run on would fail it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiohttp import web

import runbridge._wire._pagination
from runbridge import ResponseError, RunClient
from runbridge.emulation import json_response
from runbridge.testing import emulated_client
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from runbridge_kognitos.emulator import KognitosEmulator
from support import sent

Script = Callable[[int], tuple[slice, str | None]]
"""Page ``n`` of a hostile listing: which of the runs it holds, and the token it names next."""


class ScriptedKognitos(KognitosEmulator):
    """Kognitos whose listing follows ``script`` instead of the tokens the client sends."""

    def __init__(self, script: Script, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = script
        self.pages = 0

    async def _list(self, request: web.Request) -> web.Response:
        query = {k: v for k, v in request.query.items() if k != "continuation_token"}
        query["limit"] = "100"  # every run, to choose from
        everything = await super()._list(request.clone(rel_url=request.rel_url.with_query(query)))
        assert isinstance(everything.body, bytes)
        runs = orjson.loads(everything.body)["items"]
        chosen, token = self.script(self.pages)
        self.pages += 1
        return json_response({"items": runs[chosen], "continuation_token": token})


class EndlessCyberdesk(CyberdeskEmulator):
    """Cyberdesk that ignores ``skip`` and reports a ``total`` from ``total(skip, limit)``."""

    def __init__(self, total: Callable[[int, int], int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.total = total

    async def _list(self, request: web.Request) -> web.Response:
        skip = int(request.query.get("skip", "0"))
        limit = int(request.query.get("limit", "20"))
        first = request.rel_url.update_query(skip="0")
        page = await super()._list(request.clone(rel_url=first))
        assert isinstance(page.body, bytes)
        body = orjson.loads(page.body)
        body.update(skip=skip, total=self.total(skip, limit))
        return json_response(body)


async def _kognitos(script: Script, runs: int = 6) -> tuple[RunClient, ScriptedKognitos, Any]:
    emulator = ScriptedKognitos(script)
    context = emulated_client("kognitos", emulator=emulator)
    client, _ = await context.__aenter__()
    for _ in range(runs):
        await client.create(emulator.default_target)
    return client, emulator, context


def _refused(caught: pytest.ExceptionInfo[ResponseError], provider: str, words: str) -> None:
    error = caught.value
    assert (error.provider, error.operation) == (provider, "list")
    assert words in str(error), str(error)


# -- repeated cursors ------------------------------------------------------------------------


async def test_a_repeated_continuation_token_ends_the_listing() -> None:
    client, emulator, context = await _kognitos(lambda n: (slice(n, n + 1), "same-token"))
    try:
        with pytest.raises(ResponseError) as caught:
            await client.list(target=emulator.default_target).collect()
        _refused(caught, "kognitos", "cursor is the one just used")
        assert emulator.pages == 2
        # One page at a time, the same: list_page refuses a page that names itself next.
        first = await client.list_page(target=emulator.default_target)
        with pytest.raises(ResponseError):
            await client.list_page(target=emulator.default_target, cursor=first.next_cursor)
    finally:
        await context.__aexit__(None, None, None)


async def test_a_cycle_of_cursors_ends_the_listing() -> None:
    client, emulator, context = await _kognitos(lambda n: (slice(n % 6, n % 6 + 1), f"t{n % 3}"))
    try:
        with pytest.raises(ResponseError) as caught:
            await client.list(target=emulator.default_target).collect()
        _refused(caught, "kognitos", "repeated a cursor")
        assert emulator.pages == 4  # names t0, t1, t2, then t0 again
    finally:
        await context.__aexit__(None, None, None)


async def test_a_cycle_longer_than_the_guards_memory_still_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The record of cursors is bounded (to 4 here): a cycle that starts after it is full
    # is caught by a checkpoint instead.
    monkeypatch.setattr(runbridge._wire._pagination, "REMEMBERED_PAGES", 4)

    def script(n: int) -> tuple[slice, str | None]:
        return slice(n % 20, n % 20 + 1), f"head-{n}" if n < 10 else f"t{(n - 10) % 25}"

    client, emulator, context = await _kognitos(script, runs=20)
    try:
        with pytest.raises(ResponseError) as caught:
            await client.list(target=emulator.default_target).collect()
        _refused(caught, "kognitos", "repeated a cursor")
        assert 10 + 25 < emulator.pages <= 10 + 3 * 25
    finally:
        await context.__aexit__(None, None, None)


# -- pages that do not advance ---------------------------------------------------------------


async def test_an_endless_offset_listing_ends() -> None:
    # Every page is the first one again, and the total always promises one more run.
    emulator = EndlessCyberdesk(lambda skip, limit: skip + limit + 1)
    async with emulated_client("cyberdesk", emulator=emulator) as (client, _):
        for _ in range(3):
            await client.create(emulator.default_target)
        before = len(sent(emulator, "GET", "/v1/runs"))
        with pytest.raises(ResponseError) as caught:
            await client.list(page_size=3).collect()
        _refused(caught, "cyberdesk", "brought no new runs")
        pages = len(sent(emulator, "GET", "/v1/runs")) - before
    assert pages == runbridge._wire._pagination.STALLED_PAGES + 2


async def test_a_listing_that_outgrows_the_reported_total_ends() -> None:
    # The total stays 5, but skip is ignored: page after page holds the same two runs.
    emulator = EndlessCyberdesk(lambda skip, limit: 5)
    async with emulated_client("cyberdesk", emulator=emulator) as (client, _):
        for _ in range(2):
            await client.create(emulator.default_target)
        with pytest.raises(ResponseError) as caught:
            await client.list(page_size=2).collect()
        _refused(caught, "cyberdesk", "more than the 5 the provider reported")


async def test_a_page_with_more_runs_than_the_total_is_refused() -> None:
    emulator = EndlessCyberdesk(lambda skip, limit: 1)
    async with emulated_client("cyberdesk", emulator=emulator) as (client, _):
        for _ in range(3):
            await client.create(emulator.default_target)
        with pytest.raises(ResponseError) as caught:
            await client.list().collect()
        _refused(caught, "cyberdesk", "gave 3 runs, more than the 1")


EMPTY_PAGE: dict[str, Callable[[int], dict[str, Any]]] = {
    "kognitos": lambda n: {"items": [], "continuation_token": f"token-{n}"},
    "runflow": lambda n: {"items": [], "next": f"pq-{n}"},
}


@pytest.mark.parametrize("provider", sorted(EMPTY_PAGE))
async def test_empty_pages_that_name_a_next_page_end_the_listing(provider: str) -> None:
    async with emulated_client(provider) as (client, emulator):
        target = emulator.default_target if provider == "kognitos" else None
        for n in range(50):
            emulator.inject(200, body=EMPTY_PAGE[provider](n))
        with pytest.raises(ResponseError) as caught:
            await client.list(target=target).collect()
        _refused(caught, provider, "brought no new runs")
        listed = len([r for r in emulator.log if r.method == "GET"])
    assert listed == runbridge._wire._pagination.STALLED_PAGES + 1


@pytest.mark.parametrize("provider", sorted(EMPTY_PAGE))
async def test_a_few_empty_pages_are_allowed(provider: str) -> None:
    # Up to STALLED_PAGES empty pages in a row may come before the runs: no false alarm.
    async with emulated_client(provider) as (client, emulator):
        run = await client.create(emulator.default_target)
        target = emulator.default_target if provider == "kognitos" else None
        for n in range(runbridge._wire._pagination.STALLED_PAGES):
            emulator.inject(200, body=EMPTY_PAGE[provider](n))
        last = {"items": [dict(run.raw)], "continuation_token": None, "next": None}
        emulator.inject(200, body=last)
        runs = await client.list(target=target).collect()
    assert [r.ref for r in runs] == [run.ref]


async def test_an_honest_long_listing_is_not_stopped() -> None:
    async with emulated_client("cyberdesk") as (client, emulator):
        created = {(await client.create(emulator.default_target)).ref for _ in range(25)}
        runs = await client.list(page_size=2).collect()
    assert {r.ref for r in runs} == created and len(runs) == 25
