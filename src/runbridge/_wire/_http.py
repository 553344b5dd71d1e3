"""One HTTP attempt: the client's aiohttp session, the body budget it draws on, and
decoding.

This layer knows nothing of adapters: it sends a request and returns the
decoded ``Response``, or raises ``ProviderUnavailable`` when the provider could
not be reached, ``TLSError`` when its certificate could not be verified, and
``GarbledBody`` when a success body is not JSON.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from .._model._errors import ProviderUnavailable, ResponseError, TLSError
from .._model._payload import Body, decoder_for
from ._budget import BodyBudget
from ._client_options import ClientOptions
from ._redact import Redactor

if TYPE_CHECKING:
    import aiohttp

    from ._throttle import Throttle


_CEILING = 1.0
"""aiohttp rounds timeouts of more than 5 seconds up to the next whole second: when the
call's deadline is within this of the attempt's timeout, the attempt gets its own exact limit."""


class GarbledBody(ResponseError):
    """A success response whose body could not be decoded (possibly truncated)."""


class Response:
    """A decoded provider response.

    ``data`` is the body as the request asked for it: an instance of the wire struct
    passed as ``into``, plain JSON values, or the (redacted) text of a non-JSON error
    body. ``raw(*path)`` is the provider's payload at ``path`` inside the body, decoded
    only when read (for ``Run.raw``).
    """

    __slots__ = ("_body", "data", "headers", "status")

    def __init__(
        self, status: int, headers: Mapping[str, str], data: Any, body: Body | None = None
    ) -> None:
        self.status = status
        self.headers = headers
        self.data = data
        self._body = body

    def __repr__(self) -> str:
        return f"<Response {self.status}>"

    def raw(self, *path: str | int) -> Mapping[str, Any]:
        """The payload at ``path`` in the body (``()``: all of it), decoded on first read."""
        if self._body is None:
            self._body = Body.of(self.data)
        return self._body.at(*path)


class HttpClient:
    """Owns the session of one client and makes single attempts through it."""

    def __init__(
        self, *, base_url: str, headers: Mapping[str, str], options: ClientOptions
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.options = options
        self.budget = BodyBudget(options.max_inflight_body_bytes, options.max_body_bytes)
        """The bytes of response bodies this client holds at once."""
        self._headers = dict(headers)
        self._session: aiohttp.ClientSession | None = None
        self.throttle: Throttle | None = None
        """The client's own rate and in-flight limits, when it has any."""
        self.trace_configs: list[Any] = []
        """aiohttp ``TraceConfig`` objects the session is made with."""
        self._transient: tuple[type[BaseException], ...] = (TimeoutError,)
        self._tls: tuple[type[BaseException], ...] = ()

    def __repr__(self) -> str:
        return f"<HttpClient {self.base_url}>"

    async def open(self) -> None:
        """Create the session; idempotent."""
        if self._session is None:
            import aiohttp  # imported on first use: it is most of runbridge's import time

            self._transient = (aiohttp.ClientError, TimeoutError)
            self._tls = (aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch)
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
                trace_configs=self.trace_configs or None,
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
        into: type[Any] | None = None,
    ) -> Response:
        """One attempt; it may take the configured timeout, but never more than ``time_left``.

        A success body is decoded into ``into`` (a msgspec struct) when given.
        """
        session = self._session
        if session is None:
            raise RuntimeError("client is not open: use 'async with runbridge.connect(...)'")
        options = self.options
        limit = options.timeout
        extra: dict[str, Any] = {}
        if time_left < limit + _CEILING:
            # The call's deadline comes first: an exact limit of its own for this attempt.
            # Otherwise the session's timeout bounds the attempt and one timer is enough.
            import aiohttp

            limit = max(min(time_left, limit), 0.001)
            extra["timeout"] = aiohttp.ClientTimeout(
                total=limit, sock_connect=options.connect_timeout
            )
        until = asyncio.get_running_loop().time() + limit
        held = 0
        failure: BaseException | None = None
        exchange = session.request(
            method,
            self.base_url + path,
            params=params,
            data=data,
            headers=headers,
            allow_redirects=False,
            **extra,
        )
        try:
            if extra:
                async with asyncio.timeout_at(until), exchange as resp:
                    body, held = await self._read(resp, provider, operation, until)
                    status, resp_headers = resp.status, resp.headers
            else:
                async with exchange as resp:
                    body, held = await self._read(resp, provider, operation, until)
                    status, resp_headers = resp.status, resp.headers
        except self._transient as exc:  # TLS failures included: told apart below
            failure = exc
        except BaseException:
            self.budget.release(held)
            raise
        if failure is not None:
            # Raised outside the handler: the library's error must not carry aiohttp's
            # (which may quote the request) as its context.
            self.budget.release(held)
            raise self._unreachable(failure, provider, operation, redactor)
        try:
            if into is not None and 200 <= status < 300:
                return _decode_into(into, status, resp_headers, body, provider, operation, redactor)
            return self._decode(status, resp_headers, body, provider, operation, redactor)
        finally:
            self.budget.release(held)

    def _unreachable(
        self, exc: BaseException, provider: str, operation: str, redactor: Redactor
    ) -> Exception:
        if isinstance(exc, self._tls):
            reason = getattr(getattr(exc, "os_error", None), "verify_message", None)
            return TLSError(
                redactor.text(
                    f"TLS with the provider failed ({type(exc).__name__}"
                    + (f": {reason}" if reason else "")
                    + "); check the certificate, or the CA bundle trusted for it"
                ),
                provider=provider,
                operation=operation,
            )
        import aiohttp

        # No connection was made: the request never left. Any other failure (a reset,
        # a timeout) may come after the provider received it.
        unsent = isinstance(exc, aiohttp.ClientConnectorError)
        return ProviderUnavailable(
            f"could not reach provider: {type(exc).__name__}",
            provider=provider,
            operation=operation,
            delivered=False if unsent else None,
        )

    def _decode(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes | bytearray,
        provider: str,
        operation: str,
        redactor: Redactor,
    ) -> Response:
        if not body:
            return Response(status, headers, None)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        else:
            # One scan of the bytes for any spelling of a secret; the decoded body is
            # walked only when one is there, so an echo never reaches a Run.
            if redactor.seen_in(body):
                data = redactor.payload(data)
            return Response(status, headers, data, Body.of(data))
        # Outside the handler: the decode error holds the raw body as context.
        if 200 <= status < 300:
            raise GarbledBody(
                "response body is not valid JSON", provider=provider, operation=operation
            )
        decoded = redactor.text(body.decode("utf-8", "replace"))[:2000]
        return Response(status, headers, decoded)

    async def _read(
        self, resp: aiohttp.ClientResponse, provider: str, operation: str, until: float
    ) -> tuple[bytes | bytearray, int]:
        """The body, and the bytes of the budget it holds (the caller gives them back).

        A wait for room in the budget ends at ``until`` (the loop's clock), like the attempt.
        """
        budget = self.budget
        largest = budget.largest
        length = resp.content_length
        if length is not None and length > largest:
            raise _over_cap(largest, provider, operation, length)
        if length is not None and resp.headers.get("Content-Encoding", "identity") == "identity":
            if not budget.try_acquire(length):
                await budget.acquire(length, until=until)
            try:
                return await resp.read(), length
            except BaseException:
                budget.release(length)
                raise
        # Unknown or compressed length: count the bytes as they arrive.
        body = budget.start()
        received = bytearray()
        try:
            async for chunk in resp.content.iter_chunked(65536):
                if len(received) + len(chunk) > largest:
                    raise _over_cap(largest, provider, operation)
                await budget.acquire(len(chunk), body, until=until)
                received += chunk
        except BaseException:
            budget.release(budget.settle(body))
            raise
        return received, budget.settle(body)


