"""One HTTP attempt: the client's aiohttp session, the body cap, and decoding.

This layer knows nothing of adapters: it sends a request and returns the
decoded ``Response``, or raises ``ProviderUnavailable`` when the provider could
not be reached and ``GarbledBody`` when a success body is not JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import orjson

from ._errors import ProviderUnavailable, ResponseError
from ._redact import Redactor
from ._retry import RetryPolicy

if TYPE_CHECKING:
    import aiohttp


class GarbledBody(ResponseError):
    """A success response whose body could not be decoded (possibly truncated)."""


@attrs.frozen(kw_only=True)
class ClientOptions:
    """Tuning of a client's HTTP behaviour; every field has a production default."""

    timeout: float = 30.0
    """Seconds one attempt may take, connecting included (never more than the call has left)."""
    connect_timeout: float = 10.0
    """Seconds to establish a connection."""
    deadline: float = 120.0
    """Seconds one logical call may take across all its attempts, pauses and lookups."""
    max_connections: int = 100
    """Connections open at once, across hosts."""
    max_connections_per_host: int = 0
    """Connections open at once to one host; 0 for no limit beyond ``max_connections``
    (a client talks to one provider host, so the total is usually the limit to set)."""
    max_body_bytes: int = 32 * 1024 * 1024
    """Largest response body accepted; larger ones raise ``ResponseError``."""
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    """How failed attempts are retried."""
    allow_insecure_http: bool = False
    """Allow plain ``http://`` to hosts other than loopback."""


@attrs.frozen
class Response:
    """A decoded provider response: JSON, or the (redacted) text of a non-JSON error body."""

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    data: Any = attrs.field(repr=False)


class HttpClient:
    """Owns the session of one client and makes single attempts through it."""

    def __init__(
        self, *, base_url: str, headers: Mapping[str, str], options: ClientOptions
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.options = options
        self._headers = dict(headers)
        self._session: aiohttp.ClientSession | None = None
        self._transient: tuple[type[BaseException], ...] = (TimeoutError,)

    def __repr__(self) -> str:
        return f"<HttpClient {self.base_url}>"

    async def open(self) -> None:
        """Create the session; idempotent."""
        if self._session is None:
            import aiohttp  # imported on first use: it is most of runbridge's import time

            self._transient = (aiohttp.ClientError, TimeoutError)
            opts = self.options
            connector = aiohttp.TCPConnector(
                limit=opts.max_connections, limit_per_host=opts.max_connections_per_host
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(
                    total=opts.timeout, sock_connect=opts.connect_timeout
                ),
                raise_for_status=False,
                skip_auto_headers=("User-Agent",),
            )

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Any,
        data: bytes | None,
        headers: Mapping[str, str] | None,
        time_left: float,
        provider: str,
        operation: str,
        redactor: Redactor,
    ) -> Response:
        """One attempt; it may take the configured timeout, but never more than ``time_left``."""
        session = self._session
        if session is None:
            raise RuntimeError("client is not open: use 'async with runbridge.connect(...)'")
        timeout: Any = None
        if time_left < self.options.timeout:
            import aiohttp

            timeout = aiohttp.ClientTimeout(
                total=max(time_left, 0.001), sock_connect=self.options.connect_timeout
            )
        try:
            async with session.request(
                method,
                self.base_url + path,
                params=params,
                data=data,
                headers=headers,
                allow_redirects=False,
                **({"timeout": timeout} if timeout is not None else {}),
            ) as resp:
                body = await self._read(resp, provider, operation)
                status, resp_headers = resp.status, resp.headers
        except self._transient as exc:
            raise ProviderUnavailable(
                f"could not reach provider: {type(exc).__name__}",
                provider=provider,
                operation=operation,
            ) from None
        if not body:
            return Response(status, resp_headers, None)
        try:
            return Response(status, resp_headers, orjson.loads(body))
        except orjson.JSONDecodeError:
            pass
        # Outside the handler: the decode error holds the raw body as context.
        if 200 <= status < 300:
            raise GarbledBody(
                "response body is not valid JSON", provider=provider, operation=operation
            )
        decoded = redactor.text(body.decode("utf-8", "replace"))[:2000]
        return Response(status, resp_headers, decoded)

    async def _read(self, resp: aiohttp.ClientResponse, provider: str, operation: str) -> bytes:
        cap = self.options.max_body_bytes
        length = resp.content_length
        if length is not None:
            if length > cap:
                raise ResponseError(
                    f"response body of {length} bytes over cap",
                    provider=provider,
                    operation=operation,
                )
            return await resp.read()
        chunks, size = [], 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > cap:
                raise ResponseError(
                    f"response body over the {cap} byte cap", provider=provider, operation=operation
                )
            chunks.append(chunk)
        return b"".join(chunks)
