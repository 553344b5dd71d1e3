"""Emulators deliver run events: Runflow callbacks and Cyberdesk's Svix webhooks.

Deliveries are received over real HTTP by a plain aiohttp server and checked
with the schemes themselves (hmac for Runflow, the standardwebhooks library for
Cyberdesk); the last test also hands them to runbridge's own ``EventReceiver``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from runbridge import EventReceiver, RunEvent
from runbridge.emulation import DeliveryFaults, Plan, RealClock
from runbridge.testing import RawClient, emulated_client, raw_client
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from runbridge_runflow.emulator import RunflowEmulator
from support import cyberdesk_create, until

MODEL_RUNS = "/v1/models/acme/echo/v1/runs"


@attrs.define
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@attrs.define
class Receiver:
    """A webhook endpoint: records every POST and answers with the queued statuses."""

    url: str = ""
    got: list[Received] = attrs.field(factory=list)
    answers: deque[int] = attrs.field(factory=deque)

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append(Received(dict(request.headers), await request.read()))
        return web.Response(status=self.answers.popleft() if self.answers else 204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    hook.url = f"http://{host}:{port}/hook"
    yield hook
    await runner.cleanup()


def runflow_signed(emu: RunflowEmulator, got: Received) -> bool:
    expected = hmac.new(emu.callback_secret.encode(), got.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, got.headers["Runflow-Signature"])


def svix_verified(emu: CyberdeskEmulator, got: Received) -> Any:
    headers = {k.lower().replace("svix-", "webhook-"): v for k, v in got.headers.items()}
    return Webhook(emu.webhook_secret).verify(got.body, headers)


async def runflow_run(api: RawClient, url: str, **body: Any) -> str:
    status, run = await api("POST", MODEL_RUNS, json={"callback_url": url, **body})
    assert status == 201, run
    return str(run["id"])


# -- Runflow ----------------------------------------------------------------------------


async def test_runflow_posts_a_signed_callback_once_when_the_run_finishes(
    receiver: Receiver,
) -> None:
    emu = RunflowEmulator()
    async with raw_client(emu) as api:
        run_id = await runflow_run(api, receiver.url, metadata={"k": "v"})
        await runflow_run(api, receiver.url)  # a second run finishing at the same time
        emu.plan_next(queued=100, running=100)
        await runflow_run(api, receiver.url)
        assert await emu.deliver_due() == 0
        emu.advance(3)
        await until(lambda: len(receiver.got) == 2)
        await emu.deliver_due()
        emu.advance(1)
        await emu.deliver_due()
    got = next(g for g in receiver.got if g.json()["run_id"] == run_id)
    assert len(receiver.got) == 2
    assert runflow_signed(emu, got)
    assert got.headers["Runflow-Request-Id"] == emu.deliveries_of(run_id)[0].id
    body = got.json()
    assert set(body) == {
        "event", "run_id", "status", "output", "duration_ms", "created_at", "completed_at",
        "metadata",
    }  # fmt: skip
    assert body["event"] == "run.completed" and body["status"] == "succeeded"
    assert body["metadata"] == {"k": "v"} and body["duration_ms"] == 2000
    assert body["completed_at"].endswith("+00:00") and body["created_at"].endswith("+00:00")


@pytest.mark.parametrize(
    ("plan", "event", "output"),
    [
        (Plan(outcome="failed"), "run.failed", dict),
        (Plan(outcome="cancelled"), "run.cancelled", type(None)),
        (Plan(native="partial_succeeded"), "run.partial_succeeded", dict),
    ],
)
async def test_runflow_callback_events(
    receiver: Receiver, plan: Plan, event: str, output: type
) -> None:
    emu = RunflowEmulator()
    async with raw_client(emu) as api:
        emu.plan_next(plan)
        await runflow_run(api, receiver.url)
        emu.advance(5)
        await until(lambda: len(receiver.got) == 1)
    body = receiver.got[0].json()
    assert body["event"] == event
    assert isinstance(body["output"], output)


async def test_runflow_retries_non_2xx_with_backoff_and_lists_deliveries(
    receiver: Receiver,
) -> None:
    emu = RunflowEmulator()
    receiver.answers.extend([500, 503])
    async with raw_client(emu) as api:
        run_id = await runflow_run(api, receiver.url)
        emu.advance(3)
        await until(lambda: len(receiver.got) == 1)
        emu.advance(emu.delivery_backoff)
        await until(lambda: len(receiver.got) == 2)
        emu.advance(emu.delivery_backoff)  # the second retry waits twice as long
        await emu.deliver_due()
        assert len(receiver.got) == 2
        emu.advance(emu.delivery_backoff)
        await until(lambda: len(receiver.got) == 3)
        status, listed = await api("GET", f"/v1/runs/{run_id}/callback")
        assert status == 200
        assert [d["status"] for d in listed] == ["delivered"]
        assert listed[0]["attempts"] == 3 and listed[0]["response_status"] == 204
        ids = {g.headers["Runflow-Request-Id"] for g in receiver.got}
        assert ids == {listed[0]["id"]}

        status, again = await api("POST", f"/v1/runs/{run_id}/callback-redeliveries")
        assert status == 201 and again["id"] != listed[0]["id"]
        await until(lambda: len(receiver.got) == 4)
        assert receiver.got[3].headers["Runflow-Request-Id"] == again["id"]
        assert receiver.got[3].json() == receiver.got[0].json()
        status, listed = await api("GET", f"/v1/runs/{run_id}/callback")
        assert [d["id"] for d in listed] == [listed[0]["id"], again["id"]]


async def test_runflow_gives_up_after_the_last_attempt(receiver: Receiver) -> None:
    emu = RunflowEmulator()
    emu.delivery_attempts = 2
    receiver.answers.extend([500] * 5)
    async with raw_client(emu) as api:
        run_id = await runflow_run(api, receiver.url)
        emu.advance(3)
        await until(lambda: len(receiver.got) == 1)
        emu.advance(emu.delivery_backoff)
        await until(lambda: len(receiver.got) == 2)
        emu.advance(1000)
        await emu.deliver_due()
        _, listed = await api("GET", f"/v1/runs/{run_id}/callback")
    assert len(receiver.got) == 2
    assert listed[0]["status"] == "failed" and listed[0]["response_status"] == 500


async def test_runflow_redelivery_of_an_unfinished_run_is_refused(receiver: Receiver) -> None:
    emu = RunflowEmulator()
    async with raw_client(emu) as api:
        run_id = await runflow_run(api, receiver.url)
        status, body = await api("POST", f"/v1/runs/{run_id}/callback-redeliveries")
        assert status == 409, body
        status, listed = await api("GET", f"/v1/runs/{run_id}/callback")
        assert (status, listed) == (200, [])


async def test_runs_without_a_callback_url_send_nothing(receiver: Receiver) -> None:
    emu = RunflowEmulator()
    async with raw_client(emu) as api:
        status, _ = await api("POST", MODEL_RUNS, json={})
        assert status == 201
        emu.advance(10)
        assert await emu.deliver_due() == 0
    assert emu.deliveries == []


# -- Cyberdesk --------------------------------------------------------------------------


async def test_cyberdesk_sends_run_complete_signed_the_svix_way(receiver: Receiver) -> None:
    emu = CyberdeskEmulator(webhook_url=receiver.url)
    assert emu.webhook_secret.startswith("whsec_")
    async with raw_client(emu) as api:
        run = await cyberdesk_create(api)
        emu.advance(5)
        await until(lambda: len(receiver.got) == 1)
        _, fetched = await api("GET", f"/v1/runs/{run['id']}")
    got = receiver.got[0]
    event = svix_verified(emu, got)
    assert set(event) == {"event_id", "event_type", "occurred_at", "run"}
    assert event["event_type"] == "run_complete"
    assert event["run"]["id"] == run["id"] and event["run"]["status"] == "success"
    assert set(event["run"]) == set(run)
    assert event["run"]["ended_at"] == fetched["ended_at"]
    assert got.headers["svix-id"].startswith("msg_")
    assert got.headers["svix-signature"].startswith("v1,")


async def test_cyberdesk_retry_of_a_run_is_a_new_terminal_transition(receiver: Receiver) -> None:
    emu = CyberdeskEmulator(webhook_url=receiver.url, webhook_secret="whsec_" + "QUJD" * 8)
    async with raw_client(emu) as api:
        emu.plan_next(outcome="failed")
        run = await cyberdesk_create(api)
        emu.advance(5)
        await until(lambda: len(receiver.got) == 1)
        status, _ = await api("POST", f"/v1/runs/{run['id']}/retry", json={})
        assert status == 200
        emu.advance(5)
        await until(lambda: len(receiver.got) == 2)
    statuses = [svix_verified(emu, g)["run"]["status"] for g in receiver.got]
    assert statuses == ["task_failed", "success"]


async def test_cyberdesk_retries_with_the_same_message_id(receiver: Receiver) -> None:
    emu = CyberdeskEmulator(webhook_url=receiver.url)
    receiver.answers.append(502)
    async with raw_client(emu) as api:
        await cyberdesk_create(api)
        emu.advance(5)
        await until(lambda: len(receiver.got) == 1)
        emu.advance(emu.delivery_backoff)
        await until(lambda: len(receiver.got) == 2)
    first, second = receiver.got
    assert first.headers["svix-id"] == second.headers["svix-id"]
    assert first.body == second.body
    svix_verified(emu, second)
    assert emu.deliveries[0].state == "delivered"


# -- delivery faults --------------------------------------------------------------------


async def test_duplicate_sends_the_same_request_twice(receiver: Receiver) -> None:
    emu = CyberdeskEmulator(webhook_url=receiver.url)
    emu.inject_delivery_fault("duplicate")
    async with raw_client(emu) as api:
        await cyberdesk_create(api)
        emu.advance(5)
        await until(lambda: len(receiver.got) == 2)
    first, second = receiver.got
    assert first.headers["svix-id"] == second.headers["svix-id"] and first.body == second.body
    svix_verified(emu, second)


async def test_bad_signature_fails_verification_then_the_retry_is_signed(
    receiver: Receiver,
) -> None:
    emu = CyberdeskEmulator(webhook_url=receiver.url)
    emu.inject_delivery_fault("bad_signature")
    receiver.answers.append(400)
    async with raw_client(emu) as api:
        await cyberdesk_create(api)
        emu.advance(5)
        await until(lambda: len(receiver.got) == 1)
        emu.advance(emu.delivery_backoff)
        await until(lambda: len(receiver.got) == 2)
    with pytest.raises(WebhookVerificationError):
        svix_verified(emu, receiver.got[0])
    svix_verified(emu, receiver.got[1])


async def test_runflow_bad_signature(receiver: Receiver) -> None:
    emu = RunflowEmulator()
    emu.inject_delivery_fault("bad_signature")
    async with raw_client(emu) as api:
        await runflow_run(api, receiver.url)
        emu.advance(3)
        await until(lambda: len(receiver.got) == 1)
    assert not runflow_signed(emu, receiver.got[0])


async def test_late_waits_on_the_emulator_clock(receiver: Receiver) -> None:
    emu = RunflowEmulator()
    emu.delivery_faults = DeliveryFaults(late=1.0, late_seconds=60)
    async with raw_client(emu) as api:
        await runflow_run(api, receiver.url)
        emu.advance(3)
        await emu.deliver_due()
        assert receiver.got == []
        emu.advance(60)
        await until(lambda: len(receiver.got) == 1)
    assert emu.delivery_fault_counts["late"] == 1


async def test_out_of_order_goes_after_a_later_delivery(receiver: Receiver) -> None:
    emu = RunflowEmulator()
    emu.inject_delivery_fault("out_of_order")
    async with raw_client(emu) as api:
        emu.plan_next(queued=0, running=1)
        first = await runflow_run(api, receiver.url)
        emu.plan_next(queued=0, running=5)
        second = await runflow_run(api, receiver.url)
        emu.advance(2)
        await emu.deliver_due()
        assert receiver.got == []  # held back
        emu.advance(5)
        await until(lambda: len(receiver.got) == 2)
    assert [g.json()["run_id"] for g in receiver.got] == [second, first]


async def test_dropped_is_never_sent_but_listed_as_delivered(receiver: Receiver) -> None:
    emu = RunflowEmulator()
    emu.inject_delivery_fault("dropped")
    async with raw_client(emu) as api:
        run_id = await runflow_run(api, receiver.url)
        emu.advance(3)
        await until(lambda: len(emu.deliveries) == 1)
        assert await emu.deliver_due() == 0
        _, listed = await api("GET", f"/v1/runs/{run_id}/callback")
        assert listed[0]["status"] == "delivered" and listed[0]["attempts"] == 0
        status, _ = await api("POST", f"/v1/runs/{run_id}/callback-redeliveries")
        assert status == 201
        await until(lambda: len(receiver.got) == 1)
    assert runflow_signed(emu, receiver.got[0])


def test_unknown_delivery_fault_is_refused() -> None:
    with pytest.raises(ValueError, match="no delivery fault"):
        RunflowEmulator().inject_delivery_fault("lost")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="probability"):
        DeliveryFaults(duplicate=2)


async def test_a_real_clock_delivers_without_being_told(receiver: Receiver) -> None:
    emu = RunflowEmulator(clock=RealClock())
    emu.default_plan = Plan(queued=0, running=0)
    async with raw_client(emu) as api:
        run_id = await runflow_run(api, receiver.url)
        await until(lambda: len(receiver.got) == 1)
    assert receiver.got[0].json()["run_id"] == run_id
    assert runflow_signed(emu, receiver.got[0])


# -- signatures carry the wall clock --------------------------------------------------------


async def test_a_delivery_signed_far_ahead_of_the_wall_clock_still_verifies(
    receiver: Receiver,
) -> None:
    emu = CyberdeskEmulator(webhook_url=receiver.url)
    async with raw_client(emu) as api:
        await cyberdesk_create(api)
        emu.advance(600)  # emulator time runs ten minutes ahead of the wall clock
        await until(lambda: len(receiver.got) == 1)
    event = svix_verified(emu, receiver.got[0])  # the library checks against time.time()
    assert event["run"]["status"] == "success"


async def test_a_sped_up_emulator_signs_deliveries_that_verify(receiver: Receiver) -> None:
    # A hundred thousand times real time: minutes of emulator time pass in milliseconds.
    emu = CyberdeskEmulator(webhook_url=receiver.url, clock=RealClock(speed=100_000))
    async with raw_client(emu) as api:
        await cyberdesk_create(api)
        await until(lambda: len(receiver.got) == 1)
    svix_verified(emu, receiver.got[0])


async def test_runbridges_receiver_accepts_deliveries_of_an_emulator_far_ahead() -> None:
    emu = CyberdeskEmulator(clock=RealClock(speed=100_000))
    async with emulated_client("cyberdesk", emulator=emu, webhook_secrets=[emu.webhook_secret]) as (
        client,
        _,
    ):
        receiver = EventReceiver(client)
        got: list[RunEvent] = []
        receiver.on_event(got.append)
        async with receiver.serve() as url:
            emu.send_events_to(f"{url}cyberdesk")
            run = await client.create(emu.default_target)
            await until(lambda: bool(got))
    assert got[0].run.id == run.id and got[0].run.status.is_terminal
    assert [d.state for d in emu.deliveries] == ["delivered"]
