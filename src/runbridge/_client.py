"""``connect`` and ``RunClient``: the operations users call, on any provider."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from secrets import token_hex
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import attrs

from ._adapter import Adapter, Capabilities, Support
from ._config import Config, Profile, load_config
from ._errors import (
    ConfigError,
    InvalidRequest,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    UnsupportedOperation,
    WaitTimeout,
)
from ._lifecycle import check_transition
from ._model import (
    BulkError,
    BulkResult,
    File,
    Page,
    Run,
    RunFilter,
    RunRef,
    RunRequest,
    RunStatus,
    RunUpdate,
)
from ._pagination import RunIterator, decode_cursor, encode_cursor
from ._redact import Redactor
from ._registry import Registry, default_registry
from ._transport import ClientOptions, GarbledBody, Transport

log = logging.getLogger("runbridge")

REMEMBERED = 4096
"""Requests a client remembers, by run, so that an emulated retry can send them again."""

_WARN_LIMIT = 256
_warned: set[tuple[str, str]] = set()


def _warn_unknown(provider: str, native: str | None) -> None:
    """Log once per provider and value that a native status is not in the adapter's map."""
    key = (provider, native or "")
    if key in _warned or len(_warned) >= _WARN_LIMIT:
        return
    _warned.add(key)
    log.warning(
        "%s: unknown native status %r, read as 'unknown'; the adapter's status map may "
        "be out of date",
        provider,
        (native or "")[:80],
    )


def _check_url(base_url: str, provider: str, *, allow_insecure: bool) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"base_url {base_url!r} must be an http(s) URL", field="base_url", provider=provider
        )
    if parts.scheme == "http" and not allow_insecure and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing plain http:// to non-loopback host {parts.hostname!r}; "
            "use https or pass ClientOptions(allow_insecure_http=True)",
            field="base_url",
            provider=provider,
        )
    return base_url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _build_settings(adapter_cls: type[Adapter], settings: Mapping[str, Any]) -> Any:
    import cattrs  # on first connect, not at import

    try:
        return cattrs.Converter(forbid_extra_keys=True).structure(
            dict(settings), adapter_cls.settings_type
        )
    except ConfigError:
        raise
    except cattrs.BaseValidationError as exc:
        if (own := _own_config_error(exc)) is not None:
            raise own from None
        detail = "; ".join(cattrs.transform_error(exc, path="settings"))
        raise ConfigError(
            f"invalid settings for {adapter_cls.name}: {detail}",
            field=_first_field(exc),
            provider=adapter_cls.name,
        ) from None


def _own_config_error(exc: BaseException) -> ConfigError | None:
    if isinstance(exc, ConfigError):
        return exc
    for sub in getattr(exc, "exceptions", ()):
        if (found := _own_config_error(sub)) is not None:
            return found
    return None


def _first_field(exc: BaseException) -> str | None:
    import cattrs

    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return sorted(exc.extra_fields)[0]
    for note in getattr(exc, "__notes__", ()):
        if hasattr(note, "name"):
            return str(note.name)
    for sub in getattr(exc, "exceptions", ()):
        if found := _first_field(sub):
            return found
    return None


def _secret_settings(settings: Any) -> list[Any]:
    if not attrs.has(type(settings)):
        return []
    return [
        getattr(settings, a.name)
        for a in attrs.fields(type(settings))
        if a.metadata.get("secret") and getattr(settings, a.name) is not None
    ]


