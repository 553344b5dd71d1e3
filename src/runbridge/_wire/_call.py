"""``Call``: one logical operation as an adapter sees it, and the channel that makes calls.

An adapter makes its requests through the ``Call`` it is handed: the call
retries what may be retried under its one deadline, keeps one idempotency key
for its writes, and turns error responses into typed errors.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from .._model._errors import InvalidRequest, ProviderUnavailable, ResponseError
from .._model._payload import json_default
from ._convert import structure
from ._http import GarbledBody, HttpClient, Response
from ._observe import Attempt, Observers, error_type, retry_reason
from ._provider_clock import ProviderClock
from ._redact import Redactor
from ._retry import Deadline, parse_retry_after, retrying
from ._translation import ErrorTranslator

if TYPE_CHECKING:
    import cattrs

T = TypeVar("T")

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNPROCESSED = frozenset({408, 429, 503})
"""Statuses that say the provider did not process the request: safe to send again."""
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]+")  # what quote() leaves alone: no work to do
_DOTS = (".", "..")  # URL-safe, but they would move the request to another path


class _RetryableStatus(Exception):
    """An answer whose status the retry policy retries (internal to ``Call.request``)."""

    def __init__(self, response: Response, retry_after: float | None) -> None:
        super().__init__(f"HTTP {response.status}")
        self.response = response
        self.retry_after = retry_after


class Channel:
    """What the calls of one client share: its HTTP client, error translator and secrets."""

    def __init__(
        self,
        http: HttpClient,
        translator: ErrorTranslator,
        redactor: Redactor,
        *,
        cursor_key: bytes = b"",
    ) -> None:
        self.http = http
        self.translator = translator
        self.redactor = redactor
        self.provider = translator.provider
        self.cursor_key = cursor_key
        """The key this client's listing cursors are signed with (from its credential)."""
        self.clock = ProviderClock()
        """The provider's clock, as the answers to creates and lookups show it."""
        self.observers: Observers | None = None
        """Who watches this client's calls (``None``: nobody, and nothing is spent on it)."""
        self.server = _server_of(http.base_url)
        """Host and port of the provider, as observers name them."""

    def __repr__(self) -> str:
        return f"<Channel {self.provider} {self.http.base_url}>"

    def call(
        self,
        operation: str,
        *,
        secrets: Any = (),
        deadline: Deadline | None = None,
        key: str | None = None,
        clock: bool = False,
    ) -> Call:
        """A handle for one logical operation; ``secrets`` are redacted from it.

        Pass the ``deadline`` of a larger logical call (a create and its lookups)
        to share it; a new one starts otherwise. ``key`` fixes the call's
        idempotency key (a create's, derived from its client token). ``clock``
        has its answers' ``Date`` headers read into the channel's ``clock``.
        """
        redactor = self.redactor.extend(secrets) if secrets else self.redactor
        call = Call(self, operation, redactor, deadline or Deadline(self.http.options.deadline))
        call._key = key
        if clock:
            call._clock = self.clock
        return call


