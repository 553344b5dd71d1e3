"""Page-number pagination (``runbridge.adapter.PageNumbers``): resuming with another page size
neither loses nor repeats runs.

First the arithmetic against a listing simulated in memory, then through the public
API over HTTP with the guide's Acme plugin (docs/examples/acme), whose provider pages
by number.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbridge import InvalidRequest, Pagination, RunClient
from runbridge.adapter import PageNumbers, PageRequest, Registry
from runbridge.testing import emulated_client
from support import sent

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "acme"


def walk(total: int, sizes: list[int], pages: PageNumbers) -> tuple[list[int], list[int]]:
    """Page through runs ``0..total-1`` as a page-numbered provider serves them, changing
    the page size at each step (the last size repeats); the runs seen and the page lengths."""
    seen: list[int] = []
    lengths: list[int] = []
    cursor: str | None = None
    for step in range(total + 2):
        at = pages.request(cursor, sizes[min(step, len(sizes) - 1)])
        start = (at.page - pages.first) * at.size
        served = list(range(total))[start : start + at.size]
        seen += served[at.skip :]
        lengths.append(len(served[at.skip :]))
        cursor = at.next_cursor(len(served), total=total)
        if cursor is None:
            return seen, lengths
    raise AssertionError("the listing did not end")


# -- the arithmetic -------------------------------------------------------------------------


def test_the_first_page_uses_the_page_size_or_the_default() -> None:
    pages = PageNumbers(default_size=20)
    assert pages.request(None, None) == PageRequest(page=1, size=20, skip=0, offset=0)
    assert pages.request(None, 5) == PageRequest(page=1, size=5, skip=0, offset=0)
    assert PageNumbers(default_size=20, first=0).request(None, 5).page == 0


def test_a_resumed_cursor_asks_for_the_page_holding_its_offset() -> None:
    pages = PageNumbers(default_size=20)
    cursor = pages.request(None, 2).next_cursor(2, total=10)
    assert cursor == "2"
    # Two runs seen; pages of three now: page 1 again, its first two runs skipped.
    assert pages.request(cursor, 3) == PageRequest(page=1, size=3, skip=2, offset=2)
    assert pages.request(cursor, 1) == PageRequest(page=3, size=1, skip=0, offset=2)
    assert pages.request(cursor, 2) == PageRequest(page=2, size=2, skip=0, offset=2)


def test_the_end_is_read_from_total_more_or_a_short_page() -> None:
    at = PageNumbers(default_size=5).request("5", None)
    assert at.next_cursor(5, total=10) is None
    assert at.next_cursor(5, total=11) == "10"
    assert at.next_cursor(5, more=False) is None
    assert at.next_cursor(3, more=True) == "8"
    assert at.next_cursor(5) == "10"  # a full page may have a next one
    assert at.next_cursor(4) is None


def test_a_listing_that_shrank_below_the_cursor_ends() -> None:
    # Runs were deleted: the page holding the offset no longer reaches it.
    at = PageNumbers(default_size=20).request("7", 5)
    assert (at.page, at.skip) == (2, 2)
    assert at.next_cursor(2, more=True) is None
    assert at.next_cursor(1, total=100) is None


@pytest.mark.parametrize("cursor", ["", "x", "-1", "1.5", " 3", "3 ", "+3", "١٢", "9" * 19])
def test_a_cursor_that_is_not_an_offset_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        PageNumbers(default_size=20).request(cursor, None)
    assert caught.value.field == "cursor"


@pytest.mark.parametrize("size", [0, -1, True, 2.0])
def test_a_page_size_that_is_not_positive_is_refused(size: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        PageNumbers(default_size=20).request(None, size)  # type: ignore[arg-type]
    assert caught.value.field == "page_size"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"default_size": 0}, ValueError),
        ({"default_size": 20, "first": 2}, ValueError),
        ({"default_size": True}, TypeError),
    ],
)
def test_bad_declarations_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        PageNumbers(**kwargs)  # type: ignore[arg-type]


@given(
    total=st.integers(0, 60),
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=8),
    first=st.sampled_from([0, 1]),
)
def test_any_sequence_of_page_sizes_sees_every_run_once(
    total: int, sizes: list[int], first: int
) -> None:
    seen, lengths = walk(total, sizes, PageNumbers(default_size=7, first=first))
    assert seen == list(range(total))
    for step, length in enumerate(lengths):
        assert length <= sizes[min(step, len(sizes) - 1)]


def test_without_a_total_a_walk_ends_on_the_first_short_page() -> None:
    pages = PageNumbers(default_size=4)
    cursor: str | None = None
    seen: list[int] = []
    for _ in range(10):
        at = pages.request(cursor, 3 if cursor else None)
        served = list(range(10))[(at.page - 1) * at.size :][: at.size]
        seen += served[at.skip :]
        cursor = at.next_cursor(len(served))
        if cursor is None:
            break
    assert seen == list(range(10))


# -- over HTTP, with the guide's Acme plugin ------------------------------------------------


@pytest.fixture
def acme() -> Iterator[Registry]:
    """A registry holding only the guide's Acme plugin, imported from docs/examples/acme.

    Any other ``runbridge_acme`` (an installed one) is set aside and put back after.
    """
    mine = ("runbridge_acme", "runbridge_acme.")
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if name.startswith(mine)}
    sys.path.insert(0, str(EXAMPLE))
    try:
        registry = Registry(entry_points=False)
        registry.register_plugin(importlib.import_module("runbridge_acme"), name="acme")
        yield registry
    finally:
        sys.path.remove(str(EXAMPLE))
        for name in [name for name in sys.modules if name.startswith(mine)]:
            del sys.modules[name]
        sys.modules.update(saved)


async def _jobs(
    client: RunClient, target: str, advance: Callable[[float], None], n: int
) -> list[str]:
    for i in range(n):
        await client.create(target, inputs={"i": i})
        advance(1)
    return [str(run.ref) async for run in client.list(target=target)]


@pytest.mark.parametrize(("first", "then"), [(2, 3), (3, 2), (4, 1), (1, 6), (5, 5)])
async def test_a_page_number_listing_resumes_with_another_page_size(
    acme: Registry, first: int, then: int
) -> None:
    async with emulated_client("acme", registry=acme) as (client, emulator):
        assert client.capabilities.pagination is Pagination.PAGE
        every = await _jobs(client, emulator.default_target, emulator.advance, 11)
        assert len(every) == 11
        page = await client.list_page(target=emulator.default_target, page_size=first)
        assert page.next_cursor is not None
        rest = client.list(target=emulator.default_target, page_size=then, cursor=page.next_cursor)
        pages = [p async for p in rest.pages()]
    assert all(len(p.items) <= then for p in pages)
    seen = [str(r.ref) for r in page.items] + [str(r.ref) for p in pages for r in p.items]
    assert seen == every
    assert pages[-1].next_cursor is None


async def test_a_resumed_listing_asks_for_the_page_holding_the_cursor(acme: Registry) -> None:
    async with emulated_client("acme", registry=acme) as (client, emulator):
        target = emulator.default_target
        every = await _jobs(client, target, emulator.advance, 7)
        first = await client.list_page(target=target, page_size=2)
        assert first.next_cursor is not None
        before = len(emulator.log)
        short = await client.list_page(target=target, page_size=3, cursor=first.next_cursor)
        assert short.next_cursor is not None
        aligned = await client.list_page(target=target, page_size=3, cursor=short.next_cursor)
        asked = [(r.param("page"), r.param("per_page")) for r in sent(emulator, "GET", "/v1/jobs")]
    # Page 1 of three again with its first two runs dropped, then page 2 of three.
    assert asked[-2:] == [("1", "3"), ("2", "3")] and len(emulator.log) == before + 2
    assert [str(r.ref) for r in short.items] == every[2:3]
    assert [str(r.ref) for r in aligned.items] == every[3:6]