def connect(
    provider: str | None = None,
    *,
    profile: str | None = None,
    config: Config | str | os.PathLike[str] | None = None,
    token: str | None = None,
    base_url: str | None = None,
    options: ClientOptions | None = None,
    registry: Registry | None = None,
    **settings: Any,
) -> RunClient:
    """A client; use it as ``async with connect(...) as client``.

    Either name a ``provider`` and pass its ``token`` (and provider ``settings``;
    unknown ones raise ``ConfigError`` naming the setting), or name a ``profile``
    of the configuration file (``RUNBRIDGE_CONFIG`` or ``./runbridge.toml``).
    With neither, the profile named by ``RUNBRIDGE_PROFILE`` or the file's
    ``default_profile`` is used.
    """
    if provider is None or profile is not None:
        if provider is not None or token is not None or base_url is not None or settings:
            raise ConfigError(
                "pass either a profile or a provider with its token and settings, not both",
                field="profile",
            )
        loaded = config if isinstance(config, Config) else load_config(config)
        return loaded.profile(profile).connect(options=options, registry=registry)
    if token is None:
        raise ConfigError("a non-empty token is required", field="token", provider=provider)
    return _build(provider, token, base_url, options, registry, settings, None)


def connect_profile(
    profile: Profile,
    *,
    token: str,
    settings: Mapping[str, Any],
    options: ClientOptions | None,
    registry: Registry | None,
) -> RunClient:
    """A client for ``profile`` with its credentials already read from the environment."""
    adapter_cls = profile_adapter(profile, registry)
    secret = {a.name for a in _secret_fields(adapter_cls.settings_type)}
    for key in profile.settings:
        if key in secret:
            raise ConfigError(
                f"profile {profile.name!r}: setting {key!r} is a credential; name an "
                f"environment variable with '{key}_env' instead of storing it",
                field=f"profiles.{profile.name}.settings.{key}",
                provider=profile.provider,
            )
    return _build(profile.provider, token, profile.base_url, options, registry, settings, profile)


def profile_adapter(profile: Profile, registry: Registry | None) -> type[Adapter]:
    """The adapter class a profile names; ``ConfigError`` naming the profile otherwise."""
    try:
        return (registry or default_registry).adapter(profile.provider)
    except ConfigError as exc:
        raise ConfigError(
            f"profile {profile.name!r}: {exc.message}",
            field=f"profiles.{profile.name}.provider",
        ) from None


def _secret_fields(settings_type: type[Any]) -> list[attrs.Attribute[Any]]:
    if not attrs.has(settings_type):
        return []
    return [a for a in attrs.fields(settings_type) if a.metadata.get("secret")]


def _build(
    provider: str,
    token: str,
    base_url: str | None,
    options: ClientOptions | None,
    registry: Registry | None,
    settings: Mapping[str, Any],
    profile: Profile | None,
) -> RunClient:
    adapter_cls = (registry or default_registry).adapter(provider)
    if not isinstance(token, str) or not token:
        raise ConfigError("a non-empty token is required", field="token", provider=provider)
    adapter = adapter_cls(_build_settings(adapter_cls, settings))
    options = options or ClientOptions()
    url = _check_url(
        base_url or adapter.base_url(), provider, allow_insecure=options.allow_insecure_http
    )
    secrets: list[Any] = [token, *_secret_settings(adapter.settings)]
    headers = adapter.auth_headers(token)
    secrets.extend(headers.values())
    transport = Transport(
        adapter=adapter,
        base_url=url,
        headers=headers,
        redactor=Redactor(secrets),
        options=options,
    )
    return RunClient(adapter, transport, profile=profile)


