"""Secrets never leak: not the token, the Runflow admin key, nor sensitive inputs.

Each provider's emulator is served with a distinctive token and asked to fail in
every way a client can see: each error status with a body that echoes the token
and the secrets back (an echoing provider is the worst case), local validation,
refused secrets, connection refused, timeouts, malformed success bodies, waits
that time out, unsupported operations and illegal transitions. Every error text
and repr (the chained ones included), every repr of the objects a caller handles,
and every log record of ``runbridge`` at DEBUG is scanned.

Each secret starts with a distinctive eight-character core, and the scan looks for
the cores: a secret cut short before it was masked leaks as surely as a whole one.
"""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import orjson
import pytest

import runbridge
from fuzz_support import Steer, steerable
from runbridge import (
    BulkResult,
    ConfigError,
    File,
    IllegalTransition,
    InvalidRequest,
    ProviderUnavailable,
    ResponseError,
    RetryPolicy,
    Run,
    RunbridgeError,
    RunClient,
    RunRequest,
    UnsupportedOperation,
    WaitTimeout,
)
from runbridge.testing import emulated_client, testing_options
from support import PROVIDERS, list_target

CORES = {
    "token": "Zq81xLw0",
    "admin": "V5c8Tg1Y",
    "password": "Hk3v9QzT",
    "api_key": "N7b2Lm4X",
    "pin": "R8fJq2W5",
}
ADMIN = f"{CORES['admin']}-rf_svc_admin-key"
SECRETS = {
    "password": f"{CORES['password']}-correct-horse",
    "api_key": f"{CORES['api_key']}-sk-live",
    "vault": {"pin": f"{CORES['pin']}-0042"},
}
SECRET_VALUES = [SECRETS["password"], SECRETS["api_key"], SECRETS["vault"]["pin"]]

STATUSES = (400, 401, 403, 404, 409, 422, 429, 500, 502, 503)

GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 422: 3, 429: 8, 500: 13, 502: 14, 503: 14}
"""The gRPC code a Kognitos API ``rpcStatus`` carries with each HTTP status."""
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"

KOGNITOS_API_RUN = "organizations/org1/workspaces/ws1/automations/" + "a" * 21 + "/runs/run1"
"""A well-formed Kognitos API run id (its resource name)."""


def token_of(provider: str) -> str:
    return f"{CORES['token']}-tok-{provider}"


# -- the scan -----------------------------------------------------------------------------


@attrs.define
class Scan:
    """Texts a caller (or a log, or an error reporter) could see, searched for secrets."""

    texts: list[tuple[str, str]] = attrs.Factory(list)
    errors: int = 0

    def add(self, where: str, value: Any) -> None:
        self.texts.append((where, repr(value)))
        self.texts.append((where, str(value)))

    def error(self, where: str, exc: BaseException) -> None:
        self.errors += 1
        self.texts.append((where, "".join(traceback.format_exception(exc))))
        chain: list[BaseException | None] = [exc]
        seen: set[int] = set()
        while chain:
            current = chain.pop()
            if current is None or id(current) in seen:
                continue
            seen.add(id(current))
            self.add(where, current)
            self.add(f"{where}.args", current.args)
            for name in ("body", "field", "message", "run", "current", "requested"):
                if hasattr(current, name):
                    self.add(f"{where}.{name}", getattr(current, name))
            for note in getattr(current, "__notes__", ()):
                self.add(f"{where}.note", note)
            if isinstance(current, BaseExceptionGroup):
                chain.extend(current.exceptions)
            chain.extend((current.__cause__, current.__context__))

    def outcome(self, where: str, value: Any) -> None:
        if isinstance(value, BaseException):
            self.error(where, value)
            return
        self.add(where, value)
        if isinstance(value, BulkResult):
            for failure in value.errors:
                self.add(f"{where}.error", failure.message)
                if failure.error is not None:
                    self.error(f"{where}.error", failure.error)

    def logs(self, records: list[logging.LogRecord]) -> None:
        formatter = logging.Formatter()
        for record in records:
            self.texts.append(("log", record.getMessage()))
            self.texts.append(("log.args", repr(record.args)))
            self.texts.append(("log.formatted", formatter.format(record)))

    def leaks(self) -> list[str]:
        return [
            f"{name} leaks at {where}: ...{text[max(0, text.find(core) - 80) :][:200]}..."
            for where, text in self.texts
            for name, core in CORES.items()
            if core in text
        ]

    def assert_clean(self, caplog: pytest.LogCaptureFixture) -> None:
        self.logs(caplog.records)
        leaks = self.leaks()
        assert not leaks, "\n".join(leaks[:10])


