"""``runbridge.emulation.RunStore`` and ``Paging``: records, pages in each style, replay.

A small emulator declared on the public API serves the store over real HTTP on
loopback: listings in each paging style, and a create that replays its first
answer for a repeated ``Idempotency-Key``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import aiohttp
import attrs
import pytest
from aiohttp import web

from runbridge.emulation import (
    BadCursor,
    BearerAuth,
    Emulator,
    IdempotencyCache,
    ManualClock,
    NativeStatuses,
    Paging,
    RunStore,
    Timeline,
    json_response,
    read_json,
)

STYLES = {"cursors": Paging.cursors(), "offsets": Paging.offsets("o{}"), "pages": Paging.pages()}


@attrs.define
class Job:
    id: str
    seq: int
    target: str
    inputs: dict[str, Any]
    timeline: Timeline


class Jobs(Emulator):
    """Jobs listed newest first, in a paging style of the test's choosing."""

    provider = "jobs"
    auth = BearerAuth()
    statuses = NativeStatuses(
        pending=("queued",),
        running=("working",),
        succeeded="done",
        failed={"task": "failed", "system": "failed", "timeout": "failed"},
        cancelled="stopped",
    )
    operations: ClassVar[dict[tuple[str, str], str]] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(clock=ManualClock(1_000_000.0), **kwargs)
        self.runs: RunStore[Job] = RunStore(
            self, order=lambda job: (-job.timeline.created, -job.seq), group=lambda job: job.target
        )

    @property
    def default_target(self) -> str:
        return "a"

    def unknown_id(self) -> str:
        return "nope"

    def seed_run(
        self,
        target: str,
        timeline: Timeline,
        *,
        inputs: dict[str, Any],
        name: str | None,
        options: dict[str, Any],
    ) -> str:
        job = Job(self.runs.new_id(), self.runs.next_seq(), target, inputs, timeline)
        return self.runs.add(job).id

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/jobs", self._create)
        app.router.add_get("/jobs/{style}", self._list)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        return await self.runs.once(
            request.headers.get("Idempotency-Key"),
            IdempotencyCache.fingerprint("POST", request.path, raw),
            lambda: self._make(request),
            conflict=lambda: self.error(409, "key reused"),
        )

    async def _make(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            return self.error(400, "not an object")
        target = str(body.get("target", "a"))
        job = Job(
            self.runs.new_id(), self.runs.next_seq(), target, body, self.runs.timeline(target)
        )
        self.runs.add(job)
        status = self.native_status(job.timeline)
        return json_response({"id": job.id, "status": status}, status=201)

    async def _list(self, request: web.Request) -> web.Response:
        query = request.query
        odd = query.get("odd") == "1"
        try:
            page = self.runs.page(
                STYLES[request.match_info["style"]],
                limit=int(query.get("limit", "2")),
                cursor=query.get("cursor"),
                group=query.get("target", "a"),
                where=(lambda job: job.inputs.get("n", 0) % 2 == 1) if odd else None,
                scope=f"{odd}/{query.get('limit')}",
            )
        except BadCursor as exc:
            return self.error(400, exc.reason)
        items = [job.id for job in page.items]
        return json_response({"items": items, "next": page.next, "total": page.total})


@pytest.fixture
async def served() -> AsyncIterator[tuple[Jobs, Callable[..., Any]]]:
    emulator = Jobs()
    headers = {"Authorization": f"Bearer {emulator.token}"}
    async with emulator.serve() as base, aiohttp.ClientSession(headers=headers) as session:

        async def call(method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
            async with session.request(method, base + path, **kwargs) as response:
                return response.status, await response.json()

        yield emulator, call


async def _create(call: Callable[..., Any], n: int, **kwargs: Any) -> str:
    status, body = await call("POST", "/jobs", json={"n": n}, **kwargs)
    assert status == 201
    return str(body["id"])


async def _walk(call: Callable[..., Any], style: str, params: dict[str, str]) -> list[str]:
    walked: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        query = {**params, **({"cursor": cursor} if cursor is not None else {})}
        status, page = await call("GET", f"/jobs/{style}", params=query)
        assert status == 200, page
        walked += page["items"]
        cursor = page["next"]
        if cursor is None:
            return walked
    raise AssertionError("the listing never ended")


@pytest.mark.parametrize("style", sorted(STYLES))
async def test_each_style_lists_newest_first_and_ends(served: Any, style: str) -> None:
    emulator, call = served
    made = []
    for n in range(7):
        made.append(await _create(call, n))
        emulator.advance(1)
    assert await _walk(call, style, {"limit": "3"}) == made[::-1]
    odd = [made[n] for n in (5, 3, 1)]
    assert await _walk(call, style, {"limit": "2", "odd": "1"}) == odd


async def test_cursors_never_repeat_or_skip_under_inserts(served: Any) -> None:
    emulator, call = served
    old = [await _create(call, n) for n in range(5)]  # created at the same instant
    _, first = await call("GET", "/jobs/cursors", params={"limit": "2"})
    emulator.advance(1)
    newer = await _create(call, 9)  # ahead of every listed job
    _, second = await call("GET", "/jobs/cursors", params={"limit": "2", "cursor": first["next"]})
    rest = await _walk(call, "cursors", {"limit": "2"})
    assert first["items"] + second["items"] == old[::-1][:4]
    assert rest == [newer, *old[::-1]]


async def test_offsets_shift_as_the_provider_does_and_still_end(served: Any) -> None:
    emulator, call = served
    for n in range(4):
        await _create(call, n)
        emulator.advance(1)
    _, first = await call("GET", "/jobs/offsets", params={"limit": "2"})
    assert first["next"] == "o2" and first["total"] == 4
    _, last = await call("GET", "/jobs/offsets", params={"limit": "2", "cursor": "o2"})
    assert last["next"] is None and len(last["items"]) == 2
    _, pages = await call("GET", "/jobs/pages", params={"limit": "3"})
    assert pages["next"] == "2" and pages["total"] == 4


@pytest.mark.parametrize(
    ("style", "cursor", "reason"),
    [
        ("cursors", "garbage", "forged"),
        ("cursors", "", "forged"),
        ("offsets", "x2", "forged"),
        ("pages", "0", "forged"),
    ],
)
async def test_a_cursor_not_issued_here_is_refused(
    served: Any, style: str, cursor: str, reason: str
) -> None:
    _, call = served
    await _create(call, 1)
    status, body = await call("GET", f"/jobs/{style}", params={"cursor": cursor})
    assert (status, body["message"]) == (400, reason)


async def test_a_cursor_belongs_to_its_query_and_group(served: Any) -> None:
    _, call = served
    for n in range(3):
        await _create(call, n)
    _, page = await call("GET", "/jobs/cursors", params={"limit": "1"})
    for other in ({"limit": "2"}, {"limit": "1", "odd": "1"}, {"limit": "1", "target": "b"}):
        status, body = await call("GET", "/jobs/cursors", params={**other, "cursor": page["next"]})
        assert (status, body["message"]) == (400, "scope"), other
    tampered = page["next"][:-2] + ("AA" if not page["next"].endswith("AA") else "BB")
    status, body = await call("GET", "/jobs/cursors", params={"limit": "1", "cursor": tampered})
    assert (status, body["message"]) == (400, "forged")


async def test_a_repeated_key_replays_the_first_answer(served: Any) -> None:
    emulator, call = served
    emulator.plan_next(queued=0, running=5)
    headers = {"Idempotency-Key": "k-1"}
    first = await call("POST", "/jobs", json={"n": 1}, headers=headers)
    emulator.advance(60)  # the job has finished since
    again = await call("POST", "/jobs", json={"n": 1}, headers=headers)
    assert first == again and first[1]["status"] == "working" and len(emulator.runs) == 1
    status, _ = await call("POST", "/jobs", json={"n": 2}, headers=headers)
    assert status == 409 and len(emulator.runs) == 1
    refused = await call("POST", "/jobs", json=[1], headers={"Idempotency-Key": "k-2"})
    assert refused[0] == 400  # an error is not remembered: the key stays free
    assert (await call("POST", "/jobs", json={"n": 3}, headers={"Idempotency-Key": "k-2"}))[
        0
    ] == 201
    assert len(emulator.runs) == 2


async def test_seeded_runs_list_by_creation_time_and_follow_the_clock(served: Any) -> None:
    emulator, call = served
    now = emulator.now()
    old = emulator.seed(created_at=now - 100, status="succeeded")
    running = emulator.seed(created_at=now - 1, status="running")
    made = await _create(call, 1)
    assert await _walk(call, "cursors", {"limit": "5"}) == [made, running, old]
    assert emulator.runs[made].timeline.created == now  # the store starts runs now
    assert emulator.native_status(emulator.runs[old].timeline) == "done"


def test_the_store_is_the_emulators_runs_mapping() -> None:
    emulator = Jobs()
    ids = [emulator.seed(created_at=emulator.now() - n) for n in range(3)]
    runs = emulator.runs
    assert list(runs) == ids and len(runs) == 3 and runs.get("nope") is None
    assert [job.id for job in runs.listed("a")] == ids
    del runs[ids[0]]
    assert [job.id for job in runs.listed("a")] == ids[1:]
    keyed = runs.add(Job("k", runs.next_seq(), "a", {}, runs.timeline("a")), key="key-1")
    assert runs.by_key("key-1") is keyed and runs.by_key("other") is None
    assert runs.listed("a")[0] is keyed  # created now: newest
    runs.clear()
    assert runs == {} and runs.listed("a") == [] and runs.by_key("key-1") is None
    with pytest.raises(ValueError, match="one"):
        Paging.offsets("o")
    with pytest.raises(TypeError, match="order"):
        RunStore(emulator).page(Paging.cursors(), limit=1)


def test_paging_over_plain_rows_reads_backwards_too() -> None:
    rows = list(range(10))
    paging = Paging.cursors(signed=False)
    first = paging.page(rows, limit=4, key=lambda row: row)
    second = paging.page(rows, limit=4, key=lambda row: row, cursor=first.next)
    assert (first.items, first.previous, second.items) == ([0, 1, 2, 3], None, [4, 5, 6, 7])
    back = paging.page(rows, limit=4, key=lambda row: row, cursor=second.previous, back=True)
    assert back.items == [0, 1, 2, 3] and back.previous is None and back.next is not None
    odd = paging.page(rows, limit=3, key=lambda row: row, where=lambda row: row % 2 == 1)
    assert odd.items == [1, 3, 5]
    with pytest.raises(BadCursor) as caught:
        paging.page(rows, limit=4, key=lambda row: row, cursor=first.next, scope="other")
    assert caught.value.reason == "scope"
