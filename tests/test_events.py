"""Run events: verification by ``parse_event`` and delivery by ``EventReceiver`` over HTTP.

Deliveries are signed here with each provider's scheme (Standard Webhooks through the
``standardwebhooks`` library for Cyberdesk, a hex HMAC for Runflow) and POSTed to a
receiver served on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest
from standardwebhooks.webhooks import Webhook

import runbridge
from runbridge import EventReceiver, EventRejected, RunClient, RunEvent, RunStatus

CD_SECRET = "whsec_" + base64.b64encode(b"cyberdesk-secret-one-0123456789").decode()
CD_SECRET_2 = "whsec_" + base64.b64encode(b"cyberdesk-secret-two-0123456789").decode()
RF_SECRET = "runflow-callback-secret-one"
RF_SECRET_2 = "runflow-callback-secret-two"
RUN_ID = "0190f1f2-3c4d-7e8f-9a0b-1c2d3e4f5a6b"
WORKFLOW_ID = "5f2c9a1e-0b7d-4c3a-9e8f-1a2b3c4d5e6f"


def cyberdesk_payload(event_id: str | None = None, status: str = "success") -> dict[str, Any]:
    """The documented ``RunCompletedEvent``: ``run`` has RunResponse's fields."""
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": "run_complete",
        "occurred_at": "2026-11-30T12:00:05Z",
        "run": {
            "id": RUN_ID,
            "workflow_id": WORKFLOW_ID,
            "machine_id": None,
            "status": status,
            "error": None,
            "output_data": {"total": 42},
            "input_values": {"invoice": "INV-1"},
            "created_at": "2026-11-30T12:00:00Z",
            "started_at": "2026-11-30T12:00:01Z",
            "ended_at": "2026-11-30T12:00:05Z",
        },
    }


def runflow_payload(event: str = "run.completed", status: str = "succeeded") -> dict[str, Any]:
    """The documented callback: ``+00:00`` timestamps."""
    return {
        "event": event,
        "run_id": RUN_ID,
        "status": status,
        "output": {"outputs": [{"type": "image", "url": "https://cdn.example/1.png"}]},
        "duration_ms": 4000,
        "created_at": "2026-11-30T12:00:00+00:00",
        "completed_at": "2026-11-30T12:00:05+00:00",
        "metadata": {"name": "nightly"},
    }