async def attempt(action: Callable[[], Any]) -> Any:
    """The result of ``action`` (awaited), or the runbridge error it raised."""
    try:
        return await action()
    except RunbridgeError as exc:
        return exc


# -- serving ------------------------------------------------------------------------------


@attrs.define
class Served:
    provider: str
    client: RunClient
    emulator: Any
    live: Run
    done: Run

    @property
    def steer(self) -> Steer:
        steered: Steer = self.emulator
        return steered

    @property
    def token(self) -> str:
        return token_of(self.provider)

    @property
    def takes_secrets(self) -> bool:
        return self.client.capabilities.secrets

    def create_kwargs(self) -> dict[str, Any]:
        """A create with sensitive inputs where the provider vaults them."""
        return {
            "inputs": {"invoice": "INV-7"},
            **({"secrets": SECRETS} if self.takes_secrets else {}),
        }


def _emulator(provider: str) -> Any:
    extra = {"admin_token": ADMIN} if provider == "runflow" else {}
    return steerable(provider, token=token_of(provider), **extra)


@pytest.fixture
async def served(provider: str, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Served]:
    caplog.set_level(logging.DEBUG, logger="runbridge")
    emulator = _emulator(provider)
    options = testing_options(retry=RetryPolicy.never())
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        emulator.plan_next(queued=1e6)  # stays pending
        kwargs = {"secrets": SECRETS} if client.capabilities.secrets else {}
        live = await client.create(emulator.default_target, inputs={"n": 1}, **kwargs)
        done = await client.create(emulator.default_target, inputs={"n": 2}, **kwargs)
        emulator.advance(3600)
        served = Served(provider, client, emulator, live, done)
        try:
            yield served
        finally:
            served.steer.release()


def _echo(served: Served, status: int, *, secrets: bool) -> Any:
    """An error body in the provider's shape that repeats every credential it was sent."""
    token = served.token
    said = f"rejected Authorization: Bearer {token} (x-api-key {token})"
    if served.provider == "runflow":
        said += f" admin={ADMIN}"
    echoed: dict[str, Any] = {"authorization": f"Bearer {token}", "x_token": token}
    if secrets:
        said += f" with sensitive input {SECRETS['password']} / {SECRETS['vault']['pin']}"
        echoed |= {"input": SECRETS, "values": SECRET_VALUES, "sensitive_input_values": SECRETS}
    if served.provider == "cyberdesk":
        detail = [
            {"loc": ["body", "input_values"], "msg": said, "type": f"t_{token}", "input": echoed}
        ]
        return {"detail": detail if status in (400, 422) else said, "echo": echoed}
    if served.provider == "kognitos":
        details = [{"field": "inputs", "message": said, "echo": echoed}]
        return {"status_code": status, "message": said, "details": details}
    if served.provider == "kognitos-api":
        violations = [{"field": "inputs", "description": said}]
        details = [
            {"@type": BAD_REQUEST, "field_violations": violations},
            {"@type": ERROR_INFO, "reason": f"E_{token}", "metadata": echoed},
        ]
        return {"code": GRPC_CODES[status], "message": said, "details": details}
    errors = [{"loc": ["body", "input"], "msg": said, "input": echoed}]
    return {"code": f"E_{token}", "message": said, "errors": errors, "echo": echoed}


