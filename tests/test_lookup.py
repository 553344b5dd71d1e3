"""The core's lost-create lookup: every page, a creation window, and no guessing.

A memo variant tags creates the way a provider without idempotency keys must:
by a name the caller gave, or a generated one carrying the client token.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import web

from memo_plugin import MemoAdapter
from memo_plugin.emulator import MemoEmulator
from runbridge import Capabilities, CreateUnconfirmed, Pagination, Run, RunClient, RunRequest
from runbridge.adapter import Registry, hookimpl
from runbridge.emulation import ManualClock
from runbridge.testing import emulated_client

_TAG = re.compile(r" ~([0-9a-f]{16})\Z")


class TaggingMemo(MemoAdapter):
    """Memo with exactly-once creates: caller names are kept, others carry the token."""

    name = "tagmemo"
    capabilities = Capabilities.of(
        native={"create", "get", "list"},
        pagination=Pagination.CURSOR,
        max_page_size=50,
        newest_first=True,
    )

    def tag(self, request: RunRequest, token: str) -> RunRequest | None:
        if request.name is not None:
            return request
        return attrs.evolve(request, name=f"run ~{token}")

    def token_of(self, run: Run) -> str | None:
        match = _TAG.search(run.name or "")
        return match.group(1) if match else None

    def claims(self, run: Run, request: RunRequest, token: str) -> bool:
        if request.name is not None and not _TAG.search(request.name):
            return run.name == request.name
        return self.token_of(run) == token


class BusyMemo(MemoEmulator):
    """Memo where other clients keep creating runs, and the server sometimes doubles one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.others_after_create = 0
        self.double_next = False

    async def _create(self, request: web.Request) -> web.Response:
        response = await super()._create(request)
        if self.double_next:
            self.double_next = False
            await super()._create(request)
        for i in range(self.others_after_create):
            run = next(iter(self.runs.values()))
            self._add_other(run, i)
        self.others_after_create = 0
        return response

    def _add_other(self, template: Any, i: int) -> None:
        other = attrs.evolve(
            template,
            id=f"o{i:011d}",
            name=f"someone else {i}",
            timeline=attrs.evolve(template.timeline, created=self.now() + 0.001 * (i + 1)),
        )
        self.runs[other.id] = other


@pytest.fixture
def registry() -> Registry:
    registry = Registry(entry_points=False)

    class Plugin:
        @hookimpl
        def runbridge_register_adapters(self, register: Any) -> None:
            register(TaggingMemo)

    registry.register_plugin(Plugin(), name="tagging")
    return registry


@pytest.fixture
def busy() -> BusyMemo:
    return BusyMemo()


@pytest.fixture
async def client(busy: BusyMemo, registry: Registry) -> AsyncIterator[RunClient]:
    async with emulated_client("tagmemo", emulator=busy, registry=registry) as (client, _):
        yield client


async def test_a_lost_answer_is_found_on_any_page_and_not_sent_again(
    client: RunClient, busy: BusyMemo
) -> None:
    busy.others_after_create = 700  # 14 pages of 50 newer runs hide ours
    busy.inject_fault("reset_after")
    run = await client.create("echo", inputs={"n": 1})
    posts = [r for r in busy.requests if r == ("POST", "/runs")]
    assert len(posts) == 1
    assert run.name is not None and run.id in busy.runs
    assert sum(1 for r in busy.runs.values() if r.name == run.name) == 1


async def test_a_caller_name_is_matched_exactly(client: RunClient, busy: BusyMemo) -> None:
    await client.create("echo", name="invoice 42 (copy)")
    busy.inject_fault("reset_after")
    run = await client.create("echo", name="invoice 42")
    assert run.name == "invoice 42"
    assert len([r for r in busy.requests if r == ("POST", "/runs")]) == 2


async def test_two_candidates_are_reported_not_guessed(client: RunClient, busy: BusyMemo) -> None:
    busy.double_next = True
    busy.inject_fault("reset_after")
    with pytest.raises(CreateUnconfirmed) as caught:
        await client.create("echo", name="twice")
    assert len(caught.value.candidates) == 2
    assert {c.name for c in caught.value.candidates} == {"twice"}
    assert caught.value.token
    assert len([r for r in busy.requests if r == ("POST", "/runs")]) == 1


async def test_a_same_named_run_from_before_the_window_is_not_a_candidate(
    registry: Registry,
) -> None:
    clock = ManualClock(time.time() - 3 * 3600)
    busy = BusyMemo(clock=clock)
    async with emulated_client("tagmemo", emulator=busy, registry=registry) as (client, _):
        old = await client.create("echo", name="nightly")
        clock.advance(3 * 3600)
        busy.inject_fault("reset_after")
        run = await client.create("echo", name="nightly")
    assert run.ref != old.ref
    assert len([r for r in busy.requests if r == ("POST", "/runs")]) == 2


async def test_a_listing_in_another_order_than_declared_is_searched_to_the_end(
    registry: Registry,
) -> None:
    clock = ManualClock(time.time() - 3 * 3600)
    busy = BusyMemo(clock=clock)
    busy.oldest_first = True  # the adapter declares newest first: the server disagrees
    async with emulated_client("tagmemo", emulator=busy, registry=registry) as (client, _):
        for _ in range(120):
            await client.create("echo")
            clock.advance(1)
        clock.advance(3 * 3600)
        busy.inject_fault("reset_after")
        run = await client.create("echo", inputs={"n": 1})
    assert len([r for r in busy.requests if r == ("POST", "/runs")]) == 121
    assert run.inputs == {"n": 1}