class Call:
    """One logical operation as an adapter sees it: send requests, raise typed errors.

    Every request made through one call shares one deadline and, for writes, one
    idempotency key (``idempotency_key``), so a retried write is the same write.
    """

    __slots__ = (
        "_channel",
        "_clock",
        "_key",
        "_template",
        "deadline",
        "operation",
        "possibly_processed",
        "provider",
        "redactor",
        "resends",
    )

    def __init__(
        self, channel: Channel, operation: str, redactor: Redactor, deadline: Deadline
    ) -> None:
        self._channel = channel
        self.provider = channel.provider
        self.operation = operation
        self.redactor = redactor
        self.deadline = deadline
        self._key: str | None = None
        self._clock: ProviderClock | None = None
        self._template: tuple[str, str] | None = None
        self.resends = 0
        """Times this call's request was sent before (a create sent again on a new call)."""
        self.possibly_processed = False
        """Whether a write attempt of this call may have been carried out though it did
        not succeed: its answer was lost or garbled, or the provider failed (a 5xx other
        than 503) or said it was still at it. Later attempts do not clear it."""

    def __repr__(self) -> str:
        return f"<Call {self.provider}.{self.operation}>"

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
        if len(segments) == 1:  # the usual case (a run id), without the loops
            segment = segments[0]
            if _URL_SAFE.fullmatch(segment) and segment not in _DOTS:
                rendered = template.format(segment)
                self._template = (template, rendered)
                return rendered
        for segment in segments:
            if segment in ("", *_DOTS):
                raise self.invalid(f"{segment!r} cannot be a URL path segment", field="path")
        rendered = template.format(*(s if _URL_SAFE.fullmatch(s) else _quote(s) for s in segments))
        self._template = (template, rendered)
        return rendered

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

    def structure(self, converter: cattrs.Converter | None, payload: Any, cls: type[T]) -> T:
        """Structure plain JSON values into ``cls`` (a msgspec struct, or an attrs class
        with ``converter``); failures raise ``ResponseError`` naming the path."""
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
        into: type[Any] | None = None,
    ) -> Response:
        """Send a request and return the decoded response, or raise a typed error.

        ``idempotent`` says whether the request may be retried; by default reads
        are and writes are not. Pass ``True`` for a write that carries an
        idempotency key, so that a retry cannot create a duplicate. ``into`` (a
        msgspec ``Struct``) decodes a success body straight into that wire struct:
        ``response.data`` is then an instance, and ``response.raw(...)`` the payload
        for ``Run.raw``; a body of another shape is a ``ResponseError`` naming the path.
        """
        retryable = method not in _WRITE_METHODS if idempotent is None else idempotent
        data = None
        if json is not None:
            data = orjson.dumps(json, default=json_default)
            headers = {**(headers or {}), "Content-Type": "application/json"}
        send = self._attempt if self._channel.observers is None else self._observing(method, path)
        try:  # the common case: one attempt, no retry machinery
            return await send(method, path, params, data, headers, expect, retryable, into)
        except Exception as first:
            if not (retryable and _may_retry(first)):
                raise self._typed(first) from None
            failed = first

        async def attempt() -> Response:
            return await send(method, path, params, data, headers, expect, retryable, into)

        policy = self._channel.http.options.retry
        try:
            return await retrying(
                attempt,
                policy=policy,
                deadline=self.deadline,
                retryable=_may_retry,
                label=f"{self.provider}.{self.operation}",
                failed=failed,
            )
        except Exception as last:
            error = self._typed(last)
        raise error

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Any,
        data: bytes | None,
        headers: Mapping[str, str] | None,
        expect: tuple[int, ...],
        retryable: bool,
        into: type[Any] | None = None,
    ) -> Response:
        http = self._channel.http
        throttle = http.throttle
        if throttle is not None:
            await throttle.acquire(self.deadline.at)
        try:
            response = await http.send(
                method,
                path,
                params=params,
                data=data,
                headers=headers,
                time_left=self.deadline.remaining(),
                provider=self.provider,
                operation=self.operation,
                redactor=self.redactor,
                into=into,
            )
        except (ProviderUnavailable, ResponseError) as exc:
            if method in _WRITE_METHODS and getattr(exc, "delivered", None) is not False:
                self.possibly_processed = True  # sent, and its answer lost or unreadable
            raise
        finally:
            if throttle is not None:
                throttle.release()
        if throttle is not None:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            await throttle.observe(response.status, response.headers, retry_after)
        if self._clock is not None:
            self._clock.saw_date(response.headers.get("Date"))
        if response.status in expect:
            return response
        if method in _WRITE_METHODS and (
            (response.status >= 500 and response.status not in UNPROCESSED)
            or _in_progress(response)
        ):
            self.possibly_processed = True
        raise self._refusal(response, retryable)

    def _observing(self, method: str, path: str) -> Any:
        """``_attempt`` wrapped in the observers' hooks, counting the request's resends."""
        channel = self._channel
        observers = channel.observers
        assert observers is not None
        known = self._template
        template = known[0] if known is not None and known[1] == path else path
        # Only the path's template: ids of the path and the query never show.
        template = template.replace("{}", "{id}")
        resends = self.resends

        async def send(*args: Any) -> Response:
            nonlocal resends
            info = Attempt(
                self.provider,
                self.operation,
                method,
                template,
                channel.server[0],
                channel.server[1],
                resend_count=resends,
            )
            resends += 1
            observers.notify("attempt_started", info)
            status: int | None = None
            failure: BaseException | None = None
            try:
                response: Response = await self._attempt(*args)
                status = response.status
                return response
            except _RetryableStatus as exc:
                status, failure = exc.response.status, exc
                raise
            except Exception as exc:
                status, failure = getattr(exc, "status", None), exc
                raise
            finally:
                info.duration = time.monotonic() - info.started
                info.status = status
                if failure is not None:
                    info.retry_reason = retry_reason(status, failure)
                    info.error_type = error_type(status, failure)
                observers.notify("attempt_ended", info)

        return send

    def _refusal(self, response: Response, retryable: bool) -> Exception:
        """What an unexpected status means: a retry may help, or the typed error."""
        statuses = self._channel.http.options.retry.statuses
        if retryable and (response.status in statuses or _in_progress(response)):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return _RetryableStatus(response, retry_after)
        return self._channel.translator.error(
            response, operation=self.operation, redactor=self.redactor
        )

    def _typed(self, exc: Exception) -> Exception:
        """``exc``, or the typed error for a retryable status that retries did not cure."""
        if isinstance(exc, _RetryableStatus):
            return self._channel.translator.error(
                exc.response, operation=self.operation, redactor=self.redactor
            )
        return exc


def _server_of(base_url: str) -> tuple[str, int | None]:
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    return parts.hostname or "", parts.port


def _quote(segment: str) -> str:
    from urllib.parse import quote  # rarely needed: ids are usually URL-safe already

    return quote(segment, safe="")


def _in_progress(response: Response) -> bool:
    """A 409 saying the first request with this idempotency key is still being made."""
    return (
        response.status == 409
        and response.headers.get("Idempotency-Status", "").lower() == "in_progress"
    )


def _may_retry(exc: Exception) -> bool:
    # Connection failures and garbled bodies may pass; a retry may help.
    return isinstance(exc, _RetryableStatus | ProviderUnavailable | GarbledBody)