def sign_cyberdesk(
    body: bytes, secret: str = CD_SECRET, *, msg_id: str | None = None, at: float | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    when = datetime.fromtimestamp(int(time.time() if at is None else at), tz=UTC)
    signature = Webhook(secret).sign(msg_id, when, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def sign_runflow(
    body: bytes, secret: str = RF_SECRET, *, request_id: str | None = None
) -> dict[str, str]:
    return {
        "Runflow-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "Runflow-Request-Id": request_id or f"req_{uuid.uuid4().hex}",
        "content-type": "application/json",
    }


def client(provider: str, *secrets: str, **kwargs: Any) -> RunClient:
    return runbridge.connect(
        provider,
        token="t0ken-for-tests",
        base_url="http://127.0.0.1:9",
        webhook_secrets=list(secrets),
        **kwargs,
    )


async def rejected(c: RunClient, headers: dict[str, str], body: bytes, **kw: Any) -> str:
    with pytest.raises(EventRejected) as info:
        await c.parse_event(headers, body, **kw)
    return info.value.reason


# -- parse_event --------------------------------------------------------------------------


async def test_cyberdesk_run_complete_is_parsed() -> None:
    payload = cyberdesk_payload()
    body = orjson.dumps(payload)
    event = await client("cyberdesk", CD_SECRET).parse_event(sign_cyberdesk(body), body)
    assert event.id == payload["event_id"]
    assert event.type == "run_complete"
    assert event.provider == "cyberdesk"
    assert event.run.ref.id == RUN_ID
    assert event.run.status is RunStatus.SUCCEEDED
    assert event.run.outputs == {"total": 42}
    assert event.occurred_at == datetime(2026, 11, 30, 12, 0, 5, tzinfo=UTC)


async def test_cyberdesk_svix_headers_are_read_and_the_delivery_id_is_the_fallback() -> None:
    payload = cyberdesk_payload()
    del payload["event_id"]
    body = orjson.dumps(payload)
    headers = {k.replace("webhook-", "svix-"): v for k, v in sign_cyberdesk(body).items()}
    event = await client("cyberdesk", CD_SECRET).parse_event(headers, body)
    assert event.id == headers["svix-id"]


async def test_runflow_callback_is_a_partial_run() -> None:
    body = orjson.dumps(runflow_payload())
    headers = sign_runflow(body)
    event = await client("runflow", RF_SECRET).parse_event(headers, body)
    assert event.id == headers["Runflow-Request-Id"]
    assert event.type == "run.completed"
    run = event.run
    assert run.ref.id == RUN_ID
    assert run.status is RunStatus.SUCCEEDED
    assert run.name == "nightly"
    assert run.created_at == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert run.finished_at == datetime(2026, 11, 30, 12, 0, 5, tzinfo=UTC)
    assert run.outputs is not None and run.outputs["outputs"][0]["type"] == "image"


@pytest.mark.parametrize(
    ("event", "status", "expected"),
    [
        ("run.failed", "failed", RunStatus.FAILED),
        ("run.cancelled", "canceled", RunStatus.CANCELLED),
        ("run.partial_succeeded", "partial_succeeded", RunStatus.SUCCEEDED),
    ],
)
async def test_runflow_terminal_events(event: str, status: str, expected: RunStatus) -> None:
    payload = runflow_payload(event, status)
    if event == "run.failed":
        payload["output"] = {"code": "MODEL_ERROR", "message": "out of memory"}
    if event == "run.cancelled":
        payload["output"] = None
    body = orjson.dumps(payload)
    run = (await client("runflow", RF_SECRET).parse_event(sign_runflow(body), body)).run
    assert run.status is expected
    if expected is RunStatus.FAILED:
        assert run.failure is not None and run.failure.message == "out of memory"


async def test_runflow_batch_events_are_ignored() -> None:
    body = orjson.dumps({"event": "batch.completed", "batch_id": str(uuid.uuid4())})
    c = client("runflow", RF_SECRET)
    assert await rejected(c, sign_runflow(body), body) == "ignored"


async def test_forged_missing_stale_oversized_and_malformed_are_rejected() -> None:
    cd = client("cyberdesk", CD_SECRET, max_event_bytes=2048)
    body = orjson.dumps(cyberdesk_payload())
    assert await rejected(cd, sign_cyberdesk(body, CD_SECRET_2), body) == "signature"
    assert await rejected(cd, {"webhook-id": "x"}, body) == "headers"
    stale = sign_cyberdesk(body, at=time.time() - 3600)
    assert await rejected(cd, stale, body) == "stale"
    big = orjson.dumps({**cyberdesk_payload(), "pad": "x" * 4096})
    assert await rejected(cd, sign_cyberdesk(big), big) == "too_large"
    junk = b"[1, 2]"
    assert await rejected(cd, sign_cyberdesk(junk), junk) == "malformed"
    no_run = orjson.dumps({"event_id": "e", "event_type": "run_complete"})
    assert await rejected(cd, sign_cyberdesk(no_run), no_run) == "malformed"
    rf = client("runflow", RF_SECRET)
    rbody = orjson.dumps(runflow_payload())
    assert await rejected(rf, sign_runflow(rbody, "wrong"), rbody) == "signature"
    assert await rejected(rf, {"Runflow-Request-Id": "r"}, rbody) == "headers"
    tampered = rbody.replace(b"succeeded", b"failed")
    assert await rejected(rf, sign_runflow(rbody), tampered) == "signature"


async def test_each_secret_in_force_is_accepted() -> None:
    cd = client("cyberdesk", CD_SECRET, CD_SECRET_2)
    rf = client("runflow", RF_SECRET, RF_SECRET_2)
    for secret in (CD_SECRET, CD_SECRET_2):
        body = orjson.dumps(cyberdesk_payload())
        assert (await cd.parse_event(sign_cyberdesk(body, secret), body)).run.ref.id == RUN_ID
    for secret in (RF_SECRET, RF_SECRET_2):
        body = orjson.dumps(runflow_payload())
        assert (await rf.parse_event(sign_runflow(body, secret), body)).run.ref.id == RUN_ID


async def test_a_body_altered_into_invalid_utf8_is_refused_at_the_signature() -> None:
    # The signed text holds U+FFFD; the forgery sends one invalid byte in its place,
    # which a check over the body decoded with replacement characters would take as
    # the same text. The signature covers bytes, and these bytes were never signed.
    payload = cyberdesk_payload()
    payload["run"]["input_values"] = {"invoice": "INV-\ufffd"}
    body = orjson.dumps(payload)
    headers = sign_cyberdesk(body)
    flipped = body.replace("\ufffd".encode(), b"\xff")
    assert flipped != body
    cd = client("cyberdesk", CD_SECRET)
    assert await rejected(cd, headers, flipped) == "signature"
    assert (await cd.parse_event(headers, body)).run.inputs == {"invoice": "INV-\ufffd"}


async def test_the_replay_key_comes_from_what_the_signature_covers() -> None:
    rf = client("runflow", RF_SECRET)
    body = orjson.dumps(runflow_payload())
    first = await rf.parse_event(sign_runflow(body, request_id="req-a"), body)
    again = await rf.parse_event(sign_runflow(body, request_id="req-b"), body)
    assert (first.id, again.id) == ("req-a", "req-b")  # the id callers see is unchanged
    assert first.replay_key == again.replay_key == "sha256:" + hashlib.sha256(body).hexdigest()
    assert type(first.id) is str
    cd = client("cyberdesk", CD_SECRET)
    cbody = orjson.dumps(cyberdesk_payload())
    headers = sign_cyberdesk(cbody, msg_id="msg_one")
    event = await cd.parse_event(headers, cbody)
    assert event.replay_key == "webhook-id:msg_one"
    # A retry is signed again with a fresh timestamp and keeps its message id.
    retried = await cd.parse_event(
        sign_cyberdesk(cbody, msg_id="msg_one", at=time.time() - 60), cbody
    )
    assert retried.replay_key == event.replay_key


async def test_an_adapter_whose_verify_event_returns_a_plain_id_keeps_working() -> None:
    from memo_plugin.broken import registry_of
    from runbridge_runflow import RunflowAdapter

    class OlderRunflow(RunflowAdapter):
        """A plugin written before ``VerifiedId``: it returns the id as a plain str."""

        def verify_event(self, headers: Any, body: bytes, secrets: Any, **kw: Any) -> str:
            return str(super().verify_event(headers, body, secrets, **kw)).upper()

    rf = runbridge.connect(
        "runflow", token="t0ken-for-tests", base_url="http://127.0.0.1:9",
        webhook_secrets=[RF_SECRET], registry=registry_of(OlderRunflow),
    )  # fmt: skip
    body = orjson.dumps(runflow_payload())
    event = await rf.parse_event(sign_runflow(body, request_id="req-old"), body)
    assert event.id == "REQ-OLD"
    assert event.replay_key == "sha256:" + hashlib.sha256(body).hexdigest()  # signed bytes


async def test_kognitos_has_no_events_and_secrets_are_redacted() -> None:
    kognitos = runbridge.connect("kognitos", token="t0ken-for-tests", base_url="http://127.0.0.1:9")
    assert not kognitos.capabilities.events
    with pytest.raises(runbridge.UnsupportedOperation):
        await kognitos.parse_event({}, b"{}")
    with pytest.raises(runbridge.UnsupportedOperation):
        EventReceiver(kognitos)
    with pytest.raises(runbridge.ConfigError, match="webhook secret"):
        EventReceiver(client("runflow"))
    cd = client("cyberdesk", CD_SECRET)
    assert CD_SECRET not in repr(cd)
    masked = cd._channel.redactor.text(f"key {CD_SECRET} and {CD_SECRET.removeprefix('whsec_')}")
    assert CD_SECRET.removeprefix("whsec_") not in masked


# -- the receiver over HTTP -------------------------------------------------------------


@pytest.fixture
async def served() -> AsyncIterator[tuple[EventReceiver, str, aiohttp.ClientSession]]:
    receiver = EventReceiver(
        client("cyberdesk", CD_SECRET, CD_SECRET_2, max_event_bytes=4096),
        client("runflow", RF_SECRET, RF_SECRET_2),
    )
    async with receiver.serve("127.0.0.1", 0) as url, aiohttp.ClientSession() as session:
        yield receiver, url, session


async def post(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes
) -> int:
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        return response.status


async def next_event(receiver: EventReceiver) -> RunEvent:
    return await asyncio.wait_for(anext(aiter(receiver)), 10)


async def test_receiver_delivers_once_and_acknowledges_duplicates(served: Any) -> None:
    receiver, url, session = served
    body = orjson.dumps(cyberdesk_payload())
    headers = sign_cyberdesk(body)
    assert await post(session, url + "cyberdesk", headers, body) == 200
    assert (await next_event(receiver)).run.ref.id == RUN_ID
    assert await post(session, url + "cyberdesk", headers, body) == 200  # a redelivery
    rbody = orjson.dumps(runflow_payload())
    rheaders = sign_runflow(rbody, RF_SECRET_2)
    assert await post(session, url + "runflow", rheaders, rbody) == 200
    assert await post(session, url + "runflow", rheaders, rbody) == 200
    event = await next_event(receiver)
    assert event.provider == "runflow"  # the duplicate Cyberdesk event never came
    assert receiver._queue.empty()


async def test_a_runflow_replay_with_fresh_request_ids_is_delivered_once(served: Any) -> None:
    receiver, url, session = served
    body = orjson.dumps(runflow_payload())
    captured = sign_runflow(body)
    assert await post(session, url + "runflow", captured, body) == 200
    for _ in range(5):  # Runflow-Request-Id is not signed: a replayer picks a fresh one
        replayed = {**captured, "Runflow-Request-Id": f"req_{uuid.uuid4().hex}"}
        assert await post(session, url + "runflow", replayed, body) == 200
    assert (await next_event(receiver)).id == captured["Runflow-Request-Id"]
    assert receiver._queue.empty()


async def test_an_altered_invalid_utf8_cyberdesk_body_is_answered_401(served: Any) -> None:
    receiver, url, session = served
    payload = cyberdesk_payload()
    payload["run"]["input_values"] = {"invoice": "INV-\ufffd"}
    body = orjson.dumps(payload)
    flipped = body.replace("\ufffd".encode(), b"\xff")
    assert await post(session, url + "cyberdesk", sign_cyberdesk(body), flipped) == 401
    assert receiver._queue.empty()


async def test_receiver_refuses_bad_deliveries_and_delivers_nothing(served: Any) -> None:
    receiver, url, session = served
    body = orjson.dumps(cyberdesk_payload())
    big = orjson.dumps({**cyberdesk_payload(), "pad": "x" * 8192})
    cases = [
        (
            "cyberdesk",
            sign_cyberdesk(body, "whsec_" + base64.b64encode(b"forged" * 6).decode()),
            body,
            401,
        ),
        ("cyberdesk", {"content-type": "application/json"}, body, 400),
        ("cyberdesk", sign_cyberdesk(body, at=time.time() - 3600), body, 400),
        ("cyberdesk", sign_cyberdesk(big), big, 413),
        ("cyberdesk", sign_cyberdesk(b"not json"), b"not json", 400),
        ("runflow", sign_runflow(body, "forged"), body, 401),
        ("runflow", {"Runflow-Request-Id": "r1"}, body, 400),
        ("kognitos", sign_runflow(body), body, 404),
    ]
    for provider, headers, payload, status in cases:
        assert await post(session, url + provider, headers, payload) == status, provider

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: refused while reading
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    async with session.post(url + "cyberdesk", data=chunked(), headers=sign_cyberdesk(big)) as r:
        assert r.status == 413
    assert receiver._queue.empty()


async def test_receiver_acknowledges_ignored_events_without_delivering(served: Any) -> None:
    receiver, url, session = served
    body = orjson.dumps({"event": "batch.completed", "batch_id": str(uuid.uuid4())})
    assert await post(session, url + "runflow", sign_runflow(body), body) == 200
    assert receiver._queue.empty()


async def test_receiver_callbacks_and_a_failing_callback() -> None:
    receiver = EventReceiver(client("runflow", RF_SECRET), remember=2)
    got: list[RunEvent] = []
    fail = [True]

    @receiver.on_event
    async def record(event: RunEvent) -> None:
        if fail[0]:
            fail[0] = False
            raise RuntimeError("downstream is down")
        got.append(event)

    async with receiver.serve("127.0.0.1", 0) as url, aiohttp.ClientSession() as session:
        body = orjson.dumps(runflow_payload())
        headers = sign_runflow(body, request_id="req-1")
        assert await post(session, url + "runflow", headers, body) == 500  # not accepted
        assert await post(session, url + "runflow", headers, body) == 200  # redelivered
        assert await post(session, url + "runflow", headers, body) == 200  # duplicate
        assert [e.id for e in got] == ["req-1"]
        for n in range(3):  # three other events: remember=2 forgets the first
            other = orjson.dumps({**runflow_payload(), "duration_ms": n})
            status = await post(session, url + "runflow", sign_runflow(other), other)
            assert status == 200
        assert len(got) == 4
        assert len(receiver._seen) == 2
        assert await post(session, url + "runflow", headers, body) == 200  # forgotten: again
        assert len(got) == 5


async def test_receiver_mounts_in_an_application() -> None:
    from aiohttp import web

    receiver = EventReceiver(client("runflow", RF_SECRET))
    app = web.Application()
    app.add_subapp("/hooks/", receiver.app())
    app.router.add_post("/runflow-callback", receiver.handler("runflow"))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            for n, path in enumerate(("/hooks/runflow", "/runflow-callback")):
                body = orjson.dumps({**runflow_payload(), "duration_ms": n})
                status = await post(
                    session, f"http://127.0.0.1:{port}{path}", sign_runflow(body), body
                )
                assert status == 200
        assert (await next_event(receiver)).run.ref.id == RUN_ID
        assert (await next_event(receiver)).run.ref.id == RUN_ID
    finally:
        await runner.cleanup()


# -- runbridge listen ---------------------------------------------------------------------


async def test_the_listen_command_prints_verified_events_as_json_lines() -> None:
    env = {**os.environ, "RUNBRIDGE_TOKEN": "t0ken-for-tests", "RF_HOOK_SECRET": RF_SECRET}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "runbridge", "listen", "--provider", "runflow",
        "--base-url", "http://127.0.0.1:9", "--secret-env", "RF_HOOK_SECRET",
        "--port", "0", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        first = orjson.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        url = first["listening"]
        assert url.endswith("/runflow")
        body = orjson.dumps(runflow_payload())
        async with aiohttp.ClientSession() as session:
            assert await post(session, url, sign_runflow(body, "forged"), body) == 401
            assert await post(session, url, sign_runflow(body, request_id="req-cli"), body) == 200
        line = orjson.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        assert line["event_id"] == "req-cli"
        assert line["provider"] == "runflow"
        assert line["run"]["status"] == "succeeded"
        assert RF_SECRET not in str(line)
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl+C arrives as a console event")
async def test_the_listen_command_exits_130_on_ctrl_c_and_0_on_sigterm() -> None:
    env = {**os.environ, "RUNBRIDGE_TOKEN": "t0ken-for-tests", "RF_HOOK_SECRET": RF_SECRET}
    codes = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "runbridge", "listen", "--provider", "runflow",
            "--base-url", "http://127.0.0.1:9", "--secret-env", "RF_HOOK_SECRET",
            "--port", "0", "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env,
        )  # fmt: skip
        assert proc.stdout is not None
        try:
            assert "listening" in orjson.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
            proc.send_signal(sig)
            codes.append(await asyncio.wait_for(proc.wait(), 30))
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert codes == [130, 0]


async def test_a_profile_names_its_webhook_secrets_by_environment_variable() -> None:
    config = runbridge.parse_config(
        {
            "profiles": {
                "hooks": {
                    "provider": "runflow",
                    "token_env": "RF_TOKEN",
                    "base_url": "http://127.0.0.1:9",
                    "settings": {"webhook_secrets_env": "RF_HOOKS"},
                },
                "literal": {
                    "provider": "runflow",
                    "token_env": "RF_TOKEN",
                    "settings": {"webhook_secrets": RF_SECRET},
                },
            }
        }
    )
    environ = {"RF_TOKEN": "t0ken-for-tests", "RF_HOOKS": f"{RF_SECRET}, {RF_SECRET_2}"}
    c = runbridge.connect(profile="hooks", config=config, environ=environ)
    for secret in (RF_SECRET, RF_SECRET_2):
        body = orjson.dumps(runflow_payload())
        assert (await c.parse_event(sign_runflow(body, secret), body)).run.ref.id == RUN_ID
    assert RF_SECRET_2 not in c._channel.redactor.text(f"leaked {RF_SECRET_2}")
    with pytest.raises(runbridge.ConfigError, match="webhook_secrets_env"):
        runbridge.connect(profile="literal", config=config, environ=environ)