def _operations(served: Served) -> dict[str, tuple[str, Callable[[], Any]]]:
    """Every operation the provider has: the method of its last request, and the call."""
    client, emulator = served.client, served.emulator
    target = emulator.default_target
    secrets = {"secrets": SECRETS} if served.takes_secrets else {}
    listed = list_target(served.provider, target)
    ops: dict[str, tuple[str, Callable[[], Any]]] = {
        "get": ("GET", lambda: client.get(emulator.unknown_id())),
        "list": ("GET", lambda: client.list_page(target=listed, page_size=5)),
        "create": ("POST", lambda: client.create(target, **served.create_kwargs())),
        "create_many": (
            "POST",
            lambda: client.create_many(
                [
                    RunRequest(target=target, inputs={"n": i}, secrets=secrets.get("secrets", {}))
                    for i in range(2)
                ]
            ),
        ),
        "retry": ("POST", lambda: client.retry(served.done, **secrets)),
    }
    if served.provider in ("cyberdesk", "runflow"):
        ops["update"] = ("PATCH", lambda: client.update(served.live, outputs={"x": 1}))
        cancel_method = "PATCH" if served.provider == "cyberdesk" else "POST"
        ops["cancel"] = (cancel_method, lambda: client.cancel(served.live))
    if served.provider == "cyberdesk":
        ops["delete"] = ("DELETE", lambda: client.delete(emulator.unknown_id()))
    if client.capabilities.support("pause") is not runbridge.Support.UNSUPPORTED:
        ops["pause"] = ("POST", lambda: client.pause(served.live, reason="checking"))
    if client.capabilities.support("resume") is not runbridge.Support.UNSUPPORTED:
        ops["resume"] = ("POST", lambda: client.resume(served.live))
    return ops


def _answer(served: Served, method: str, status: int, body: Any) -> None:
    served.steer.answer(orjson.dumps(body), status=status, method=method)


# -- error responses that echo the credentials --------------------------------------------