def _decode_into(
    into: type[Any],
    status: int,
    headers: Mapping[str, str],
    body: bytes | bytearray,
    provider: str,
    operation: str,
    redactor: Redactor,
) -> Response:
    """A success body decoded straight into the wire struct ``into``.

    Not JSON is a ``GarbledBody`` (retried like a lost answer); JSON of another shape is
    a ``ResponseError`` naming the path. A body that echoes a secret is decoded as
    plain JSON first, redacted, then converted, so no secret reaches a wire struct or
    ``Run.raw``.
    """
    import msgspec

    if not body:  # a run was asked for and nothing came: as good as a lost answer
        raise GarbledBody("response body is empty", provider=provider, operation=operation)
    try:
        if redactor.seen_in(body):
            plain = redactor.payload(orjson.loads(body))
            return Response(status, headers, msgspec.convert(plain, into), Body.of(plain))
        return Response(status, headers, decoder_for(into).decode(body), Body(body))
    except msgspec.ValidationError as exc:
        problem = str(exc)
    except (msgspec.DecodeError, orjson.JSONDecodeError):
        problem = None
    # Raised outside the handler: the decode error may quote the body.
    if problem is None:
        raise GarbledBody("response body is not valid JSON", provider=provider, operation=operation)
    raise ResponseError(
        redactor.text(f"cannot read {into.__name__} from the response: {problem}"),
        provider=provider,
        operation=operation,
    )


def _over_cap(
    largest: int, provider: str, operation: str, length: int | None = None
) -> ResponseError:
    size = f"of {length} bytes " if length is not None else ""
    return ResponseError(
        f"response body {size}over the {largest} byte cap (max_body_bytes, or "
        "max_inflight_body_bytes when smaller)",
        provider=provider,
        operation=operation,
    )
