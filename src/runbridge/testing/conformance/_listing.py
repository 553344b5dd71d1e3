"""Listing: every page once, cursors that resume (with any page size), filters, and
arguments checked before the wire.

A cursor that never advances fails these tests quickly: the core refuses a listing
that would not end (``ResponseError``), and the kit's time limit catches the rest.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ... import InvalidRequest, RunClient, RunStatus
from ...emulation import Emulator
from ._base import ConformanceBase


class ListConformance(ConformanceBase):
    """``list`` and ``list_page``: pages, cursors, filters and their checks."""

    async def test_list_walks_every_page_once(self, client: RunClient, target: str) -> None:
        created = {(await client.create(target, inputs={"i": i})).ref for i in range(5)}
        pages = [page async for page in client.list(target=target, page_size=2).pages()]
        seen = [run.ref for page in pages for run in page.items]
        assert len(seen) == len(set(seen))
        assert created <= set(seen)
        assert len(pages) >= 3
        assert pages[-1].next_cursor is None

    async def test_list_resumes_from_a_cursor(self, client: RunClient, target: str) -> None:
        for i in range(4):
            await client.create(target, inputs={"i": i})
        first = await client.list_page(target=target, page_size=2)
        assert first.next_cursor is not None
        resumed = client.list(target=target, page_size=2, cursor=first.next_cursor)
        rest = [run.ref async for run in resumed]
        all_refs = [run.ref async for run in client.list(target=target, page_size=2)]
        assert [r.ref for r in first.items] + rest == all_refs

    async def test_list_resumes_with_another_page_size(
        self, client: RunClient, target: str
    ) -> None:
        for i in range(7):
            await client.create(target, inputs={"i": i})
        everything = [run.ref async for run in client.list(target=target)]
        for size, then in ((2, 3), (3, 2)):
            first = await client.list_page(target=target, page_size=size)
            assert first.next_cursor is not None
            rest = client.list(target=target, page_size=then, cursor=first.next_cursor)
            walked = [run.ref for run in first.items] + [run.ref async for run in rest]
            repeated = {ref for ref in walked if walked.count(ref) > 1}
            lost = set(everything) - set(walked)
            assert not repeated and not lost, (
                f"a listing read {size} a page, resumed from its cursor {then} a page, "
                f"lost {len(lost)} and repeated {len(repeated)} of {len(everything)} runs: "
                "the adapter's cursor must say where the next run is, not which page is next"
            )

    async def test_list_filters_by_status(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(outcome=RunStatus.SUCCEEDED, queued=0, running=1)
        done = await client.create(target)
        emulator.advance(5)
        emulator.plan_next(queued=10_000)
        waiting = await client.create(target)
        succeeded = [r.ref async for r in client.list(target=target, status="succeeded")]
        pending = [r.ref async for r in client.list(target=target, status=RunStatus.PENDING)]
        assert done.ref in succeeded and waiting.ref not in succeeded
        assert waiting.ref in pending and done.ref not in pending

    async def test_list_filters_by_creation_time(self, client: RunClient, target: str) -> None:
        run = await client.create(target)
        assert run.created_at is not None
        later = run.created_at + timedelta(days=1)
        assert [r async for r in client.list(target=target, created_after=later)] == []
        before = [r.ref async for r in client.list(target=target, created_before=later)]
        assert run.ref in before

    async def test_bad_page_size_and_cursor_are_rejected_locally(
        self, client: RunClient, emulator: Emulator
    ) -> None:
        seen = len(emulator.requests)
        top = client.capabilities.max_page_size
        for size in (0, -1, top + 1):
            with pytest.raises(InvalidRequest) as caught:
                await client.list_page(page_size=size)
            assert caught.value.field == "page_size"
        with pytest.raises(InvalidRequest):
            await client.list_page(cursor="not-a-cursor")
        assert len(emulator.requests) == seen
