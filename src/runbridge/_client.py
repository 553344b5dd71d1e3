"""``RunClient``: the operations users call, on any provider.

Each operation checks its arguments (``_arguments``), refuses what the provider
cannot do before any request, and hands the adapter a ``Call``. Creating is in
``_create``; the lifecycle rules in ``_lifecycle``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import attrs

from ._adapter import Adapter
from ._arguments import Arguments
from ._call import Channel
from ._capabilities import Capabilities, Support
from ._create import Creator
from ._errors import InvalidRequest, UnsupportedOperation, WaitTimeout
from ._lifecycle import Move, check_transition
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

if TYPE_CHECKING:
    from ._config import Profile

log = logging.getLogger("runbridge")

_WARN_LIMIT = 256
_warned: set[tuple[str, str]] = set()
_NO_FILTER = RunFilter()


def _warn_unknown(provider: str, native: str) -> None:
    """Log once per provider and value that a native status is not in the adapter's map."""
    key = (provider, native)
    if key in _warned or len(_warned) >= _WARN_LIMIT:
        return
    _warned.add(key)
    log.warning(
        "%s: unknown native status %r, read as 'unknown'; the adapter's status map may "
        "be out of date",
        provider,
        native[:80],
    )


class RunClient:
    """Runs on one provider, in canonical form. Open it with ``async with``."""

    def __init__(
        self, adapter: Adapter, channel: Channel, *, profile: Profile | None = None
    ) -> None:
        self.adapter = adapter
        self.profile = profile
        """The profile this client was made from, if any."""
        self._channel = channel
        self._capabilities = adapter.instance_capabilities()
        self._args = Arguments(adapter, channel.redactor)
        self._creator = Creator(adapter, channel)

    def __repr__(self) -> str:
        named = f" profile={self.profile.name!r}" if self.profile else ""
        return f"<RunClient {self.provider}{named} {self.base_url}>"

    async def __aenter__(self) -> Self:
        await self._channel.http.open()
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
        await self._channel.http.close()

    # -- what this client is ------------------------------------------------------------

    @property
    def provider(self) -> str:
        """The provider this client talks to."""
        return self.adapter.name

    @property
    def base_url(self) -> str:
        """The provider base URL in use."""
        return self._channel.http.base_url

    @property
    def capabilities(self) -> Capabilities:
        """What the provider supports natively, what is emulated, and how it pages."""
        return self._capabilities

    def target(self, name: str) -> str:
        """The provider target for ``name``: resolved through the profile's aliases."""
        return self.profile.target(name) if self.profile is not None else name

    def ref(self, run: RunRef | Run | str) -> RunRef:
        """A validated ref on this provider from a ref, a run, ``"provider:id"`` or an id."""
        return self._args.ref(run)

    def parse_run(self, payload: Any) -> Run:
        """The canonical run for a provider payload received some other way (a webhook,
        a file); malformed payloads raise ``ResponseError``."""
        return self._seen(self.adapter.to_run(self._channel.call("parse"), payload))

    # -- operations ---------------------------------------------------------------------

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
        request = self._args.request(
            request, inputs=inputs, name=name, files=files, secrets=secrets, options=options
        )
        self._require("create")
        request = self._resolve(request)
        self._args.create(request, secrets_supported=self._capabilities.secrets)
        return self._seen(await self._creator.create(request))

    async def create_many(
        self, requests: Iterable[RunRequest], *, concurrency: int = 8
    ) -> BulkResult:
        """Start many runs; failures are reported per request in the result, not raised.

        Uses the provider's bulk endpoint where it has one (its requests in flight
        bounded by ``concurrency`` too), otherwise at most ``concurrency`` single
        creates at a time.
        """
        batch = list(requests)
        self._args.count(concurrency, "concurrency", minimum=1)
        if not batch:
            return BulkResult((), (), 0)
        support = self._require("create_many")
        if not self._capabilities.secrets and any(
            isinstance(r, RunRequest) and r.secrets for r in batch
        ):
            # A provider without a vault: refuse the batch before anything is sent.
            first = next(r for r in batch if isinstance(r, RunRequest) and r.secrets)
            self._args.create(first, secrets_supported=False, operation="create_many")
        refused: dict[int, BulkError] = {}
        resolved: list[RunRequest] = []
        for index, request in enumerate(batch):
            try:
                if not isinstance(request, RunRequest):
                    raise self._args.invalid(
                        f"create_many takes RunRequest objects, not {type(request).__name__}",
                        "requests",
                        "create_many",
                    )
                request = self._resolve(request)
                self._args.create(
                    request, secrets_supported=self._capabilities.secrets, operation="create_many"
                )
            except InvalidRequest as exc:
                refused[index] = BulkError(str(exc), index, exc)
            resolved.append(request)
        result = await self._creator.create_many(
            resolved, concurrency=concurrency, support=support, refused=refused
        )
        for run in result.runs:
            self._seen(run)
        return result

    async def get(self, run: RunRef | Run | str) -> Run:
        """Read a run."""
        ref = self.ref(run)
        self._require("get")
        return self._seen(await self.adapter.get(self._channel.call("get"), ref.id))

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
        return await self._fetch_page(filters, cursor, self._args.page_size(page_size))

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
        size = self._args.page_size(page_size)
        if cursor is not None:
            decode_cursor(self.provider, cursor)
        if limit is not None:
            self._args.count(limit, "limit", minimum=0)

        async def fetch(c: str | None) -> Page:
            return await self._fetch_page(filters, c, size)

        return RunIterator(fetch, cursor=cursor, limit=limit)

    async def update(
        self, run: RunRef | Run | str, update: RunUpdate | None = None, **fields: Any
    ) -> Run:
        """Change some fields of a run; a status change must be a legal transition."""
        ref = self.ref(run)
        self._require("update")
        update = self._args.update(update, fields)
        if update.status is not None:
            await self._check(ref, update.status, "update")
        return self._seen(await self.adapter.update(self._channel.call("update"), ref.id, update))

    async def cancel(self, run: RunRef | Run | str) -> Run:
        """Cancel a run that has not finished; ``IllegalTransition`` if it has."""
        ref = self.ref(run)
        self._require("cancel")
        await self._check(ref, RunStatus.CANCELLED, "cancel")
        return self._seen(await self.adapter.cancel(self._channel.call("cancel"), ref.id))

    async def retry(self, run: RunRef | Run | str, **options: Any) -> Run:
        """Run a finished run again: in place where the provider can, else as a new run."""
        ref = self.ref(run)
        support = self._require("retry")
        if support is Support.NATIVE:
            self.adapter.retry_options.check(options, provider=self.provider, operation="retry")
            self.adapter.check_options("retry", options)
            await self._check(ref, RunStatus.PENDING, "retry")
            retried = await self.adapter.retry(self._channel.call("retry"), ref.id, options)
            return self._seen(retried)
        remembered = self._creator.sent.get(ref)
        if remembered is None and not self.adapter.retry_from_payload:
            raise UnsupportedOperation(
                f"cannot retry run {ref.id}: {self.provider} does not report a run's inputs, "
                "so only runs this client created can be retried; start a new run with create()",
                provider=self.provider,
                operation="retry",
            )
        self.adapter.create_options.check(options, provider=self.provider, operation="retry")
        previous = await self._check(ref, RunStatus.PENDING, "retry")
        request = remembered or self.adapter.retry_request(previous)
        if options:
            request = attrs.evolve(request, options={**request.options, **options})
        self._args.create(request, secrets_supported=self._capabilities.secrets, operation="retry")
        return self._seen(await self._creator.create(request))

    async def delete(self, run: RunRef | Run | str) -> None:
        """Delete a run."""
        ref = self.ref(run)
        self._require("delete")
        await self.adapter.delete(self._channel.call("delete"), ref.id)

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
                native = self._args.safe(current.native_status, 80)
                raise WaitTimeout(
                    f"run {ref} still {current.status.value} (native status {native}) "
                    f"after {timeout:g}s",
                    run=current,
                    provider=self.provider,
                    operation="wait",
                )
            await asyncio.sleep(min(interval, remaining))
            interval = min(interval * 1.5, max_interval)

    # -- helpers ------------------------------------------------------------------------

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

    def _resolve(self, request: RunRequest) -> RunRequest:
        resolved = self.target(request.target)
        return request if resolved == request.target else attrs.evolve(request, target=resolved)

    def _seen(self, run: Run) -> Run:
        if run.status is RunStatus.UNKNOWN:
            _warn_unknown(self.provider, self._channel.redactor.text(run.native_status or ""))
        return run

    def _filters(
        self,
        target: str | None,
        status: RunStatus | str | Iterable[RunStatus | str] | None,
        created_after: datetime | None,
        created_before: datetime | None,
    ) -> RunFilter:
        if isinstance(target, str) and target:
            target = self.target(target)
        return self._args.filters(target, status, created_after, created_before)

    async def _check(self, ref: RunRef, requested: RunStatus, move: Move) -> Run:
        run = await self.get(ref)
        check_transition(run.status, requested, move=move, provider=self.provider, run_id=ref.id)
        return run

    async def _fetch_page(
        self, filters: RunFilter, cursor: str | None, page_size: int | None
    ) -> Page:
        native = decode_cursor(self.provider, cursor) if cursor is not None else None
        page = await self.adapter.list_page(self._channel.call("list"), filters, native, page_size)
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
