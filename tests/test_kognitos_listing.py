"""Listing Kognitos runs through the public API: one process at a time, by token.

Against the emulator over loopback HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest

from runbridge import InvalidRequest, RunClient, RunStatus
from runbridge_kognitos.emulator import KognitosEmulator
from support import tamper

LIST = ("GET", "/v2/runs")


@pytest.fixture
def provider() -> str:
    return "kognitos"


# -- listing -------------------------------------------------------------------------------


async def test_listing_without_a_target_is_rejected_locally(
    once: RunClient, emulator: KognitosEmulator
) -> None:
    seen = len(emulator.requests)
    with pytest.raises(InvalidRequest) as caught:
        await once.list_page()
    assert caught.value.field == "target"
    with pytest.raises(InvalidRequest):
        await once.list(status="succeeded").collect()
    assert len(emulator.requests) == seen


async def test_empty_listing_is_one_page_without_cursor(
    once: RunClient, emulator: KognitosEmulator
) -> None:
    empty = "/".join(emulator.add_process())
    page = await once.list_page(target=empty)
    assert page.items == () and page.next_cursor is None
    assert await once.list(target=empty).collect() == []


async def test_exactly_one_page_takes_one_request(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    created = [await once.create(target) for _ in range(3)]
    seen = emulator.requests.count(LIST)
    pages = [page async for page in once.list(target=target, page_size=3).pages()]
    assert len(pages) == 1 and pages[0].next_cursor is None
    assert [r.ref for r in pages[0].items] == [r.ref for r in reversed(created)]
    assert emulator.requests.count(LIST) == seen + 1


async def test_several_pages_newest_first(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    created = []
    for _ in range(5):
        created.append(await once.create(target))
        emulator.advance(1)
    pages = [page async for page in once.list(target=target, page_size=2).pages()]
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert [r.ref for p in pages for r in p.items] == [r.ref for r in reversed(created)]
    assert [p.next_cursor is None for p in pages] == [False, False, True]


async def test_a_cursor_can_be_reused(once: RunClient, target: str) -> None:
    for _ in range(3):
        await once.create(target)
    first = await once.list_page(target=target, page_size=1)
    assert first.next_cursor is not None
    again = await once.list_page(target=target, page_size=1, cursor=first.next_cursor)
    once_more = await once.list_page(target=target, page_size=1, cursor=first.next_cursor)
    assert again == once_more
    assert again.items[0].ref != first.items[0].ref


async def test_tampered_or_foreign_cursors_are_invalid(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    other = "/".join(emulator.add_process())
    for t in (target, other):
        for _ in range(2):
            await once.create(t)
    cursor = (await once.list_page(target=target, page_size=1)).next_cursor
    assert cursor is not None
    # A tampered cursor fails its signature here; nothing is sent.
    seen = emulator.requests.count(LIST)
    with pytest.raises(InvalidRequest) as forged:
        await once.list_page(target=target, page_size=1, cursor=tamper(cursor))
    assert forged.value.status is None and forged.value.field == "cursor"
    assert emulator.requests.count(LIST) == seen
    # A genuine token used for another query: the provider refuses it.
    attempts: list[dict[str, Any]] = [
        {"target": other, "page_size": 1, "cursor": cursor},
        {"target": target, "page_size": 2, "cursor": cursor},
        {"target": target + "@Draft", "page_size": 1, "cursor": cursor},
    ]
    for kwargs in attempts:
        with pytest.raises(InvalidRequest) as caught:
            await once.list_page(**kwargs)
        assert caught.value.status == 400
        assert caught.value.field == "cursor"


async def test_status_filter_is_applied_client_side(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    for outcome_fast in (True, False, True, False):
        emulator.plan_next(queued=0 if outcome_fast else 10_000, running=0)
        await once.create(target)
        emulator.advance(1)
    page = await once.list_page(target=target, status="succeeded", page_size=2)
    # The provider sent two runs; one is left after filtering, and the listing goes on.
    assert [r.status for r in page.items] == [RunStatus.SUCCEEDED]
    assert page.next_cursor is not None
    every = await once.list(target=target, status="succeeded").collect()
    assert len(every) == 2 and all(r.status is RunStatus.SUCCEEDED for r in every)


@pytest.mark.parametrize("suffix", ["", "@Published", "@Draft"])
async def test_listing_is_by_stage_and_matches_equivalent_spellings(
    once: RunClient, target: str, suffix: str
) -> None:
    published = await once.create(target)
    draft = await once.create(target + "@Draft")
    listed = await once.list(target=target + suffix).collect()
    expected = draft if suffix == "@Draft" else published
    assert [r.ref for r in listed] == [expected.ref]
    assert listed[0].target == (target + "@Draft" if suffix == "@Draft" else target)