class RunClient:
    """Runs on one provider, in canonical form. Open it with ``async with``."""

    def __init__(
        self, adapter: Adapter, transport: Transport, *, profile: Profile | None = None
    ) -> None:
        self.adapter = adapter
        self.profile = profile
        """The profile this client was made from, if any."""
        self._transport = transport
        self._capabilities = adapter.instance_capabilities()
        self._sent: OrderedDict[RunRef, RunRequest] = OrderedDict()

    def _seen(self, run: Run) -> Run:
        if run.status is RunStatus.UNKNOWN:
            _warn_unknown(self.provider, self._safe(run.native_status or ""))
        return run

    def _remember(self, run: Run, request: RunRequest) -> Run:
        self._sent[run.ref] = request
        self._sent.move_to_end(run.ref)
        if len(self._sent) > REMEMBERED:
            self._sent.popitem(last=False)
        return self._seen(run)

    def __repr__(self) -> str:
        named = f" profile={self.profile.name!r}" if self.profile else ""
        return f"<RunClient {self.provider}{named} {self._transport.base_url}>"

    def _safe(self, text: str) -> str:
        """``text`` with this client's secrets masked, for messages that quote input."""
        return self._transport.redactor.text(text)

    def target(self, name: str) -> str:
        """The provider target for ``name``: resolved through the profile's aliases."""
        return self.profile.target(name) if self.profile is not None else name

    async def __aenter__(self) -> Self:
        await self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._transport.close()

    @property
    def provider(self) -> str:
        """The provider this client talks to."""
        return self.adapter.name

    @property
    def base_url(self) -> str:
        """The provider base URL in use."""
        return self._transport.base_url

    @property
    def capabilities(self) -> Capabilities:
        """What the provider supports natively, what is emulated, and how it pages."""
        return self._capabilities

    def ref(self, run: RunRef | Run | str) -> RunRef:
        """A validated ref on this provider from a ref, a run, ``"provider:id"`` or an id."""
        if isinstance(run, Run):
            run = run.ref
        if isinstance(run, str):
            run = RunRef.parse(run) if ":" in run else RunRef(self.provider, run)
        if not isinstance(run, RunRef):
            raise InvalidRequest(
                f"expected a run reference, got {type(run).__name__}",
                field="ref",
                provider=self.provider,
            )
        if run.provider != self.provider:
            raise InvalidRequest(
                self._safe(
                    f"run {run} belongs to {run.provider}, not to this {self.provider} client"
                ),
                field="ref",
                provider=self.provider,
            )
        fmt = self.adapter.id_format
        normalized = fmt.normalize(run.id)
        if normalized is None:
            raise InvalidRequest(
                f"run id {self._safe(repr(run.id))[:64]} is not a valid {fmt.name} id",
                field="id",
                provider=self.provider,
            )
        return run if normalized == run.id else RunRef(self.provider, normalized)

    def _require(self, operation: str) -> Support:
        support = self._capabilities.support(operation)
        if support is Support.UNSUPPORTED:
            reason = self.adapter.unsupported_reason(operation)
            raise UnsupportedOperation(
                reason or f"{self.provider} does not support {operation}",
                provider=self.provider,
                operation=operation,
            )
        return support

    async def create(
        self,
        request: RunRequest | str,
        *,
        inputs: Mapping[str, Any] | None = None,
        name: str | None = None,
        files: Iterable[File] = (),
        secrets: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Run:
        """Start a run from a ``RunRequest``, or from a target and keyword arguments."""
        if isinstance(request, str):
            request = RunRequest(
                target=request,
                inputs=inputs or {},
                name=name,
                files=tuple(files),
                secrets=secrets or {},
                options=options,
            )
        self._require("create")
        self.adapter.check_options("create", request.options)
        return await self._create(self._resolve(request))

    def _resolve(self, request: RunRequest) -> RunRequest:
        resolved = self.target(request.target)
        return request if resolved == request.target else attrs.evolve(request, target=resolved)

    async def _create(self, request: RunRequest) -> Run:
        self._check_secrets(request)
        token = token_hex(8)
        tagged = self.adapter.tag(request, token)
        if tagged is None:
            call = self._transport.call("create", secrets=request.secrets.values())
            return self._remember(await self.adapter.create(call, request), request)
        return self._remember(await self._create_once(tagged, token), request)

    async def _create_once(self, request: RunRequest, token: str) -> Run:
        """Create a tagged run exactly once, looking it up after ambiguous failures.

        A lost response (connection reset, timeout, server error, garbled body)
        may hide a run that was created. Before sending again, the run is
        looked up by its token; only when it is absent is the create repeated.
        """
        policy = self._transport.options.retry
        deadline = time.monotonic() + self._transport.options.deadline
        since = datetime.now(UTC)
        attempt = 0
        while True:
            attempt += 1
            call = self._transport.call("create", secrets=request.secrets.values())
            try:
                return await self.adapter.create(call, request)
            except (ProviderUnavailable, ResponseError, RateLimited) as exc:
                if isinstance(exc, ResponseError) and not isinstance(exc, GarbledBody):
                    raise
                ambiguous = not isinstance(exc, RateLimited) and not (
                    isinstance(exc, ProviderUnavailable) and exc.status in (408, 429)
                )
                if ambiguous:
                    lookup = self._transport.call("create", secrets=request.secrets.values())
                    found = await self.adapter.find_tagged(
                        lookup, request, token, since=since, exclude=self._sent.keys()
                    )
                    if found is not None:
                        log.info("%s.create: recovered %s after %s", self.provider, found.ref, exc)
                        return found
                if attempt >= policy.attempts or time.monotonic() >= deadline:
                    raise
                delay = policy.delay(attempt, getattr(exc, "retry_after", None))
                if delay > 0:
                    await asyncio.sleep(min(delay, max(deadline - time.monotonic(), 0)))

    def _check_secrets(self, request: RunRequest) -> None:
        if request.secrets and not self._capabilities.secrets:
            raise InvalidRequest(
                f"{self.provider} has no store for sensitive inputs; refusing to send "
                f"secrets ({', '.join(sorted(request.secrets))}) as plain inputs",
                field="secrets",
                provider=self.provider,
                operation="create",
            )

    async def create_many(
        self, requests: Iterable[RunRequest], *, concurrency: int = 8
    ) -> BulkResult:
        """Start many runs; failures are reported per request in the result, not raised.

        Uses the provider's bulk endpoint where it has one, otherwise at most
        ``concurrency`` single creates at a time.
        """
        batch = [self._resolve(r) for r in requests]
        if not batch:
            return BulkResult((), (), 0)
        if not _is_int(concurrency) or concurrency < 1:
            raise InvalidRequest(
                "concurrency must be an integer of at least 1, not "
                + self._safe(repr(concurrency))[:40],
                field="concurrency",
            )
        for request in batch:
            self._check_secrets(request)
        if self._require("create_many") is Support.NATIVE:
            secrets = [v for r in batch for v in r.secrets.values()]
            call = self._transport.call("create_many", secrets=secrets)
            try:
                return await self.adapter.create_many(call, batch)
            except UnsupportedOperation:
                # The adapter declines this batch (e.g. its target has no bulk
                # endpoint) before creating anything: emulate it instead.
                if self._capabilities.support("create") is not Support.NATIVE:
                    raise
        return await self._create_concurrently(batch, concurrency)

    async def _create_concurrently(self, batch: list[RunRequest], concurrency: int) -> BulkResult:
        gate = asyncio.Semaphore(concurrency)

        async def one(request: RunRequest) -> Run:
            async with gate:
                return await self._create(request)

        outcomes = await asyncio.gather(*(one(r) for r in batch), return_exceptions=True)
        runs: list[Run] = []
        errors: list[BulkError] = []
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, Run):
                runs.append(outcome)
            elif isinstance(outcome, Exception):
                errors.append(BulkError(str(outcome), index, outcome))
            else:  # cancellation and other BaseExceptions must propagate
                raise outcome
        return BulkResult(tuple(runs), tuple(errors), len(batch))

    def parse_run(self, payload: Any) -> Run:
        """The canonical run for a provider payload received some other way (a webhook,
        a file); malformed payloads raise ``ResponseError``."""
        return self.adapter.to_run(self._transport.call("parse"), payload)

    async def get(self, run: RunRef | Run | str) -> Run:
        """Read a run."""
        ref = self.ref(run)
        self._require("get")
        return self._seen(await self.adapter.get(self._transport.call("get"), ref.id))

    def _filters(
        self,
        target: str | None,
        status: RunStatus | str | Iterable[RunStatus | str] | None,
        created_after: datetime | None,
        created_before: datetime | None,
    ) -> RunFilter:
        if status is None:
            statuses: frozenset[RunStatus] = frozenset()
        elif isinstance(status, RunStatus | str):
            statuses = frozenset({self._status(status)})
        elif isinstance(status, Iterable) and not isinstance(status, Mapping | bytes):
            statuses = frozenset(self._status(s) for s in status)
        else:
            raise InvalidRequest(
                f"status must be a status or a list of them, not {type(status).__name__}",
                field="status",
                provider=self.provider,
            )
        if target is not None and (not isinstance(target, str) or not target):
            raise InvalidRequest("target must be a non-empty string", field="target")
        for name, value in (("created_after", created_after), ("created_before", created_before)):
            if value is not None and not isinstance(value, datetime):
                raise InvalidRequest(
                    f"{name} must be a datetime, not {type(value).__name__}",
                    field=name,
                    provider=self.provider,
                )
            if value is not None and value.tzinfo is None:
                raise InvalidRequest(
                    f"{name} must be timezone-aware", field=name, provider=self.provider
                )
        if target is not None:
            target = self.adapter.canonical_target(self.target(target))
        return RunFilter(
            target=target,
            statuses=statuses,
            created_after=created_after,
            created_before=created_before,
        )

    def _status(self, value: RunStatus | str) -> RunStatus:
        if not isinstance(value, RunStatus | str):
            raise InvalidRequest(
                f"status must be a status name, not {self._safe(repr(value))[:40]}",
                field="status",
                provider=self.provider,
            )
        status = RunStatus.parse(value)
        if status is RunStatus.UNKNOWN and value not in (RunStatus.UNKNOWN, "unknown"):
            raise InvalidRequest(
                f"unknown status {self._safe(repr(value))[:60]}; use one of "
                + ", ".join(s.value for s in RunStatus),
                field="status",
                provider=self.provider,
            )
        return status

    def _page_size(self, page_size: int | None) -> int | None:
        if page_size is None:
            return None
        top = self._capabilities.max_page_size
        if not _is_int(page_size) or not 1 <= page_size <= top:
            raise InvalidRequest(
                f"page_size must be an integer from 1 to {top}, got "
                + self._safe(repr(page_size))[:40],
                field="page_size",
                provider=self.provider,
                operation="list",
            )
        return page_size

    async def _fetch_page(
        self, filters: RunFilter, cursor: str | None, page_size: int | None
    ) -> Page:
        native = decode_cursor(self.provider, cursor) if cursor is not None else None
        page = await self.adapter.list_page(
            self._transport.call("list"), filters, native, page_size
        )
        items = page.items
        for run in items:
            if run.status is RunStatus.UNKNOWN:
                self._seen(run)
        if filters != _NO_FILTER:
            items = tuple(run for run in items if filters.matches(run))
        next_cursor = (
            encode_cursor(self.provider, page.next_cursor) if page.next_cursor is not None else None
        )
        return Page(items, next_cursor)

    async def list_page(
        self,
        *,
        target: str | None = None,
        status: RunStatus | str | Iterable[RunStatus | str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        """One page of runs; pass its ``next_cursor`` as ``cursor`` to continue."""
        self._require("list")
        filters = self._filters(target, status, created_after, created_before)
        return await self._fetch_page(filters, cursor, self._page_size(page_size))

    def list(
        self,
        *,
        target: str | None = None,
        status: RunStatus | str | Iterable[RunStatus | str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> RunIterator:
        """Every matching run across pages, fetched lazily; ``.pages()`` for pages.

        ``limit`` stops after that many runs. Arguments are checked now, before
        any request is made.
        """
        self._require("list")
        filters = self._filters(target, status, created_after, created_before)
        size = self._page_size(page_size)
        if cursor is not None:
            decode_cursor(self.provider, cursor)
        if limit is not None and (not _is_int(limit) or limit < 0):
            raise InvalidRequest(
                f"limit must be a non-negative integer, not {self._safe(repr(limit))[:40]}",
                field="limit",
            )

        async def fetch(c: str | None) -> Page:
            return await self._fetch_page(filters, c, size)

        return RunIterator(fetch, cursor=cursor, limit=limit)

    async def _check(self, ref: RunRef, requested: RunStatus, move: Any) -> Run:
        run = await self.get(ref)
        check_transition(run.status, requested, move=move, provider=self.provider, run_id=ref.id)
        return run

    async def update(
        self, run: RunRef | Run | str, update: RunUpdate | None = None, **fields: Any
    ) -> Run:
        """Change some fields of a run; a status change must be a legal transition."""
        ref = self.ref(run)
        self._require("update")
        try:
            if update is None:
                update = RunUpdate(**fields)
            elif not isinstance(update, RunUpdate):
                raise InvalidRequest(
                    f"update must be a RunUpdate, not {type(update).__name__}", field="update"
                )
            elif fields:
                update = attrs.evolve(update, **fields)
        except TypeError as exc:
            raise InvalidRequest(str(exc), field="update", provider=self.provider) from None
        except InvalidRequest as exc:
            exc.provider, exc.operation = self.provider, "update"
            raise
        self.adapter.check_update(update)
        if update.status is not None:
            await self._check(ref, update.status, "update")
        run = await self.adapter.update(self._transport.call("update"), ref.id, update)
        return self._seen(run)

    async def cancel(self, run: RunRef | Run | str) -> Run:
        """Cancel a run that has not finished; ``IllegalTransition`` if it has."""
        ref = self.ref(run)
        self._require("cancel")
        await self._check(ref, RunStatus.CANCELLED, "cancel")
        return self._seen(await self.adapter.cancel(self._transport.call("cancel"), ref.id))

    async def retry(self, run: RunRef | Run | str, **options: Any) -> Run:
        """Run a finished run again: in place where the provider can, else as a new run."""
        ref = self.ref(run)
        support = self._require("retry")
        self.adapter.check_options("retry" if support is Support.NATIVE else "create", options)
        remembered = self._sent.get(ref) if support is Support.EMULATED else None
        if (
            support is Support.EMULATED
            and remembered is None
            and not self.adapter.retry_from_payload
        ):
            raise UnsupportedOperation(
                f"cannot retry run {ref.id}: {self.provider} does not report a run's inputs, "
                "so only runs this client created can be retried; start a new run with create()",
                provider=self.provider,
                operation="retry",
            )
        previous = await self._check(ref, RunStatus.PENDING, "retry")
        if support is Support.NATIVE:
            retried = await self.adapter.retry(self._transport.call("retry"), ref.id, options)
            return self._seen(retried)
        request = remembered or self.adapter.retry_request(previous)
        if options:
            request = attrs.evolve(request, options={**request.options, **options})
        return await self._create(request)

    async def delete(self, run: RunRef | Run | str) -> None:
        """Delete a run."""
        ref = self.ref(run)
        self._require("delete")
        await self.adapter.delete(self._transport.call("delete"), ref.id)

    async def wait(
        self,
        run: RunRef | Run | str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        max_interval: float = 30.0,
        on_poll: Callable[[Run], object] | None = None,
    ) -> Run:
        """Poll until the run is terminal, backing off; ``WaitTimeout`` carries the last run.

        ``on_poll`` is called with every run read, e.g. to drive a progress display.
        """
        ref = self.ref(run)
        deadline = time.monotonic() + timeout
        interval = max(poll_interval, 0.0)
        while True:
            current = await self.get(ref)
            if on_poll is not None:
                on_poll(current)
            if current.status.is_terminal:
                return current
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                native = self._safe(repr(current.native_status))[:80]
                raise WaitTimeout(
                    f"run {ref} still {current.status.value} (native status {native}) "
                    f"after {timeout:g}s",
                    run=current,
                    provider=self.provider,
                    operation="wait",
                )
            await asyncio.sleep(min(interval, remaining))
            interval = min(interval * 1.5, max_interval)


_NO_FILTER = RunFilter()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
