"""``RunClient``: the operations users call, on any provider.

Each operation checks its arguments (``_arguments``), refuses what the provider
cannot do before any request, and hands the adapter a ``Call``. Creating is in the
creates wing; lifecycle moves in ``_moves``, waits in ``_waits``, what they share in
``_base``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from .._creates._batch import create_many
from .._creates._pending import Unconfirmed
from .._creates._resolve import resolve
from .._journal import batch_key
from .._model._capabilities import Support
from .._model._errors import ConfigError, UnsupportedOperation
from .._model._events import DEFAULT_TOLERANCE, EventRejected, RunEvent
from .._model._run import BulkError, BulkResult, File, Page, Run, RunFilter, RunRequest, RunStatus
from .._wire._observe import observed
from .._wire._pagination import RunIterator, decode_cursor
from ._event_reading import read_event
from ._listing import fetch_page
from ._moves import Moves
from ._waits import Waits


class RunClient(Moves, Waits):
    """Runs on one provider, in canonical form. Open it with ``async with``."""

    async def parse_event(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        now: float | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> RunEvent:
        """The run event a provider delivered (a webhook request's headers and raw body).

        Checked before anything in it is read: the body's size (``max_event_bytes``),
        then its signature against each of the client's ``webhook_secrets`` (and its
        signed timestamp against ``now``, default the clock, within ``tolerance``
        seconds, where the provider's scheme signs one). A delivery that fails raises
        ``EventRejected`` naming the reason; nothing in it was processed. Replay
        protection is the caller's (``runbridge.EventReceiver`` does it): key it on
        ``event.replay_key``, which comes only from what the signature covers, never on
        an unsigned delivery id.
        """
        self._require_events()
        if not isinstance(body, bytes | bytearray | memoryview):
            raise self._args.invalid("body must be the raw bytes of the request", "body", "events")
        try:
            event = read_event(
                self.adapter,
                self._channel.call("event"),
                headers,
                bytes(body),
                secrets=self._webhook_secrets,
                max_bytes=self.max_event_bytes,
                now=now,
                tolerance=tolerance,
            )
        except EventRejected as exc:
            if self._observers is not None:
                self._observers.notify("event_received", self.provider, f"rejected:{exc.reason}")
            raise
        if self._observers is not None:
            self._observers.notify("event_received", self.provider, "accepted")
        self._seen(event.run)
        return event

    @observed("create", "request")
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

    @observed("create_many", "batch")
    async def create_many(
        self, requests: Iterable[RunRequest], *, concurrency: int = 8, resume: bool = False
    ) -> BulkResult:
        """Start many runs; failures are reported per request in the result, not raised.

        Uses the provider's bulk endpoint where it has one (its requests in flight
        bounded by ``concurrency`` too), otherwise at most ``concurrency`` single
        creates at a time. A request whose run may exist is reported with a
        ``token`` (``BulkResult.unconfirmed``). ``resume=True`` continues a batch of
        the same requests that a previous call (or a killed process, with an SQLite
        journal) left unfinished, without creating any of its runs twice.
        """
        batch = list(requests)
        self._args.count(concurrency, "concurrency", minimum=1)
        if not batch:
            return BulkResult((), (), 0)
        support = self._require("create_many")
        resolved, refused = self._args.bulk(
            batch, self._resolve, secrets_supported=self._capabilities.secrets
        )
        batch_id = await self._creator.journal.start_batch(
            self.provider, batch_key(self.provider, resolved), resume=resume
        )
        return await self._slots(
            batch_id, dict(enumerate(resolved)), concurrency, support, refused, resume
        )

    async def _shard(
        self, batch: str, slots: Mapping[int, RunRequest], concurrency: int
    ) -> BulkResult:
        """Create ``slots`` (index: request) as their slots of ``batch``, checked here,
        settling first what the journal holds of them (a shard of ``runbridge.dask``)."""
        support = self._require("create_many")
        indexes = list(slots)
        checked, refused = self._args.bulk(
            [slots[i] for i in indexes], self._resolve, secrets_supported=self._capabilities.secrets
        )
        requests = {indexes[n]: request for n, request in enumerate(checked)}
        errors = {indexes[n]: attrs.evolve(error, index=indexes[n]) for n, error in refused.items()}
        return await self._slots(batch, requests, concurrency, support, errors, True)

    async def _slots(
        self,
        batch: str,
        requests: Mapping[int, RunRequest],
        concurrency: int,
        support: Support,
        refused: dict[int, BulkError],
        resume: bool,
    ) -> BulkResult:
        """Create ``requests`` as the slots of ``batch`` they are keyed by (a batch spread
        over processes gives each its share: ``runbridge.dask``)."""
        result = await create_many(
            self._creator,
            requests,
            concurrency=concurrency,
            support=support,
            refused=refused,
            resume=resume,
            batch=batch,
        )
        for run in result.runs:
            self._seen(run)
        return result

    @observed("resolve")
    async def resolve(
        self, token: str, *, request: RunRequest | None = None, timeout: float = 0.0
    ) -> Run | None:
        """The run a create with client ``token`` made, or ``None`` if it certainly made none.

        For a create that raised ``CreateUnconfirmed`` (or was cancelled, or is
        listed by ``unconfirmed()``). Providers with idempotency keys settle it by
        sending the create again with its key (pass ``request`` when this client
        did not send it); others look the run up. ``None`` means the provider has
        no such run and none can appear any more (its settle window after the last
        send has passed): creating the request again will not duplicate it. While
        that cannot be known yet (the window is open, or another process holds the
        create's claim), ``CreateUnconfirmed`` is raised again with ``settles_at``;
        ``timeout`` waits up to that many seconds for the answer instead.
        """
        if not isinstance(token, str) or not token:
            raise self._args.invalid("token must be a non-empty string", "token", "resolve")
        self._args.seconds(timeout, "timeout", positive=False)
        run = await resolve(self._creator, token, request, timeout)
        return self._seen(run) if run is not None else None

    def unconfirmed(self) -> Unconfirmed:
        """Creates of this provider whose outcome is unknown (in flight, unconfirmed,
        or cancelled by the caller), oldest first: ``await client.unconfirmed()``.
        ``resolve`` settles each. (Used without ``await`` it still reads the journal,
        with a ``DeprecationWarning``, until runbridge 0.3.)"""
        return Unconfirmed(self._creator.journal, self.provider)

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
        page, _ = await self._fetch_page(filters, cursor, self._args.page_size(page_size))
        return page

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
            decode_cursor(self.provider, cursor, key=self._channel.cursor_key)
        if limit is not None:
            self._args.count(limit, "limit", minimum=0)

        async def fetch(c: str | None) -> tuple[Page, tuple[Run, ...]]:
            return await self._fetch_page(filters, c, size)

        return RunIterator(fetch, provider=self.provider, cursor=cursor, limit=limit)

    def _require_events(self) -> None:
        """Refuse a client that cannot take run events: no capability, or no secret."""
        if not self._capabilities.events:
            raise UnsupportedOperation(
                f"{self.provider} does not push run events",
                provider=self.provider,
                operation="events",
            )
        if not self._webhook_secrets:
            raise ConfigError(
                f"the {self.provider} client has no webhook secret: pass "
                "connect(..., webhook_secrets=[...])",
                field="webhook_secrets",
                provider=self.provider,
            )

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

    @observed("list", "filters")
    async def _fetch_page(
        self, filters: RunFilter, cursor: str | None, page_size: int | None
    ) -> tuple[Page, tuple[Run, ...]]:
        return await fetch_page(self.adapter, self._channel, filters, cursor, page_size, self._seen)
