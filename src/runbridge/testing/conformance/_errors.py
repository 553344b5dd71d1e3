"""Error answers: typed by the adapter's ``ErrorMap``, carrying the provider's message
and code from the body, retried where safe, and never showing the token."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ... import (
    AuthError,
    InvalidRequest,
    ProviderUnavailable,
    RateLimited,
    RunbridgeError,
    RunClient,
    connect,
)
from ...emulation import Emulator
from .. import testing_options
from ._base import ConformanceBase

DEFAULT_STATUSES = (401, 404, 409, 422, 429, 503)
"""Error statuses whose bodies every adapter must read, whatever its ``ErrorMap``."""


def _status_for_code(error: type[RunbridgeError]) -> int:
    """A status whose usual meaning is not ``error``: only the code can make it one."""
    return 409 if issubclass(error, InvalidRequest) else 400


def _carries(body: Any, code: str) -> bool:
    """Whether the provider's error shape puts ``code`` in the body."""
    try:
        return code in orjson.dumps(body).decode()
    except TypeError:
        return code in str(body)


class ErrorConformance(ConformanceBase):
    """Auth failures, throttling and outages, retried reads, and errors that carry
    the provider's message and code out of its error body."""

    async def test_wrong_token_is_an_auth_error_without_the_token(self, emulator: Emulator) -> None:
        async with emulator.serve() as base_url:
            token = "wrong-token-s3cr3t-value"
            async with connect(
                self.provider,
                token=token,
                base_url=base_url,
                options=testing_options(),
                registry=self.registry,
                **emulator.client_settings(),
            ) as client:
                with pytest.raises(AuthError) as caught:
                    await client.get(emulator.unknown_id())
        assert caught.value.status in (401, 403)
        assert token not in str(caught.value) and token not in repr(caught.value.body)

    async def test_throttling_and_outages_are_typed(
        self, once: RunClient, emulator: Emulator
    ) -> None:
        emulator.inject(429, headers={"Retry-After": "7"})
        with pytest.raises(RateLimited) as limited:
            await once.get(emulator.unknown_id())
        assert limited.value.retry_after == 7
        emulator.inject(503)
        with pytest.raises(ProviderUnavailable) as down:
            await once.get(emulator.unknown_id())
        assert down.value.status == 503

    async def test_reads_are_retried_through_transient_faults(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        run = await client.create(target)
        emulator.inject(503)
        emulator.inject(429, headers={"Retry-After": "0"})
        assert (await client.get(run)).ref == run.ref

    async def test_declared_errors_are_typed_from_the_body(
        self, once: RunClient, emulator: Emulator
    ) -> None:
        errors = once.adapter.errors
        cases: list[tuple[int, str | None]] = [(status, None) for status in errors.statuses]
        cases += [(_status_for_code(error), code) for code, error in errors.codes.items()]
        if not cases:
            pytest.skip(f"the {self.provider} ErrorMap declares no statuses or codes")
        wrong: list[str] = []
        for n, (status, code) in enumerate(cases):
            message = f"kit message {n} for HTTP {status}"
            body = emulator.error_body(status, message, code=code)
            carries = code is not None and _carries(body, code)
            emulator.inject(status, body=body)
            case = f"HTTP {status}" + (f" with code {code!r}" if code else "")
            try:
                await once.get(emulator.unknown_id())
            except RunbridgeError as exc:
                read = code if carries else exc.code
                expected = errors.error_for(status, read)
                if type(exc) is not expected:
                    wrong.append(f"{case}: {type(exc).__name__}, declared {expected.__name__}")
                if message not in str(exc):
                    wrong.append(f"{case}: the body's message is not in {str(exc)!r}")
                if carries and exc.code != code:
                    wrong.append(f"{case}: code {exc.code!r}, the body says {code!r}")
            else:
                wrong.append(f"{case}: no error")
        assert not wrong, "errors the ErrorMap declares read wrongly: " + "; ".join(wrong)

    async def test_error_messages_come_from_the_body(
        self, once: RunClient, emulator: Emulator
    ) -> None:
        wrong: list[str] = []
        for status in DEFAULT_STATUSES:
            message = f"kit message for HTTP {status}"
            emulator.inject(status, body=emulator.error_body(status, message))
            try:
                await once.get(emulator.unknown_id())
            except RunbridgeError as exc:
                expected = once.adapter.errors.error_for(status, exc.code)
                if type(exc) is not expected:
                    wrong.append(f"HTTP {status}: {type(exc).__name__}, not {expected.__name__}")
                if message not in str(exc):
                    wrong.append(f"HTTP {status}: the body's message is not in {str(exc)!r}")
            else:
                wrong.append(f"HTTP {status}: no error")
        assert not wrong, (
            "the adapter's parse_error must read the provider's message out of its error "
            "body: " + "; ".join(wrong)
        )
