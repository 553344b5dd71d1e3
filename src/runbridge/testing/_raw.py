"""Raw HTTP access to a served emulator, for tests of the emulator itself."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import attrs
import orjson
from multidict import CIMultiDict

from ..emulation import Emulator


@attrs.frozen
class RawResponse:
    """An emulator's answer: status, headers, the body as bytes and decoded (``None`` if
    it is not JSON)."""

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    content: bytes = attrs.field(repr=False)

    @property
    def body(self) -> Any:
        """The JSON body, or ``None`` when empty or not JSON."""
        try:
            return orjson.loads(self.content) if self.content else None
        except orjson.JSONDecodeError:
            return None

    def json(self) -> Any:
        """The JSON body; ``AssertionError`` unless it is JSON and says so in Content-Type."""
        kind = self.headers.get("Content-Type", "")
        assert kind.startswith("application/json"), f"not JSON: {kind!r}"
        return orjson.loads(self.content)

    def __iter__(self) -> Any:
        # ``status, body = await raw(...)`` reads naturally in tests.
        return iter((self.status, self.body))


class RawClient:
    """Sends requests to a served emulator with its credential, as any HTTP client would.

    ``await raw("GET", "/v1/runs", params=...)`` gives a ``RawResponse``; ``auth=False``
    leaves the credential out and ``token=`` presents another one.
    """

    def __init__(self, session: Any, base_url: str, emulator: Emulator) -> None:
        self.session = session
        self.base_url = base_url
        self.emulator = emulator

    def __repr__(self) -> str:
        return f"<RawClient {self.base_url}>"

    async def __call__(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        token: str | None = None,
    ) -> RawResponse:
        sent: dict[str, str] = {}
        if auth and self.emulator.auth is not None:
            sent.update(self.emulator.auth.headers(self.emulator.token if token is None else token))
        sent.update(headers or {})
        async with self.session.request(
            method,
            self.base_url + path,
            json=json,
            data=data,
            params=params,
            headers=sent,
            allow_redirects=False,
        ) as response:
            # A copy that keeps header names case-insensitive, as HTTP has them.
            headers = CIMultiDict(response.headers)
            return RawResponse(response.status, headers, await response.read())


@contextlib.asynccontextmanager
async def raw_client(emulator: Emulator) -> AsyncIterator[RawClient]:
    """Serve ``emulator`` on 127.0.0.1 and yield a ``RawClient`` of it."""
    import aiohttp

    async with emulator.serve() as base_url, aiohttp.ClientSession() as session:
        yield RawClient(session, base_url, emulator)
