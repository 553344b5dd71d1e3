"""Runflow single creates happen exactly once, even when their answer is lost.

Each create carries a client token (``client_ref``, or ``metadata.runbridge_token``
when the caller set a ``client_ref``). After an ambiguous failure the adapter asks
the server for ``q=client_ref:"<token>"``; a server that refuses that filter, or
ignores it, is scanned instead. Never a second run, never a failure for a run
that exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from aiohttp import web

from runbridge import CreateUnconfirmed, ProviderUnavailable, RetryPolicy, RunClient
from runbridge.testing import emulated_client, testing_options
from runbridge_runflow.emulator import RunflowEmulator
from support import sent

NO_CLIENT_REF = RunflowEmulator(token="t").query_fields - {"client_ref"}
"""What ``q`` may filter on for a server that cannot search by ``client_ref``."""


@pytest.fixture
def provider() -> str:
    return "runflow"


def lookups(emulator: RunflowEmulator) -> list[str | None]:
    """The ``q`` of every listing request, in order."""
    return [r.param("q") for r in sent(emulator, "GET", "/runs")]


async def test_a_create_answered_503_is_sent_again_without_a_lookup(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.inject(503)  # "unavailable": the request was not handled
    run = await client.create(emulator.default_target)
    posts = sent(emulator, "POST")
    assert len(posts) == 2
    assert posts[0].body["client_ref"] == posts[1].body["client_ref"] == run.raw["client_ref"]
    assert lookups(emulator) == []
    assert list(emulator.runs) == [run.id]


async def test_a_create_answered_500_is_looked_for_until_its_settle_window_has_passed(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    # A 500 may come after the run was made, and the listing may lag: the run is
    # looked for, and the create sent again only once a look that started after the
    # settle window found nothing.
    emulator.inject(500)
    run = await client.create(emulator.default_target)
    posts = sent(emulator, "POST")
    assert len(posts) == 2
    assert posts[0].body["client_ref"] == posts[1].body["client_ref"] == run.raw["client_ref"]
    assert lookups(emulator) == [f'client_ref:"{run.raw["client_ref"]}"'] * 2
    assert list(emulator.runs) == [run.id]


async def test_a_create_answered_504_is_not_sent_again_before_its_settle_window_passes(
    emulator: RunflowEmulator,
) -> None:
    # A gateway timed out: Runflow may still be making the run. Looked up, not resent
    # while the window is open; resolve() says "none" only once it has passed.
    options = testing_options(deadline=0.5, settle_window=2.0)
    async with emulated_client("runflow", emulator=emulator, options=options) as (client, _):
        emulator.inject(504)
        with pytest.raises(CreateUnconfirmed) as caught:
            await client.create(emulator.default_target)
        assert len(sent(emulator, "POST")) == 1 and emulator.runs == {}
        assert len(lookups(emulator)) >= 1
        with pytest.raises(CreateUnconfirmed):
            await client.resolve(caught.value.token)
        assert await client.resolve(caught.value.token, timeout=10) is None
    assert len(sent(emulator, "POST")) == 1


async def test_single_creates_give_up_after_the_last_attempt(emulator: RunflowEmulator) -> None:
    options = testing_options(retry=RetryPolicy.testing(attempts=2))
    async with emulated_client("runflow", emulator=emulator, options=options) as (client, _):
        emulator.inject(503, times=10)
        with pytest.raises(ProviderUnavailable):
            await client.create(emulator.default_target)
    assert emulator.runs == {}


async def test_a_lost_answer_is_found_by_client_ref(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.inject_fault("reset_after")  # created, but the answer never arrives
    run = await client.create(emulator.default_target, inputs={"n": 1})
    assert list(emulator.runs) == [run.id] and len(sent(emulator, "POST")) == 1
    assert lookups(emulator) == [f'client_ref:"{run.raw["client_ref"]}"']
    assert (run.target, run.inputs) == (emulator.default_target, {"n": 1})


@pytest.mark.parametrize("target", ["id", "path"])
async def test_a_server_that_refuses_the_filter_is_scanned(target: str) -> None:
    emulator = RunflowEmulator(query_fields=NO_CLIENT_REF)
    # A fresh client has never seen the model's id: a path target cannot be
    # filtered server-side, so the scan reads every recent run.
    wanted = (
        emulator.default_target if target == "id" else emulator.path_of(emulator.default_target)
    )
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        earlier = await client.create(emulator.add_model("acme/other"))
        emulator.inject_fault("reset_after")
        run = await client.create(wanted, inputs={"n": 2})
        assert set(emulator.runs) == {earlier.id, run.id}
        assert len(sent(emulator, "POST")) == 2
        refused, scan = lookups(emulator)
        assert refused == f'client_ref:"{run.raw["client_ref"]}"'
        model_id = emulator.default_target.split("/")[1]
        assert scan == (f"model_id:{model_id}" if target == "id" else None)
        assert (run.target, run.inputs) == (emulator.default_target, {"n": 2})
        # The recovered run taught the client the path's id: the path now lists.
        listed = [r.ref async for r in client.list(target=wanted)]
        assert listed == [run.ref]


async def test_an_absent_run_is_created_once_after_a_scan() -> None:
    emulator = RunflowEmulator(query_fields=NO_CLIENT_REF)
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        emulator.inject(503)  # nothing created
        run = await client.create(emulator.default_target)
    assert list(emulator.runs) == [run.id]
    assert len(sent(emulator, "POST")) == 2


class IgnoresClientRef(RunflowEmulator):
    """A hostile server: it ignores a ``client_ref`` filter (and the sort) instead of refusing."""

    def listing(
        self, request: web.Request, rows: Sequence[tuple[int, Any]], **kwargs: Any
    ) -> web.Response:
        if "client_ref" in request.query.get("q", ""):
            query = {k: v for k, v in request.query.items() if k != "q"}
            query["sort_by"] = "created_at:asc"
            request = request.clone(rel_url=request.rel_url.with_query(query))
        return super().listing(request, rows, **kwargs)


async def test_a_server_that_ignores_the_filter_is_scanned() -> None:
    emulator = IgnoresClientRef()
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        others = [await client.create(emulator.default_target) for _ in range(10)]
        emulator.inject_fault("reset_after")
        run = await client.create(emulator.default_target, inputs={"n": 3})
    # The lookup's page held ten runs, none of them this one: not taken for it.
    assert run.ref not in {o.ref for o in others} and run.inputs == {"n": 3}
    assert len(emulator.runs) == 11 and len(sent(emulator, "POST")) == 11
    model_id = emulator.default_target.split("/")[1]
    assert lookups(emulator)[-2:] == [
        f'client_ref:"{run.raw["client_ref"]}"',
        f"model_id:{model_id}",
    ]


async def test_a_callers_client_ref_keeps_the_token_in_metadata(
    client: RunClient, emulator: RunflowEmulator
) -> None:
    emulator.inject_fault("reset_after")
    run = await client.create(emulator.default_target, client_ref="order-7")
    assert list(emulator.runs) == [run.id] and len(sent(emulator, "POST")) == 1
    assert run.raw["client_ref"] == "order-7"
    assert run.raw["metadata"]["runbridge_token"]
    # No server search by the caller's client_ref: it need not be unique.
    model_id = emulator.default_target.split("/")[1]
    assert lookups(emulator) == [f"model_id:{model_id}"]


async def test_a_listing_that_leaves_out_the_token_is_read_again() -> None:
    # Every field is nullable: a scanned record without client_ref and metadata
    # cannot say it is not ours, so it is read again rather than missed.
    emulator = RunflowEmulator(query_fields=NO_CLIENT_REF)
    async with emulated_client("runflow", emulator=emulator) as (client, _):
        emulator.inject_fault("reset_after")
        # The refused lookup uses the first up (a 422 has no runs); the scan gets the second.
        emulator.inject_fault("missing_fields", times=2)
        run = await client.create(emulator.default_target)
    assert emulator.fault_counts["missing_fields"] == 1
    assert list(emulator.runs) == [run.id] and len(sent(emulator, "POST")) == 1
    assert sent(emulator, "GET")[-1].path == f"/v1/runs/{run.id}"
