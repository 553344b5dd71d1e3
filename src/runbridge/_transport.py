"""HTTP transport: one aiohttp session per client, error mapping, retries, body limits."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import quote

import attrs
import orjson

from ._convert import structure
from ._errors import (
    InvalidRequest,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
)
from ._redact import Redactor
from ._retry import RetryPolicy, parse_retry_after

if TYPE_CHECKING:
    import aiohttp
    import cattrs

    from ._adapter import Adapter

log = logging.getLogger("runbridge")

T = TypeVar("T")

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]+")  # what quote() leaves alone: no work to do


class GarbledBody(ResponseError):
    """A success response whose body could not be decoded (possibly truncated)."""


@attrs.frozen(kw_only=True)
class ClientOptions:
    """Tuning of a client's HTTP behaviour; every field has a production default."""

    timeout: float = 30.0
    """Seconds one attempt may take, connecting included."""
    connect_timeout: float = 10.0
    """Seconds to establish a connection."""
    deadline: float = 120.0
    """Seconds one call may take across all its attempts."""
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
    """A decoded provider response."""

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    data: Any = attrs.field(repr=False)


class Transport:
    """Owns the session and turns requests into decoded responses or typed errors."""

    def __init__(
        self,
        *,
        adapter: Adapter,
        base_url: str,
        headers: Mapping[str, str],
        redactor: Redactor,
        options: ClientOptions,
    ) -> None:
        self.adapter = adapter
        self.provider = adapter.name
        self.base_url = base_url.rstrip("/")
        self.redactor = redactor
        self.options = options
        self._headers = dict(headers)
        self._session: aiohttp.ClientSession | None = None
        self._transient: tuple[type[BaseException], ...] = (TimeoutError,)

    def __repr__(self) -> str:
        return f"<Transport {self.provider} {self.base_url}>"

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

    def call(self, operation: str, *, secrets: Any = ()) -> Call:
        """A handle for one logical operation; extra ``secrets`` are redacted from it."""
        redactor = self.redactor.extend(secrets) if secrets else self.redactor
        return Call(self, operation, redactor)


