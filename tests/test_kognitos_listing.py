"""Listing Kognitos runs through the public API: one process at a time, by token.

Against the emulator over loopback HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest

from runbridge import InvalidRequest, RunClient, RunStatus
from runbridge_kognitos.emulator import KognitosEmulator
from support import sent, tamper

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
        {"target": target + "@Draft", "page_size": 1, "cursor": cursor},
    ]
    for kwargs in attempts:
        with pytest.raises(InvalidRequest) as caught:
            await once.list_page(**kwargs)
        assert caught.value.status == 400
        assert caught.value.field == "cursor"


# -- resuming with another page size -------------------------------------------------------


async def _created_newest_first(
    client: RunClient, emulator: KognitosEmulator, target: str, n: int
) -> list[str]:
    created = []
    for _ in range(n):
        created.append(str((await client.create(target)).ref))
        emulator.advance(1)
    return created[::-1]


@pytest.mark.parametrize(("first", "then"), [(4, 3), (4, 1), (2, 5), (3, 3)])
async def test_a_cursor_resumes_with_another_page_size(
    once: RunClient, emulator: KognitosEmulator, target: str, first: int, then: int
) -> None:
    # The emulator binds a token to the limit it was made with, as the facts assume:
    # the cursor keeps that limit, so no run is lost or repeated, and no page is longer
    # than asked.
    expected = await _created_newest_first(once, emulator, target, 9)
    page = await once.list_page(target=target, page_size=first)
    assert page.next_cursor is not None
    seen = [str(r.ref) for r in page.items]
    pages = [
        p async for p in once.list(target=target, page_size=then, cursor=page.next_cursor).pages()
    ]
    for resumed in pages:
        assert len(resumed.items) <= then
        seen += [str(r.ref) for r in resumed.items]
    assert seen == expected
    assert pages[-1].next_cursor is None
    tokens = [r for r in sent(emulator, "GET", "/runs") if r.param("continuation_token")]
    assert tokens and {r.param("limit") for r in tokens} == {str(first)}


async def test_a_resumed_page_is_served_in_pieces_of_the_new_size(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    expected = await _created_newest_first(once, emulator, target, 6)
    first = await once.list_page(target=target, page_size=3)
    assert first.next_cursor is not None
    second = await once.list_page(target=target, page_size=2, cursor=first.next_cursor)
    assert [str(r.ref) for r in second.items] == expected[3:5]
    assert second.next_cursor is not None
    # The piece after it comes from the same token: one run left on that page.
    third = await once.list_page(target=target, page_size=2, cursor=second.next_cursor)
    assert [str(r.ref) for r in third.items] == expected[5:]
    assert third.next_cursor is None
    # Back to the original size: still no run lost or repeated.
    again = await once.list_page(target=target, page_size=3, cursor=second.next_cursor)
    assert [str(r.ref) for r in again.items] == expected[5:]


async def test_a_cursor_of_the_default_page_size_resumes_without_a_limit(
    once: RunClient, emulator: KognitosEmulator, target: str
) -> None:
    expected = await _created_newest_first(once, emulator, target, 12)
    first = await once.list_page(target=target)
    assert len(first.items) == 10 and first.next_cursor is not None
    rest = await once.list(target=target, page_size=1, cursor=first.next_cursor).collect()
    assert [str(r.ref) for r in first.items] + [str(r.ref) for r in rest] == expected
    assert all(r.param("limit") is None for r in sent(emulator, "GET", "/runs"))


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