async def test_echoing_error_bodies_are_redacted(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    scan = Scan()
    for name, (method, call) in _operations(served).items():
        carries_secrets = served.takes_secrets and name in ("create", "create_many", "retry")
        for status in STATUSES:
            for body in (_echo(served, status, secrets=carries_secrets), f"proxy: {served.token}"):
                _answer(served, method, status, body)
                outcome = await attempt(call)
                served.steer.answers.clear()
                scan.outcome(f"{name} {status}", outcome)
                if isinstance(outcome, RunbridgeError) and name != "create_many":
                    # The echo arrived and was masked: the scan below has something to find.
                    assert outcome.status == status, outcome
                    assert "***" in repr(outcome.body) + str(outcome), outcome
    assert scan.errors >= len(STATUSES) * 2 * 4
    scan.assert_clean(caplog)


# -- errors raised before anything is sent ------------------------------------------------


async def test_local_errors_are_redacted(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    client, emulator = served.client, served.emulator
    target = emulator.default_target
    scan = Scan()
    calls: list[Callable[[], Any]] = [
        lambda: client.create("not/a/valid?target", inputs={"a": 1}, secrets=SECRETS),
        lambda: client.create(target, secrets=SECRETS, bogus_option=SECRETS["password"]),
        lambda: client.create(
            target, secrets=SECRETS, files=[File("a", content=b"x"), File("b", id="y")]
        ),
        lambda: client.create_many([RunRequest(target=target, secrets=SECRETS)] * 2, concurrency=0),
        lambda: client.create_many([RunRequest(target="../x", secrets=SECRETS)]),
        lambda: client.retry(served.done, secrets=SECRETS, bogus=1),
        lambda: client.list_page(target=list_target(served.provider, target), cursor=served.token),
    ]
    for call in calls:
        scan.outcome("local", await attempt(call))
    if not served.takes_secrets:
        # Kognitos and Runflow have no vault: the refusal itself must not repeat the values.
        refused = await attempt(lambda: client.create(target, inputs={"a": 1}, secrets=SECRETS))
        assert isinstance(refused, InvalidRequest) and refused.field == "secrets"
        batch = [RunRequest(target=target, secrets=SECRETS)]
        assert isinstance(await attempt(lambda: client.create_many(batch)), InvalidRequest)
        scan.outcome("refused", refused)
    assert scan.errors >= 6
    scan.assert_clean(caplog)


def test_configuration_errors_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    scan = Scan()
    attempts: list[Callable[[], Any]] = [
        lambda: runbridge.connect(
            "runflow", token=token_of("runflow"), admin_token=ADMIN, bogus=ADMIN
        ),
        lambda: runbridge.connect(
            "runflow", token=token_of("runflow"), admin_token=ADMIN, base_url="ftp://x"
        ),
        lambda: runbridge.connect(
            "runflow", token=token_of("runflow"), admin_token=ADMIN, base_url="http://example.com"
        ),
        lambda: runbridge.connect("kognitos", token=token_of("kognitos"), region="mars"),
        lambda: runbridge.connect("kognitos-api", token=token_of("kognitos-api"), region="mars"),
        lambda: runbridge.connect(
            "kognitos-api",
            token=token_of("kognitos-api"),
            organization=token_of("kognitos-api") + "/x",
        ),
        lambda: runbridge.connect(
            "cyberdesk", token=token_of("cyberdesk"), workspace=token_of("cyberdesk")
        ),
        lambda: runbridge.connect("nope", token=token_of("cyberdesk")),
    ]
    for make in attempts:
        with pytest.raises(ConfigError) as caught:
            make()
        scan.error("config", caught.value)
    scan.assert_clean(caplog)


# -- transport failures -------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connection_refused_is_redacted(
    provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="runbridge")
    extra = {"admin_token": ADMIN} if provider == "runflow" else {}
    options = testing_options(retry=RetryPolicy.testing(attempts=3))
    client = runbridge.connect(
        provider,
        token=token_of(provider),
        base_url=f"http://127.0.0.1:{_closed_port()}",
        options=options,
        **extra,
    )
    scan = Scan()
    async with client:
        scan.add("client", client)
        outcome = await attempt(lambda: client.get(client.ref(f"{provider}:{_any_id(provider)}")))
        assert isinstance(outcome, ProviderUnavailable)
        scan.outcome("refused", outcome)
    assert any("attempt" in r.getMessage() for r in caplog.records)  # the retries were logged
    scan.assert_clean(caplog)


def _any_id(provider: str) -> str:
    if provider == "kognitos":
        return "z3gjzl7v090n4nkuypyy4immb"
    if provider == "kognitos-api":
        return KOGNITOS_API_RUN
    return "0b9c8d62-3f1e-4c55-9a3e-6f0d2c1b7a90"


async def test_timeouts_are_redacted(provider: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="runbridge")
    emulator = _emulator(provider)
    options = testing_options(retry=RetryPolicy.testing(attempts=2), timeout=0.25)
    scan = Scan()
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        emulator.stall()
        try:
            outcome = await attempt(lambda: client.get(emulator.unknown_id()))
        finally:
            emulator.release()
        assert emulator.stalled.is_set()
        assert isinstance(outcome, ProviderUnavailable), outcome
        scan.outcome("timeout", outcome)
    scan.assert_clean(caplog)


async def test_malformed_success_bodies_are_redacted(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    scan = Scan()
    token = served.token
    # Only credentials this client knows can be masked: the token (and Runflow's admin
    # key). Known keys are echoed as values; a token as a key is a separate, known case.
    known = f"{token} {ADMIN}" if served.provider == "runflow" else token
    bodies: list[bytes] = [
        f"<html>upstream token {known}</html>".encode(),
        b'{"id": "' + token.encode() + b'", "x": "' + known.encode() + b'"',
        orjson.dumps({"auth": known, "items": [{"x": token}], "next": token}),
        orjson.dumps({"id": f"{token}/../x", "status_code": token, "input": {"k": known}}),
        orjson.dumps({"id": token, "created_at": None, "status": None, "agent_id": 5}),
        # The Kognitos API's shapes: an invoke answer, a run, a page.
        orjson.dumps({"run_id": f"{token}/../x", "name": token, "state": {known: {}}}),
        orjson.dumps({"runs": [{"name": known, "state": token}], "next_page_token": token}),
        orjson.dumps([token, known]),
        orjson.dumps(known),
    ]
    for name, (method, call) in _operations(served).items():
        if (served.provider, name) == ("runflow", "create_many"):
            continue  # test_runflow_batch_id_is_masked_in_bulk_errors
        for body in bodies:
            served.steer.answer(body, status=201 if method == "POST" else 200, method=method)
            outcome = await attempt(call)
            served.steer.answers.clear()
            if not isinstance(outcome, Run):  # a payload that parses is the provider's data
                scan.outcome("malformed", outcome)
    assert scan.errors >= len(bodies) * 3
    scan.assert_clean(caplog)


async def test_retried_failures_are_logged_without_secrets(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    # A client that retries reads: each failed attempt is logged at DEBUG.
    extra = {"admin_token": ADMIN} if served.provider == "runflow" else {}
    options = testing_options(retry=RetryPolicy.testing(attempts=3))
    client = runbridge.connect(
        served.provider,
        token=served.token,
        base_url=served.client.base_url,
        options=options,
        **extra,
    )
    scan = Scan()
    async with client:
        for status in (429, 500, 502, 503):
            _answer(served, "GET", status, _echo(served, status, secrets=False))
            served.steer.answer(f"not json {served.token}".encode(), method="GET")
            run = await client.get(served.done)  # the third attempt is served
            assert run.ref == served.done.ref
    assert sum("attempt" in r.getMessage() for r in caplog.records) >= 8
    scan.assert_clean(caplog)


# -- lifecycle errors ---------------------------------------------------------------------


async def test_lifecycle_errors_are_redacted(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    client = served.client
    scan = Scan()
    waited = await attempt(lambda: client.wait(served.live, timeout=0))
    assert isinstance(waited, WaitTimeout)
    scan.outcome("wait", waited)
    illegal = await attempt(lambda: client.retry(served.live))
    assert isinstance(illegal, IllegalTransition)
    scan.outcome("retry", illegal)
    if client.capabilities.support("cancel") is not runbridge.Support.UNSUPPORTED:
        finished = await attempt(lambda: client.cancel(served.done))
        assert isinstance(finished, IllegalTransition)
        scan.outcome("cancel", finished)
    for name in ("pause", "resume"):
        if client.capabilities.support(name) is not runbridge.Support.UNSUPPORTED:
            finished = await attempt(lambda n=name: getattr(client, n)(served.done))
            assert isinstance(finished, IllegalTransition), finished
            scan.outcome(name, finished)
    for name in ("get", "update", "cancel", "retry", "delete", "pause", "resume"):
        if client.capabilities.support(name) is runbridge.Support.UNSUPPORTED:
            unsupported = await attempt(lambda n=name: getattr(client, n)(served.done))
            assert isinstance(unsupported, UnsupportedOperation)
            scan.outcome(name, unsupported)
    scan.assert_clean(caplog)


async def test_runflow_cancel_without_an_admin_key_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="runbridge")
    emulator = _emulator("runflow")
    async with emulator.serve() as base_url:
        client = runbridge.connect("runflow", token=token_of("runflow"), base_url=base_url)
        async with client:
            run = await client.create(emulator.default_target)
            refused = await attempt(lambda: client.cancel(run))
    assert isinstance(refused, UnsupportedOperation)
    scan = Scan()
    scan.outcome("cancel", refused)
    scan.add("client", client)
    scan.assert_clean(caplog)


# -- what a caller holds after things went well -------------------------------------------


async def test_objects_a_caller_holds_are_redacted(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    client, emulator = served.client, served.emulator
    scan = Scan()
    request = RunRequest(target=emulator.default_target, inputs={"a": 1}, secrets=SECRETS)
    for value in (
        client,
        client.adapter,
        client.capabilities,
        client.base_url,
        request,
        served.live,
        served.done,
    ):
        scan.add("object", value)
    page = await client.list_page(target=list_target(served.provider, emulator.default_target))
    scan.add("page", page)
    if served.takes_secrets:
        scan.add("run", await client.create(request))
        result = await client.create_many([request] * 2)
        assert result.ok
        scan.add("bulk", result)
    scan.assert_clean(caplog)


# -- known leaks: exact reproductions ------------------------------------------------------


async def _one_error(provider: str, status: int, body: bytes) -> RunbridgeError:
    emulator = _emulator(provider)
    options = testing_options(retry=RetryPolicy.never())
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        emulator.answer(body, status=status, method="GET")
        outcome = await attempt(lambda: client.get(emulator.unknown_id()))
    assert isinstance(outcome, RunbridgeError)
    return outcome


def _leaks(exc: BaseException) -> list[str]:
    scan = Scan()
    scan.error("error", exc)
    return scan.leaks()


def _field_echo(provider: str) -> dict[str, Any]:
    token = token_of(provider)
    if provider == "cyberdesk":
        return {"detail": [{"loc": ["body", "input_values", token], "msg": "bad", "type": "x"}]}
    if provider == "kognitos":
        return {
            "status_code": 400,
            "message": "bad",
            "details": [{"field": token, "message": "no"}],
        }
    if provider == "kognitos-api":
        violations = [{"field": token, "description": "no"}]
        return {
            "code": 3,
            "message": "bad",
            "details": [{"@type": BAD_REQUEST, "field_violations": violations}],
        }
    return {
        "code": "VALIDATION_ERROR",
        "message": "bad",
        "errors": [{"loc": ["body", token], "msg": "no"}],
    }


async def test_a_field_named_by_an_error_body_is_redacted(provider: str) -> None:
    error = await _one_error(provider, 400, orjson.dumps(_field_echo(provider)))
    assert isinstance(error, InvalidRequest)
    assert _leaks(error) == []


async def test_a_malformed_value_does_not_survive_in_the_error_context(provider: str) -> None:
    token = token_of(provider)
    payload = {
        "id": _any_id(provider),
        "workflow_id": _any_id("cyberdesk"),
        "agent_id": "a",
        "process_id": "p",
        "name": "n",
        "stage": "Published",
        "status": "Running",
        "created_at": f"{token} o'clock",
    }
    if provider == "kognitos-api":  # a run as the Kognitos API shapes one
        payload |= {
            "name": KOGNITOS_API_RUN,
            "state": {"executing": {}},
            "create_time": f"{token} o'clock",
        }
    error = await _one_error(provider, 200, orjson.dumps(payload))
    assert isinstance(error, ResponseError)
    assert _leaks(error) == []


@pytest.mark.parametrize(
    "provider",
    PROVIDERS,
)
async def test_a_token_cut_short_in_an_error_message_is_masked(provider: str) -> None:
    # The echo is a JSON string; the 500th character falls in the token, after its core.
    body = "x" * 482 + f"token {token_of(provider)}"
    assert body.index(CORES["token"]) + len(CORES["token"]) < 500 < len(body)
    error = await _one_error(provider, 400, orjson.dumps(body))
    assert "***" in repr(error.body)  # the body itself was masked whole
    assert _leaks(error) == []


async def test_a_token_cut_short_in_a_plain_text_body_is_masked(provider: str) -> None:
    text = "<html>" + "x" * 1976 + f"token {token_of(provider)}</html>"
    assert text.index(CORES["token"]) + len(CORES["token"]) < 2000 < text.index("</html>")
    body = text.encode()
    error = await _one_error(provider, 502, body)
    assert _leaks(error) == []


async def test_core_validation_does_not_echo_a_token_passed_by_mistake(provider: str) -> None:
    emulator = _emulator(provider)
    async with emulated_client(provider, emulator=emulator) as (client, _):
        mistaken = await attempt(lambda: client.list_page(status=emulator.token))
    assert isinstance(mistaken, InvalidRequest)
    assert _leaks(mistaken) == []


def test_runflow_settings_repr_hides_the_admin_key() -> None:
    client = runbridge.connect(
        "runflow", token=token_of("runflow"), admin_token=ADMIN, base_url="http://127.0.0.1:9"
    )
    scan = Scan()
    scan.add("settings", client.adapter.settings)
    assert scan.leaks() == []


async def test_a_token_echoed_as_a_key_is_masked(provider: str) -> None:
    error = await _one_error(provider, 400, orjson.dumps({token_of(provider): "rejected"}))
    assert _leaks(error) == []


async def test_runflow_batch_id_is_masked_in_bulk_errors() -> None:
    emulator = _emulator("runflow")
    token = token_of("runflow")
    options = testing_options(retry=RetryPolicy.never())
    async with emulated_client("runflow", emulator=emulator, options=options) as (client, _):
        emulator.answer(orjson.dumps({"id": token}), status=201, method="POST")
        result = await client.create_many([RunRequest(target=emulator.default_target)] * 2)
    assert isinstance(result, BulkResult) and len(result.errors) == 2
    scan = Scan()
    scan.outcome("bulk", result)
    assert scan.leaks() == []