class Call:
    """One logical operation as an adapter sees it: send requests, raise typed errors.

    Every request made through one call shares one deadline and, for writes, one
    idempotency key (``idempotency_key``), so a retried write is the same write.
    """

    __slots__ = ("_deadline", "_key", "operation", "provider", "redactor", "transport")

    def __init__(self, transport: Transport, operation: str, redactor: Redactor) -> None:
        self.transport = transport
        self.provider = transport.provider
        self.operation = operation
        self.redactor = redactor
        self._deadline = time.monotonic() + transport.options.deadline
        self._key: str | None = None

    @property
    def idempotency_key(self) -> str:
        """A key unique to this logical call, stable across its retries."""
        if self._key is None:
            self._key = str(uuid.uuid4())
        return self._key

    def idempotency_key_for(self, part: object) -> str:
        """A key for one part of this call (e.g. one chunk of a bulk create), stable
        across retries and distinct per part."""
        return str(uuid.uuid5(uuid.UUID(self.idempotency_key), str(part)))

    def add_secrets(self, values: Any) -> None:
        """Redact ``values`` (a value, or a mapping/list of them) from this call's errors."""
        self.redactor = self.redactor.extend([values])

    def path(self, template: str, *segments: str) -> str:
        """Fill ``{}`` placeholders with URL-quoted segments (``/`` is quoted too).

        Empty, ``.`` and ``..`` segments are refused: quoting leaves dots alone, and
        such a segment would move the request to another path.
        """
        for segment in segments:
            if segment in ("", ".", ".."):
                raise self.invalid(f"{segment!r} cannot be a URL path segment", field="path")
        return template.format(
            *(s if _URL_SAFE.fullmatch(s) else quote(s, safe="") for s in segments)
        )

    def invalid(self, message: str, *, field: str | None = None) -> InvalidRequest:
        """An ``InvalidRequest`` for bad caller input, naming the field."""
        return InvalidRequest(
            self.redactor.text(message),
            field=field,
            provider=self.provider,
            operation=self.operation,
        )

    def bad_response(self, message: str, *, body: Any = None) -> ResponseError:
        """A ``ResponseError`` for a provider answer that cannot be understood."""
        return ResponseError(
            self.redactor.text(message),
            provider=self.provider,
            operation=self.operation,
            body=self.redactor.body(body),
        )

    def structure(self, converter: cattrs.Converter, payload: Any, cls: type[T]) -> T:
        """Structure a response payload into ``cls``; failures raise ``ResponseError``."""
        try:
            return structure(
                converter, payload, cls, provider=self.provider, operation=self.operation
            )
        except ResponseError as exc:
            exc.body = self.redactor.body(payload)
            exc.message = self.redactor.text(exc.message)
            raise

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, str]] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        idempotent: bool | None = None,
    ) -> Response:
        """Send a request and return the decoded response, or raise a typed error.

        ``idempotent`` says whether the request may be retried; by default reads
        are and writes are not. Pass ``True`` for a write that carries an
        idempotency key, so that a retry cannot create a duplicate.
        """
        transport = self.transport
        session = transport._session
        if session is None:
            raise RuntimeError("client is not open: use 'async with runbridge.connect(...)'")
        retryable = method not in _WRITE_METHODS if idempotent is None else idempotent
        policy = transport.options.retry
        url = transport.base_url + path
        data = orjson.dumps(json) if json is not None else None
        req_headers: Mapping[str, str] | None = headers
        if data is not None:
            req_headers = {**(headers or {}), "Content-Type": "application/json"}
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._attempt(session, method, url, params, data, req_headers)
            except (ProviderUnavailable, GarbledBody) as error:
                # Connection failures and garbled bodies may pass; a retry may help.
                if not retryable or not self._may_retry(attempt, policy, 0.0):
                    raise
                await self._pause(attempt, policy, None, error)
                continue
            if response.status in expect:
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if (
                retryable
                and response.status in policy.statuses
                and self._may_retry(attempt, policy, retry_after)
            ):
                await self._pause(attempt, policy, retry_after, response.status)
                continue
            self._raise_for(response, retry_after)

    def _may_retry(self, attempt: int, policy: RetryPolicy, retry_after: float | None) -> bool:
        if attempt >= policy.attempts:
            return False
        remaining = self._deadline - time.monotonic()
        return remaining > (policy.delay(attempt, retry_after) if retry_after else 0.0)

    async def _pause(
        self, attempt: int, policy: RetryPolicy, retry_after: float | None, why: object
    ) -> None:
        delay = policy.delay(attempt, retry_after)
        log.debug(
            "%s.%s: attempt %d failed (%s); retrying in %.2fs",
            self.provider,
            self.operation,
            attempt,
            self.redactor.text(str(why)),
            delay,
        )
        if delay > 0:
            await asyncio.sleep(delay)

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        params: Any,
        data: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> Response:
        try:
            async with session.request(
                method, url, params=params, data=data, headers=headers, allow_redirects=False
            ) as resp:
                body = await self._read(resp)
                status, resp_headers = resp.status, resp.headers
        except self.transport._transient as exc:
            raise ProviderUnavailable(
                f"could not reach provider: {type(exc).__name__}",
                provider=self.provider,
                operation=self.operation,
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
                "response body is not valid JSON", provider=self.provider, operation=self.operation
            )
        decoded = self.redactor.text(body.decode("utf-8", "replace"))[:2000]
        return Response(status, resp_headers, decoded)

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        cap = self.transport.options.max_body_bytes
        length = resp.content_length
        if length is not None:
            if length > cap:
                raise self.bad_response(f"response body of {length} bytes over cap")
            return await resp.read()
        chunks, size = [], 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > cap:
                raise self.bad_response(f"response body over the {cap} byte cap")
            chunks.append(chunk)
        return b"".join(chunks)

    def _raise_for(self, response: Response, retry_after: float | None) -> NoReturn:
        adapter = self.transport.adapter
        status = response.status
        # Redact first: adapters may cut messages short, which would hide a secret's
        # prefix from redaction done afterwards.
        body = self.redactor.body(response.data)
        try:
            info = adapter.parse_error(status, body)
        except Exception:  # an unreadable error body must not hide the error itself
            info = None
        code = info.code if info else None
        error_cls = adapter.errors.error_for(status, code)
        message = (info.message if info else None) or f"provider answered HTTP {status}"
        kwargs: dict[str, Any] = {
            "provider": self.provider,
            "operation": self.operation,
            "status": status,
            "body": body,
        }
        if issubclass(error_cls, InvalidRequest):
            kwargs["field"] = self.redactor.text(info.field) if info and info.field else None
        if issubclass(error_cls, RateLimited):
            kwargs["retry_after"] = retry_after
        if code and code not in message:
            message = f"{message} [{code}]"
        raise error_cls(self.redactor.text(message), **kwargs)
