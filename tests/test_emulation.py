"""Emulator behaviour shared through the base class, for every emulator."""

from __future__ import annotations

from typing import Any, ClassVar

import aiohttp
import pytest

import runbridge
from memo_plugin.emulator import MemoEmulator
from runbridge.emulation import NativeStatuses, Plan, Timeline
from runbridge.testing import load_emulator

SHAPES = {
    "memo": lambda body: "error" in body,
    "cyberdesk": lambda body: isinstance(body.get("detail"), str),
    "kognitos": lambda body: body.get("status_code") in (404, 405) and "message" in body,
    "runflow": lambda body: body.get("code") in ("NOT_FOUND", "METHOD_NOT_ALLOWED", "ERROR"),
}


@pytest.fixture
def provider() -> str:
    return "memo"


@pytest.mark.parametrize("provider", list(SHAPES))
async def test_unrouted_requests_get_the_providers_error_shape(provider: str) -> None:
    emulator = load_emulator(provider)
    adapter = next(p.adapter for p in runbridge.providers() if p.name == provider)
    auth = adapter().auth_headers(emulator.token)
    async with emulator.serve() as base_url, aiohttp.ClientSession(headers=auth) as session:
        for method, path, status in (("GET", "/no/such/path", 404), ("PUT", "/v1/runs", 405)):
            if provider in ("memo", "kognitos") and status == 405:
                path = "/runs" if provider == "memo" else "/v2/runs"
            url = base_url.split("/v2")[0] + path
            async with session.request(method, url) as response:
                assert response.status == status, (method, path)
                assert response.content_type == "application/json"
                assert SHAPES[provider](await response.json())


async def test_a_run_can_be_put_in_any_documented_native_status(
    client: runbridge.RunClient, memo: Any
) -> None:
    memo.plan_next(queued=100, running=100)
    run = await client.create("echo")
    for native, canonical in (
        ("ACTIVE", runbridge.RunStatus.RUNNING),
        ("QUEUED", runbridge.RunStatus.PENDING),
        ("TIMEOUT", runbridge.RunStatus.FAILED),
    ):
        memo.force_status(run.id, native)
        got = await client.get(run)
        assert (got.native_status, got.status) == (native, canonical)
    memo.advance(10_000)  # a pinned run no longer follows the clock
    assert (await client.get(run)).native_status == "TIMEOUT"


async def test_force_status_refuses_what_the_provider_never_documented(
    memo: Any, client: Any
) -> None:
    run = await client.create("echo")
    with pytest.raises(ValueError, match="not a documented memo status"):
        memo.force_status(run.id, "WARPED")
    memo.force_status(run.id, "WARPED", undocumented=True)
    got = await client.get(run)
    assert got.status is runbridge.RunStatus.UNKNOWN and got.native_status == "WARPED"
    with pytest.raises(KeyError):
        memo.force_status("nosuchrun000", "DONE")


def test_native_statuses_say_what_is_documented_and_terminal() -> None:
    statuses = NativeStatuses(
        pending=("queued", "dispatching"),
        running=("running",),
        succeeded="succeeded",
        failed={"task": "failed", "system": "failed", "timeout": "failed"},
        cancelled="canceled",
        extra={"partial_succeeded": "succeeded", "paused": "running"},
    )
    assert statuses.documented == (
        "queued",
        "dispatching",
        "running",
        "succeeded",
        "failed",
        "canceled",
        "partial_succeeded",
        "paused",
    )
    assert statuses.terminal == {"succeeded", "failed", "canceled", "partial_succeeded"}
    assert [statuses.phase_of(s) for s in ("dispatching", "paused", "partial_succeeded")] == [
        "pending",
        "running",
        "finished",
    ]
    timeline = Timeline(0.0, Plan(queued=10, running=10))
    assert [statuses.at(timeline, t) for t in (0, 4.9, 5, 12, 25)] == [
        "queued",
        "queued",
        "dispatching",
        "running",
        "succeeded",
    ]
    assert [statuses.meaning(s) for s in ("dispatching", "paused", "failed", "nope")] == [
        "pending",
        "running",
        "failed",
        None,
    ]
    with pytest.raises(ValueError, match="extra maps each status"):
        NativeStatuses(
            pending=("a",),
            running=("b",),
            succeeded="c",
            cancelled="d",
            failed={"task": "e", "system": "e", "timeout": "e"},
            extra={"z": "finished"},  # type: ignore[dict-item]
        )


def test_extras_are_named_and_off_by_default() -> None:
    class Extra(MemoEmulator):
        extras: ClassVar[dict[str, str]] = {"echo_inputs": "runs echo their inputs"}

    assert not Extra().extra("echo_inputs")
    assert Extra(extras={"echo_inputs"}).extra("echo_inputs")
    with pytest.raises(ValueError, match=r"no extra 'colour'.*echo_inputs"):
        Extra(extras={"colour"})
    with pytest.raises(KeyError):
        Extra().extra("colour")


async def test_the_request_log_masks_credentials_and_secret_fields() -> None:
    class Vaulted(MemoEmulator):
        secret_fields = frozenset({"secrets"})

    emulator = Vaulted()
    async with emulator.serve() as base_url, aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {emulator.token}", "X-Trace": "t-1"}
        body = {"target": "echo", "inputs": {"a": 1}, "secrets": {"pin": "4242"}}
        async with session.post(f"{base_url}/runs?x=1&x=2", json=body, headers=headers) as r:
            assert r.status == 201
    entry = emulator.log[-1]
    assert (entry.method, entry.path, entry.params("x")) == ("POST", "/runs", ["1", "2"])
    assert entry.header("authorization") == "***" and entry.header("X-Trace") == "t-1"
    assert entry.body["secrets"] == {"pin": "***"} and entry.body["inputs"] == {"a": 1}
    assert emulator.token not in repr(emulator.log) and "4242" not in repr(emulator.log)
    assert emulator.requests[-1] == ("POST", "/runs")


async def test_the_base_checks_the_declared_credential(memo: Any) -> None:
    async with memo.serve() as base_url, aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": memo.token}):
            async with session.get(f"{base_url}/runs", headers=headers) as response:
                assert response.status == 401
                assert (await response.json())["error"]["code"] == "UNAUTHENTICATED"


def test_a_run_pinned_back_to_pending_forgets_its_start_and_starts_again_when_running() -> None:
    timeline = Timeline(0.0, Plan(queued=1, running=100))
    assert timeline.started_at(50) == 1
    timeline.pin("QUEUED", "pending", 50)
    assert timeline.started_at(60) is None and timeline.phase(60) == "pending"
    timeline.pin("ACTIVE", "running", 70)
    assert timeline.started_at(80) == 70
    timeline.force("DONE", 90)
    assert (timeline.started_at(95), timeline.finished_at(95)) == (70, 90)
