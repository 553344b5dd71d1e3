"""Secrets are masked in every spelling a provider might echo them in.

An emulator answers with bodies that echo the token, a secret setting or a request's
secrets URL-encoded (``quote``, ``quote_plus``), HTML-escaped, JSON-escaped (``\\uXXXX``
included, in the body's text and in its raw bytes), base64-encoded, or a string of
digits as a JSON number. Neither an error (its text, body, traceback and chained
errors) nor a ``Run`` (``raw`` included) may show any of them.

The spellings are computed here with the standard library, not with runbridge's own
list, and the scan also decodes every run of base64 it finds: a spelling the library
forgot makes these tests fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import orjson
import pytest

from fuzz_support import steerable
from runbridge import InvalidRequest, RetryPolicy, Run, RunbridgeError, RunClient
from runbridge.testing import emulated_client, testing_options
from spellings import SPELLINGS, leaks

CORE = "Zq81xLw0"
"""The start of every token: found anywhere, a secret leaked (whole or cut short)."""

SECRET = 'Hk3v9QzT/pass w+d&"<é>'
"""A request secret with every character some spelling changes."""

DIGITS = "73019842"
"""A secret of digits, which a provider may echo as a JSON number."""


def token_of(provider: str) -> str:
    return f"{CORE}/tok+{provider}=&x"


# -- serving ------------------------------------------------------------------------------


@attrs.define
class Served:
    provider: str
    client: RunClient
    emulator: Any
    run: Run

    @property
    def token(self) -> str:
        return token_of(self.provider)

    def answer(self, body: bytes, *, status: int, method: str = "GET") -> None:
        self.emulator.answer(body, status=status, method=method)

    def run_payload(self, **extra: Any) -> bytes:
        return orjson.dumps({**self.run.raw, **extra})


@pytest.fixture
async def served(provider: str) -> AsyncIterator[Served]:
    emulator = steerable(provider, token=token_of(provider))
    options = testing_options(retry=RetryPolicy.never())
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        run = await client.create(emulator.default_target, inputs={"n": 1})
        yield Served(provider, client, emulator, run)


def error_body(said: str, echoed: Any) -> bytes:
    """An error body every adapter reads a message from, saying ``said``."""
    return orjson.dumps({"detail": said, "message": said, "echo": {"value": echoed}})


async def failure(action: Callable[[], Any]) -> RunbridgeError:
    with pytest.raises(RunbridgeError) as caught:
        await action()
    return caught.value


# -- the token -----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
async def test_an_echoed_token_is_masked_in_errors(served: Served, spelling: str) -> None:
    spelled = SPELLINGS[spelling](served.token)
    get = lambda: served.client.get(served.run.ref)  # noqa: E731
    served.answer(error_body(f"bad credential {spelled}", spelled), status=400)
    error = await failure(get)
    assert leaks(error, served.token) == []
    assert "***" in str(error)
    # A body that is not JSON at all, from a proxy.
    served.answer(f"<html>denied: token={spelled}</html>".encode(), status=403)
    error = await failure(get)
    assert leaks(error, served.token) == []


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
async def test_an_echoed_token_never_reaches_a_run(served: Served, spelling: str) -> None:
    spelled = SPELLINGS[spelling](served.token)
    headers = {"Authorization": f"Bearer {served.token}"}
    served.answer(served.run_payload(echo=f"seen {spelled}", request_headers=headers), status=200)
    run = await served.client.get(served.run.ref)
    assert run.ref == served.run.ref
    assert leaks(run, served.token) == []
    # Masked where it stood (a base64 spelling keeps the characters the secret only shares).
    assert run.raw["echo"].startswith("seen ") and "***" in run.raw["echo"]
    assert run.raw["request_headers"]["Authorization"] in ("***", "Bearer ***")


async def test_a_token_escaped_in_the_raw_json_is_masked(served: Served) -> None:
    # The JSON text holds only \\uXXXX escapes; decoded, the value is the token itself.
    escaped = "".join(f"\\u{ord(c):04x}" for c in served.token).encode()
    served.answer(served.run_payload(echo="@@").replace(b'"@@"', b'"' + escaped + b'"'), status=200)
    run = await served.client.get(served.run.ref)
    assert run.raw["echo"] == "***" and leaks(run, served.token) == []
    body = error_body("bad credential @@", "@@").replace(b"@@", escaped)
    served.answer(body, status=400)
    error = await failure(lambda: served.client.get(served.run.ref))
    assert leaks(error, served.token) == []


async def test_a_payload_without_secrets_is_kept_as_sent(served: Served) -> None:
    served.answer(served.run_payload(echo="nothing to hide", n=12345), status=200)
    run = await served.client.get(served.run.ref)
    assert run.raw == {**served.run.raw, "echo": "nothing to hide", "n": 12345}


# -- a secret of digits, echoed as a number -------------------------------------------------


async def test_a_token_of_digits_echoed_as_a_number_is_masked(provider: str) -> None:
    token = DIGITS + "55"
    emulator = steerable(provider, token=token)
    options = testing_options(retry=RetryPolicy.never())
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        run = await client.create(emulator.default_target)
        emulator.answer(error_body("bad credential", int(token)), status=400, method="GET")
        error = await failure(lambda: client.get(run.ref))
        emulator.answer(orjson.dumps({**run.raw, "echo": int(token)}), status=200, method="GET")
        echoed = await client.get(run.ref)
    assert leaks(error, token) == [] and leaks(echoed, token) == []
    assert echoed.raw["echo"] == "***"


# -- request secrets and secret settings -----------------------------------------------------


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
async def test_request_secrets_are_masked_in_every_spelling(spelling: str) -> None:
    # Cyberdesk vaults sensitive inputs: a create carries them, and its answers may echo.
    emulator = steerable("cyberdesk", token=token_of("cyberdesk"))
    options = testing_options(retry=RetryPolicy.never())
    secrets = {"password": SECRET, "pin": DIGITS}
    spelled = SPELLINGS[spelling](SECRET)
    async with emulated_client("cyberdesk", emulator=emulator, options=options) as (client, _):
        target = emulator.default_target
        model = await client.create(target)
        emulator.answer(error_body(f"bad input {spelled}", int(DIGITS)), status=400, method="POST")
        error = await failure(lambda: client.create(target, secrets=secrets))
        echo = {**model.raw, "echo": spelled, "pin": int(DIGITS)}
        emulator.answer(orjson.dumps(echo), status=201, method="POST")
        created = await client.create(target, secrets=secrets)
    assert isinstance(error, InvalidRequest)
    for secret in (SECRET, DIGITS):
        assert leaks(error, secret) == [] and leaks(created, secret) == []
    assert created.raw["pin"] == "***" and "***" in created.raw["echo"]


async def test_a_secret_setting_is_masked_in_every_spelling() -> None:
    admin = f"{CORE}-rf_svc/admin+key"
    emulator = steerable("runflow", token=token_of("runflow"), admin_token=admin)
    options = testing_options(retry=RetryPolicy.never())
    async with emulated_client("runflow", emulator=emulator, options=options) as (client, _):
        run = await client.create(emulator.default_target)
        for spell in SPELLINGS.values():
            emulator.answer(error_body(f"key {spell(admin)}", spell(admin)), status=400)
            error = await failure(lambda: client.get(run.ref))
            emulator.answer(orjson.dumps({**run.raw, "echo": spell(admin)}), status=200)
            echoed = await client.get(run.ref)
            assert leaks(error, admin) == [] and leaks(echoed, admin) == []
